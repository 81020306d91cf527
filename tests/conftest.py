"""Shared pytest setup: the ``pyajs`` package lives in ``pysrc/`` (it is served to the page,
not installed), so the unit tests import it from there."""

import sys
from pathlib import Path

_PYSRC = str(Path(__file__).resolve().parents[1] / "pysrc")
if _PYSRC not in sys.path:
    sys.path.insert(0, _PYSRC)
