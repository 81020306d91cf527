"""The library version, sent as ``context.library.version`` on every event."""

__version__ = "0.1.0"
LIBRARY_NAME = "pyajs"
