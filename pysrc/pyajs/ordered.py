"""JSON objects that keep their key order, on both runtimes.

Stored traits must be the same text whichever runtime wrote them: ``{"name","plan","email"}``
stays in that order, as Analytics.js (``JSON.stringify``) writes it. CPython's dicts keep
insertion order, so there this module does nothing. MicroPython's dicts do not: ``json.loads``
and assignment put keys in hash order, and only ``OrderedDict`` (which ``json.dumps`` writes
in its order) keeps them. There, ``reorder`` rebuilds a parsed value with the key order of the
text it came from, and ``copy`` copies without losing the order.

    value = reorder(json.loads(text), text)
"""

from .compat import MICROPYTHON, json

if MICROPYTHON:
    from ucollections import OrderedDict
else:
    from collections import OrderedDict


def _ordered_copy(d: dict) -> dict:
    return OrderedDict(d)


def _plain_copy(d: dict) -> dict:
    return dict(d)


def _as_is(value, text: str):
    return value


def _reorder(value, text: str):
    """``value`` (``json.loads(text)``) with every object's keys in the order of ``text``;
    ``value`` itself when the text has no object or repeats a key."""
    if not isinstance(value, (dict, list)) or "{" not in text:
        return value
    try:
        orders = _key_orders(text)
    except (ValueError, UnicodeError):  # text json.loads took: cannot happen, but be safe
        return value
    if orders is None:
        return value
    return _rebuild(value, iter(orders))


def _plain_deep(value):
    """``value`` with every ``OrderedDict`` in it turned into a dict: on MicroPython an
    ``OrderedDict`` compares equal only to another in the same order, never to a dict."""
    if isinstance(value, dict):
        return {k: _plain_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_deep(v) for v in value]
    return value


# copy(d): a shallow copy with the same key order. reorder(value, text): the parsed value
# with its objects' keys in the order of the text. plain(d): a copy made of plain dicts,
# for callers that compare it.
if MICROPYTHON:
    copy, reorder, plain = _ordered_copy, _reorder, _plain_deep
else:
    copy, reorder, plain = _plain_copy, _as_is, _plain_copy


def _key_orders(text: str):
    """The keys of each object of the JSON ``text``, in the order the objects open; None
    when an object repeats a key (``json.loads`` kept only the last of them). Scanned as
    UTF-8 bytes: indexing MicroPython's strings by character is not constant-time."""
    data = text.encode("utf-8")
    orders = []
    stack = []  # per open container: its key list (an object) or None (an array)
    expect_key = False
    i, n = 0, len(data)
    while i < n:
        c = data[i]
        if c == 34:  # "
            j = data.find(b'"', i + 1)
            while j > 0 and _escaped(data, j):
                j = data.find(b'"', j + 1)
            if j < 0:
                return None
            if expect_key:
                key = json.loads(data[i:j + 1].decode("utf-8"))
                keys = stack[-1]
                if key in keys:
                    return None
                keys.append(key)
                expect_key = False
            i = j + 1
            continue
        if c == 123:  # {
            keys = []
            orders.append(keys)
            stack.append(keys)
            expect_key = True
        elif c == 91:  # [
            stack.append(None)
        elif c == 125 or c == 93:  # } ]
            if stack:
                stack.pop()
        elif c == 44:  # ,
            expect_key = bool(stack) and stack[-1] is not None
        i += 1
    return orders


def _escaped(data: bytes, j: int) -> bool:
    """Whether the quote at ``j`` is escaped (an odd number of backslashes before it)."""
    k = j - 1
    while data[k] == 92:  # backslash
        k -= 1
    return (j - 1 - k) % 2 == 1


def _rebuild(value, orders):
    """``value`` with its objects (met depth first, in text order) rebuilt from ``orders``."""
    if isinstance(value, dict):
        keys = next(orders, None)
        out = OrderedDict()
        if keys is not None:
            for key in keys:
                if key in value:
                    out[key] = _rebuild(value[key], orders)
        for key in value:  # not met in the text (cannot happen for its own parse)
            if key not in out:
                out[key] = value[key]
        return out
    if isinstance(value, list):
        return [_rebuild(v, orders) for v in value]
    return value
