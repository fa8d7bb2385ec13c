"""CLI subcommands: each module has ``register(subparsers)`` and is listed in ``cli.SUBCOMMAND_MODULES``."""
