"""The standard modules pyajs uses, by the names each runtime loads fastest.

    from .compat import json, time

MicroPython lets a file on its path stand in for a built-in module such as ``json``, so
each ``import json`` searches the path first. In a page every miss there is a JavaScript
exception (about 0.1 ms), and PyScript's MicroPython has pure-Python ``binascii``, ``os``,
``io`` and ``time`` frozen in, which are slower to import than the built-ins they extend
(and pyajs needs none of their additions). The ``u`` names load the built-ins at once.
CPython (Pyodide, the tests) gets its usual modules.
"""

import sys

MICROPYTHON = sys.implementation.name == "micropython"

if MICROPYTHON:
    import ubinascii as binascii
    import uio as io
    import ujson as json
    import uos as os
    import urandom as random
    import utime as time
else:
    import binascii
    import io
    import json
    import os
    import random
    import time

__all__ = ["MICROPYTHON", "binascii", "io", "json", "os", "random", "time"]
