"""`python -m pyajs_server ...`: the same as the `pyajs` command."""

import sys

from .cli import main

sys.exit(main())
