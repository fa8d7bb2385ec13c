"""The command line, ``mtl`` or ``python -m mtl_core``: one module per subcommand."""
