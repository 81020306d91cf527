"""Random identifiers: UUID v4 anonymous ids and message ids.

No ``uuid`` module (MicroPython lacks it): 16 random bytes get the version and variant bits
set by hand. Under Pyodide ``os.urandom`` reads the browser's ``crypto.getRandomValues``;
``set_random_source`` lets another runtime plug in its own cryptographic source, and
``set_uuid_source`` one that makes whole UUIDs (MicroPython's binding: the browser's, in
JavaScript).

    >>> len(uuid4())
    36
"""

from .compat import binascii, os

_source = None
_pool = b""
_POOL_SIZE = 512
_uuid_source = None
_uuids = ""  # ready-made ids from _uuid_source, 36 characters each
_uuid_at = 0
_UUID_BATCH = 32


def set_random_source(fn) -> None:
    """Use ``fn(n) -> bytes`` for randomness (it must be cryptographically strong)."""
    global _source, _pool
    _source = fn
    _pool = b""


def set_uuid_source(fn) -> None:
    """Use ``fn(n) -> str``, ``n`` version 4 UUIDs back to back, for ``uuid4`` (MicroPython:
    formatting one costs a dozen allocations there, slicing one from a batch costs one)."""
    global _uuid_source, _uuids, _uuid_at
    _uuid_source = fn
    _uuids, _uuid_at = "", 0


def random_bytes(n: int) -> bytes:
    """``n`` random bytes, drawn from a pool refilled in blocks (one source call per 32 ids)."""
    global _pool
    if len(_pool) < n:
        source = _source or getattr(os, "urandom", None)
        if source is None:  # MicroPython has no os.urandom: the browser binding sets one
            raise RuntimeError("pyajs.ids: no random source; call set_random_source()")
        _pool = source(max(_POOL_SIZE, n))
    out, _pool = _pool[:n], _pool[n:]
    return out


def uuid4() -> str:
    """A random RFC 4122 version 4 UUID, lower-case, ``xxxxxxxx-xxxx-4xxx-[89ab]xxx-…``."""
    global _uuids, _uuid_at
    if _uuid_source is not None:
        if _uuid_at >= len(_uuids):
            _uuids, _uuid_at = _uuid_source(_UUID_BATCH), 0
        _uuid_at += 36
        return _uuids[_uuid_at - 36 : _uuid_at]
    b = bytearray(random_bytes(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = binascii.hexlify(b).decode()  # C on both runtimes (see compat): a Python loop costs 10x
    return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]


def message_id(now_ms: int) -> str:
    """``pyajs-<epoch ms>-<uuid v4>``: the shape of analytics-next's ``ajs-next-…`` ids."""
    return "pyajs-%d-%s" % (now_ms, uuid4())
