"""Loss-weighting strategies, one module each; see ``mtl_core.registries.WEIGHTINGS``."""
