"""Shared pytest setup: the ``pyajs`` package lives in ``pysrc/`` (it is served to the page,
not installed), so the unit tests import it from there."""

import sys
from pathlib import Path

_PYSRC = str(Path(__file__).resolve().parents[1] / "pysrc")
if _PYSRC not in sys.path:
    sys.path.insert(0, _PYSRC)

# Every test of the browser suites is marked e2e, so `pytest -m "not e2e"` (make test-fast)
# is the tier that needs no browser.
_BROWSER_SUITES = ("e2e", "conformance")
_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        try:
            suite = Path(item.path).resolve().relative_to(_TESTS).parts[0]
        except ValueError:
            continue
        if suite in _BROWSER_SUITES:
            item.add_marker(pytest.mark.e2e)
