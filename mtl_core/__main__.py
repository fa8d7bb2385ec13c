"""``python -m mtl_core``."""

import sys

from mtl_core.cli.main import main

sys.exit(main())
