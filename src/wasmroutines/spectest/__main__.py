"""`python -m wasmroutines.spectest`: see cli.py."""

import sys

from .cli import main

sys.exit(main())
