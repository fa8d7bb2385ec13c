"""The compiled trainer, its losses and metrics, and the loss-weighting strategies."""
