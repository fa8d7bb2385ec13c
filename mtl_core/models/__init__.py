"""The architectures (hard sharing, MMoE), their shared blocks and the fast prediction path."""
