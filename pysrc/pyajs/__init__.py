"""pyajs: Segment-compatible analytics in Python, running in the page under PyScript.

In the page (after the snippet's ``analytics.load(writeKey)``)::

    from pyajs import analytics
    analytics.track("Clicked Buy", {"sku": "A-1"})

Under CPython (tests, tools) ``analytics`` is None and the pure modules are used directly.
"""

import sys

if sys.platform == "webassembly":  # MicroPython in a page (or Node.js)
    import gc

    # Its browser build collects the heap when a call from JavaScript returns after 16 KB
    # were allocated: about once per track(), and most of its cost. Every 2 MB instead (the
    # heap itself grows as needed; a collection sweeps all of it, so rarer is cheaper:
    # 512 KB cost 20 % more per track() than 2 MB, 4 MB 2 % less). Set before pyajs's
    # modules load, so that loading them (well over 16 KB) is not followed by a collection.
    gc.threshold(2 * 1024 * 1024)

from .analytics import Analytics  # noqa: E402 - after the collector's threshold
from .version import __version__  # noqa: E402

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
