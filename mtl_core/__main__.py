"""``python -m mtl_core``: the same CLI as the ``mtl`` command."""

import sys

from mtl_core.cli.main import main

sys.exit(main(prog="python -m mtl_core"))
