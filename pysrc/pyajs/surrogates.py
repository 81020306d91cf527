"""Lone UTF-16 surrogates: one rule on every runtime.

JavaScript strings may hold half of a surrogate pair (``"😀".slice(0, 1)``); JSON.stringify
writes it as a ``\\ud83d`` escape and Python reads that back as a lone surrogate, which has
no UTF-8 form. CPython then refuses to encode the text, and MicroPython keeps it as three
invalid bytes that come out as ``���``. So an event that carries one gets each lone
surrogate (in values and in keys) replaced by U+FFFD, the replacement character, and is
sent; the caller warns, naming the fields. A correctly paired high and low surrogate becomes
the character it stands for (MicroPython's JSON reader leaves ``\\ud83d\\ude00`` as two).

    >>> utf8('ok') == b'ok'
    True
    >>> event = {"properties": {"t": "a\\ud83d"}}
    >>> scrub_event(event), event["properties"]["t"]
    (['properties.t'], 'a\\ufffd')
"""

REPLACEMENT = "\ufffd"


def _utf8_has_surrogate(data) -> bool:
    # MicroPython keeps U+D800..U+DFFF in its UTF-8 text as ED A0..BF xx.
    i = data.find(b"\xed")
    while i >= 0:
        if i + 1 < len(data) and 0xA0 <= data[i + 1] <= 0xBF:
            return True
        i = data.find(b"\xed", i + 1)
    return False


def utf8(text: str):
    """``text`` as UTF-8 bytes, or None when it holds a surrogate (lone, or a pair left
    unjoined) and so has no well-formed UTF-8 form yet."""
    try:
        data = text.encode("utf-8")
    except UnicodeError:  # CPython: a surrogate
        return None
    if b"\xed" in data and _utf8_has_surrogate(data):  # MicroPython
        return None
    return data


def _fix(text: str):
    """(text with pairs joined and lone surrogates replaced, number of lone ones)."""
    out = []
    lone = 0
    chars = list(text)
    i, n = 0, len(chars)
    while i < n:
        ch = chars[i]
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            low = ord(chars[i + 1]) if i + 1 < n else 0
            if code <= 0xDBFF and 0xDC00 <= low <= 0xDFFF:
                out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                i += 2
                continue
            out.append(REPLACEMENT)
            lone += 1
        else:
            out.append(ch)
        i += 1
    return "".join(out), lone


def _join(path: str, key) -> str:
    key = key if isinstance(key, str) else str(key)
    return key if not path else path + "." + key


def _clean(value, path: str, found: list):
    """``value`` with every string made well-formed; the same object when nothing changed
    (the caller's dicts and lists are never modified)."""
    if isinstance(value, str):
        if utf8(value) is not None:
            return value
        fixed, lone = _fix(value)
        if lone:
            found.append(path)
        return fixed
    if isinstance(value, dict):
        items = list(value.items())
        out = None
        for index, (key, item) in enumerate(items):
            new_key = key
            if isinstance(key, str) and utf8(key) is None:
                new_key, lone = _fix(key)
                if lone:
                    found.append(_join(path, new_key) + " (a key)")
            new_item = _clean(item, _join(path, new_key), found)
            if out is None and (new_key is not key or new_item is not item):
                out = {}
                for k, v in items[:index]:
                    out[k] = v
            if out is not None:
                out[new_key] = new_item
        return value if out is None else out
    if isinstance(value, (list, tuple)):
        out = None
        for index, item in enumerate(value):
            new_item = _clean(item, "%s[%d]" % (path, index), found)
            if out is None and new_item is not item:
                out = list(value[:index])
            if out is not None:
                out.append(new_item)
        return value if out is None else out
    return value


def scrub_values(named) -> tuple:
    """([each value made well-formed], sorted paths of what held a lone surrogate) for
    ``named``: (name, value) pairs, such as a call's ids and traits before they are stored."""
    found = []
    values = [_clean(value, name, found) for name, value in named]
    found.sort()
    return values, found


def warning(what: str, fields: list) -> str:
    """The console warning, the same on every runtime, naming the fields."""
    return ("pyajs: %s: a lone UTF-16 surrogate (half of a character such as an emoji) in %s "
            "was replaced with U+FFFD; the event is sent" % (what, ", ".join(fields)))


def scrub_event(event: dict) -> list:
    """Make every string of ``event`` well-formed, in place (its own top-level fields are
    replaced, nested containers are copied, not changed); returns the sorted paths of the
    fields that held a lone surrogate (``properties.title``, ``traits.tags[2]``)."""
    found = []
    for key in list(event):
        value = event[key]
        new = _clean(value, key, found)
        if new is not value:
            event[key] = new
    found.sort()
    return found
