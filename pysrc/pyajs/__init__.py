"""pyajs: Segment-compatible analytics in Python, running in the page under PyScript.

In the page (after the snippet's ``analytics.load(writeKey)``)::

    from pyajs import analytics
    analytics.track("Clicked Buy", {"sku": "A-1"})

Under CPython (tests, tools) ``analytics`` is None and the pure modules are used directly.
"""

import sys

from .analytics import Analytics
from .version import __version__

__all__ = ["Analytics", "analytics", "__version__"]

analytics = None
if sys.platform in ("emscripten", "webassembly"):  # Pyodide, MicroPython
    from .browser import start as _start

    analytics = _start()
