"""How values are written to and read from cookies and localStorage.

Analytics.js stores every value as JSON in localStorage, and percent-encodes cookie values the
way js-cookie does (``encodeURIComponent`` with a few characters left literal). Reading is
lenient on purpose: a value that is not JSON is returned as the raw string, so ids written
unquoted by analytics-next (``ajs_anonymous_id=1a9c…``) and quoted by classic analytics.js
(``%221a9c…%22``) are both understood.

    >>> encode_cookie_value(dumps("a b"))
    '%22a%20b%22'
    >>> parse_stored(decode_cookie_value('%22a%20b%22'))
    'a b'
"""

from .compat import io, json

# Characters encodeURIComponent leaves alone, plus those js-cookie turns back into literals.
_LITERAL = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()"
    "#$&+/:<=>?@[]^`{|}"
)
_HEXU = "0123456789ABCDEF"


def _dumps_compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _dumps_plain(value) -> str:  # MicroPython: no ensure_ascii, separators may be missing
    try:
        return json.dumps(value, separators=(",", ":"))
    except TypeError:
        return json.dumps(value)


# dumps(value): JSON text as ``JSON.stringify`` writes it (no spaces, non-ASCII kept).
try:
    _dumps_compact({"a": "é"})
    dumps = _dumps_compact
except TypeError:
    dumps = _dumps_plain


try:
    io.StringIO(16)  # MicroPython: an empty buffer of that size
    _SIZED_STRINGIO = True
except TypeError:  # CPython: StringIO takes only text
    _SIZED_STRINGIO = False


class SizedDumps:
    """``dumps`` for values of about the same size, such as events. MicroPython builds JSON
    text in a buffer that grows 16 bytes at a time, and each step may copy it to a new
    place: on a heap fragmented by hundreds of queued events that makes one event's text
    cost five times what it costs on a fresh heap. Writing into a buffer allocated once at
    the last size seen avoids the steps. (CPython: plain ``dumps``.)"""

    def __init__(self, hint: int = 768):
        self.hint = hint

    def __call__(self, value) -> str:
        if not _SIZED_STRINGIO:
            return dumps(value)
        buf = io.StringIO(self.hint)
        json.dump(value, buf, separators=(",", ":"))
        text = buf.getvalue()
        self.hint = len(text) + 128
        return text


def encode_cookie_value(text: str) -> str:
    """Percent-encode ``text`` for a cookie value exactly as js-cookie 3 does."""
    out = []
    for ch in text:
        if ch in _LITERAL:
            out.append(ch)
        else:
            for byte in ch.encode("utf-8"):
                out.append("%" + _HEXU[byte >> 4] + _HEXU[byte & 15])
    return "".join(out)


def _percent_decode(text: str, strict: bool = False):
    """decodeURIComponent. By default a malformed escape is left as it was (js-cookie's
    reading); with ``strict`` the answer is None instead (the caller keeps its raw text)."""
    if "%" not in text:
        return text
    raw = bytearray()
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "%" and i + 2 < n and _is_hex(text[i + 1 : i + 3]):
            raw.append(int(text[i + 1 : i + 3], 16))
            i += 3
        elif ch == "%" and strict:
            return None
        else:
            raw.extend(ch.encode("utf-8"))
            i += 1
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeError:
        return None if strict else text


def _is_hex(pair: str) -> bool:
    return len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair)


def decode_cookie_value(raw: str) -> str:
    """A cookie value as js-cookie reads it: one pair of surrounding quotes off, then decoded."""
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        raw = raw[1:-1]
    return _percent_decode(raw)


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def _loads_strict(text):  # NaN / Infinity are not JSON: JSON.parse throws on them
    return json.loads(text, parse_constant=_no_constant)


try:
    _loads_strict("1")
    _loads = _loads_strict
except TypeError:  # MicroPython: json.loads takes no keyword arguments
    _loads = json.loads


def parse_stored(text):
    """``JSON.parse`` with the raw string as the fallback (Analytics.js's reading rule)."""
    if text is None:
        return None
    try:
        return _loads(text)
    except ValueError:
        return text


def parse_cookie_header(header: str) -> dict:
    """Name → raw value of a ``document.cookie`` string; the first of a repeated name wins."""
    jar = {}
    if not header:
        return jar
    for part in header.split(";"):
        eq = part.find("=")
        if eq < 0:
            name, value = part.strip(), ""
        else:
            name, value = part[:eq].strip(), part[eq + 1 :].strip()
        if not name:
            continue
        name = _percent_decode(name)
        if name not in jar:
            jar[name] = value
    return jar
