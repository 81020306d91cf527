"""pyajs_server: the pyajs dev server (demo, runtimes, pyajs's package and a
Segment-compatible collector) and the build tool. Never imported by the browser package.

    pyajs serve [--port 8000] [--db PATH] [--write-key KEY ...] [--faults] [--oracle]
    python -m pyajs_server serve ...
    python serve.py ...                 (in a checkout; the same flags as `pyajs serve`)
"""

from pyajs.version import __version__

__all__ = ["__version__"]
