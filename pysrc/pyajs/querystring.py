"""The query-string API: ``ajs_`` parameters in the page's URL become calls.

A link such as ``https://shop.test/?ajs_uid=u-42&ajs_trait_plan=pro&ajs_event=Opened+Email``
identifies the visitor and tracks an event when the page loads, as Analytics.js does:

- ``ajs_aid=X`` → ``setAnonymousId(X)``;
- ``ajs_uid=U`` → ``identify(U, traits)``, traits from every ``ajs_trait_<name>``;
- ``ajs_event=E`` → ``track(E, properties)``, properties from every ``ajs_prop_<name>``.

The text read is ``location.search``, or, when that is empty, the part of ``location.hash``
from its last ``?`` (``#/route?ajs_uid=u``); nothing happens unless it contains ``ajs_``.
Values are ``+``-to-space and percent-decoded (a value with a malformed escape is kept as
written); keys are not decoded; a repeated key keeps its last value; an empty value counts
as absent. The ``useQueryString`` load option turns it off (``false``) or restricts the ids
it accepts: ``{"aid": "<pattern>", "uid": "<pattern>"}``, regular expressions searched in the
value (JavaScript ``RegExp`` objects cannot cross into Python, so pyajs takes their source
text).

    >>> query_calls("?ajs_uid=u1&ajs_trait_name=Bob+S&ajs_event=Clicked&ajs_prop_color=red", "")
    [('identify', ['u1', {'name': 'Bob S'}]), ('track', ['Clicked', {'color': 'red'}])]

Pure: no ``js`` import, and ``re`` only when a pattern is given (MicroPython's is limited).
"""

from .codec import _percent_decode

TRAIT_PREFIX = "ajs_trait_"
PROP_PREFIX = "ajs_prop_"


def query_source(search: str, hash_: str) -> str:
    """The text the API reads: ``search``, else ``hash_`` from its last ``?`` (or the
    whole hash when it has none, which then yields no parameters)."""
    if search:
        return search
    hash_ = hash_ or ""
    i = hash_.rfind("?")
    return hash_[i:] if i >= 0 else hash_


def decode_value(text: str) -> str:
    """``+`` to space, then ``decodeURIComponent``; the text as written if that would fail
    (a bad ``%`` escape or bytes that are not UTF-8)."""
    decoded = _percent_decode(text.replace("+", " "), strict=True)
    return text if decoded is None else decoded


def parse_params(source: str) -> dict:
    """Key → decoded value (None for a key without ``=``) of a ``?…`` query; the text after
    a second ``=`` is dropped, as Analytics.js does."""
    if not source.startswith("?"):
        return {}
    query = source[1:]
    cut = query.find("#")
    if cut >= 0:
        query = query[:cut]
    params = {}
    for part in query.split("&"):
        pieces = part.split("=")
        key = pieces[0]
        params[key] = decode_value(pieces[1]) if len(pieces) > 1 else None
    return params


def _prefixed(prefix: str, params: dict) -> dict:
    out = {}
    for key, value in params.items():
        if key.startswith(prefix) and value is not None:
            out[key[len(prefix):]] = value
    return out


def _accepts(option: dict, name: str, value: str, warn) -> bool:
    """Whether ``value`` passes ``useQueryString[name]`` (any non-empty value if unset)."""
    pattern = option.get(name)
    if pattern is None:
        return True
    if not isinstance(pattern, str):
        warn("pyajs: useQueryString.%s must be a pattern string (a RegExp cannot reach "
             "Python); ajs_%s was ignored" % (name, name))
        return False
    import re  # only here: most pages never restrict the query-string ids

    try:
        return re.search(pattern, value) is not None
    except Exception as exc:  # an invalid pattern: refuse rather than accept anything
        warn("pyajs: useQueryString.%s: bad pattern %r (%s); ajs_%s was ignored" % (
            name, pattern, exc, name))
        return False


def query_calls(search: str, hash_: str, option=None, warn=print) -> list:
    """The calls the URL asks for, in Analytics.js's order: ``[(method, args), …]`` with
    ``setAnonymousId``, ``identify`` and ``track``. ``option`` is the ``useQueryString``
    load option (False: none; a dict: patterns for ``aid``/``uid``)."""
    if option is False:
        return []
    source = query_source(search, hash_)
    if "ajs_" not in source:
        return []
    option = option if isinstance(option, dict) else {}
    params = parse_params(source)
    calls = []
    aid = params.get("ajs_aid")
    if aid and _accepts(option, "aid", aid, warn):
        calls.append(("setAnonymousId", [aid]))
    uid = params.get("ajs_uid")
    if uid and _accepts(option, "uid", uid, warn):
        calls.append(("identify", [uid, _prefixed(TRAIT_PREFIX, params)]))
    event = params.get("ajs_event")
    if event:
        calls.append(("track", [event, _prefixed(PROP_PREFIX, params)]))
    return calls
