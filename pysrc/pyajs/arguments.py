"""Segment's flexible argument forms for calls made from JavaScript.

``analytics.page('Docs', 'Install', {...}, {...}, cb)``, ``page({...})``, ``identify({...})``
and friends are accepted exactly as Analytics.js accepts them. Where Analytics.js silently
drops an argument of the wrong type, these resolvers still go on with the call but report the
argument they ignored, so the caller can warn on the console. Python callers do not come
through here: the Python API has fixed parameters and raises ``TypeError`` instead.

    >>> resolve_page(["Docs", "Install", {"a": 1}])[:3]
    ('Docs', 'Install', {'a': 1})
"""


class CallError(ValueError):
    """The call cannot be made sense of (e.g. ``track()`` with no event name)."""


def _is_str(v) -> bool:
    return isinstance(v, str)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_obj(v) -> bool:
    return isinstance(v, dict)


def _is_fn(v) -> bool:
    return callable(v) and not isinstance(v, (dict, list, str))


def describe(v) -> str:
    """A short, JS-flavoured description of a value for error messages."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean " + ("true" if v else "false")
    if _is_number(v):
        return "number " + repr(v)
    if _is_str(v):
        return "string " + (repr(v) if len(v) <= 40 else repr(v[:37] + "..."))
    if isinstance(v, list):
        return "array"
    if _is_obj(v):
        return "object"
    if _is_fn(v):
        return "function"
    return type(v).__name__


def _first_fn(args):
    for a in args:
        if _is_fn(a):
            return a
    return None


def _pad(args, n):
    args = list(args[:n])
    while len(args) < n:
        args.append(None)
    return args


def resolve_track(args) -> tuple:
    """(event, properties, options, callback, ignored) for ``track(event|{event, properties},
    properties?, options?, callback?)``."""
    n = len(args)
    if 0 < n < 3 and isinstance(args[0], str) and args[0]:  # the usual track(name, {props})
        props = args[1] if n == 2 else None
        if props is None or type(props) is dict:
            return args[0], {} if props is None else props, {}, None, []
    raw = list(args)
    first, props, opts, _ = _pad(raw, 4)
    ignored = []
    if _is_obj(first):
        name = first.get("event")
        properties = first.get("properties")
        if properties is None:
            properties = {}
        options = props if _is_obj(props) else {}
        if props is not None and not _is_obj(props) and not _is_fn(props):
            ignored.append(("options", props))
    else:
        name = first
        if _is_obj(props):
            properties = props
        else:
            properties = {}
            if props is not None and not _is_fn(props):
                ignored.append(("properties", props))
        options = opts if _is_obj(opts) else {}
        if opts is not None and not _is_obj(opts) and not _is_fn(opts):
            ignored.append(("options", opts))
    if not _is_str(name) or not name:
        raise CallError("track(): the event name must be a non-empty string, got " +
                        describe(name))
    if not _is_obj(properties):
        ignored.append(("properties", properties))
        properties = {}
    return name, properties, options, _first_fn(raw[:4]), ignored


def resolve_page(args) -> tuple:
    """(category, name, properties, options, callback, ignored) for ``page``/``screen``:
    one string is the name, two are category and name; one object is the properties (or the
    options in 4th place), two are properties and options."""
    raw = _pad(list(args), 5)
    strings = [a for a in raw if _is_str(a)]
    category = name = None
    if len(strings) == 1:
        name = strings[0]
    elif len(strings) >= 2:
        category = raw[0] if _is_str(raw[0]) else None
        name = raw[1] if _is_str(raw[1]) else None
    objects = [a for a in raw if _is_obj(a)]
    properties, options = {}, {}
    if len(objects) == 1:
        if _is_obj(raw[3]) and not _is_obj(raw[2]):
            options = raw[3]
        else:
            properties = objects[0]
    elif len(objects) >= 2:
        properties, options = objects[0], objects[1]
    ignored = [("argument", a) for a in raw
               if a is not None and not (_is_str(a) or _is_obj(a) or _is_fn(a))]
    if len(strings) > 2:
        ignored.extend(("argument", s) for s in strings[2:])
    return category, name, properties, options, _first_fn(raw), ignored


def resolve_identity(args) -> tuple:
    """(id or None, traits, options, callback, ignored) for ``identify``/``group``: the id
    may be left out (then the first object is the traits); numbers become strings; the
    first function ends the arguments. A None id means "the current one"."""
    slots = ["id", "traits", "options"]
    values = {}
    ignored = []
    callback = None
    for arg in args:
        if _is_fn(arg):
            callback = arg
            break
        if not slots:
            ignored.append(("argument", arg))
            continue
        slot = slots[0]
        if slot == "id":
            slots.pop(0)
            if _is_str(arg) or _is_number(arg):
                values["id"] = _id_text(arg)
                continue
            if arg is None:
                continue
            slot = slots[0]
        slots.pop(0)
        if _is_obj(arg) or arg is None:
            values[slot] = arg
        else:
            ignored.append((slot, arg))
    ident = values.get("id") or None
    return (ident, values.get("traits") or {}, values.get("options") or {}, callback, ignored)


def resolve_alias(args) -> tuple:
    """(to, from or None, options, callback, ignored) for ``alias(to, from?, options?, cb?)``."""
    raw = [(_id_text(a) if _is_number(a) else a) for a in _pad(list(args), 4)]
    strings = [a for a in raw if _is_str(a)]
    if not strings or not strings[0]:
        raise CallError("alias(): the new user id must be a non-empty string, got " +
                        describe(raw[0]))
    to = strings[0]
    previous = strings[1] if len(strings) > 1 and strings[1] else None
    objects = [a for a in raw if _is_obj(a)]
    ignored = [("argument", a) for a in raw
               if a is not None and not (_is_str(a) or _is_obj(a) or _is_fn(a))]
    return to, previous, objects[0] if objects else {}, _first_fn(raw), ignored


def _id_text(v) -> str:
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    return str(v)
