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
    import js

    # Only in a page the loader (web/pyajs.js) prepared; not, say, MicroPython in Node.js.
    try:
        _helpers = js.globalThis.__pyajs
    except AttributeError:
        _helpers = None
    if _helpers is not None and str(_helpers) != "undefined":
        from .browser import start as _start

        analytics = _start()
