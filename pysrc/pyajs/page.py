"""``context.page`` and ``context.campaign``, from a snapshot of the page taken at call time.

A snapshot is the dict the snippet records for each buffered call (and the binding records
for each live one): ``u`` href, ``p`` pathname, ``s`` search, ``t`` title, ``r`` referrer,
``c`` canonical link href or None. Keeping it per call means an event replayed after the
interpreter started still describes the page it was called on.

    >>> page_context({"u": "https://x.test/a?b=1#h", "p": "/a", "s": "?b=1", "t": "T", "r": ""})
    {'path': '/a', 'referrer': '', 'search': '?b=1', 'title': 'T', 'url': 'https://x.test/a?b=1'}
"""


from .querystring import decode_value

PAGE_FIELDS = ("path", "referrer", "search", "title", "url")


def _strip_fragment(url: str) -> str:
    i = url.find("#")
    return url if i < 0 else url[:i]


def url_pathname(url: str) -> str:
    """The path of an absolute URL (``https://h/a/b?x`` → ``/a/b``), ``/`` when empty."""
    rest = url
    scheme = rest.find("://")
    if scheme >= 0:
        rest = rest[scheme + 3:]
        slash = rest.find("/")
        rest = rest[slash:] if slash >= 0 else "/"
    for sep in "?#":
        i = rest.find(sep)
        if i >= 0:
            rest = rest[:i]
    return rest or "/"


def page_context(snap: dict) -> dict:
    """Segment's five page fields; a canonical link sets ``path`` and ``url``."""
    search = snap.get("s") or ""
    canonical = snap.get("c")
    if canonical:
        path = url_pathname(canonical)
        url = canonical if "?" in canonical else _strip_fragment(canonical) + search
    else:
        path = snap.get("p") or "/"
        url = _strip_fragment(snap.get("u") or "")
    return {"path": path, "referrer": snap.get("r") or "", "search": search,
            "title": snap.get("t") or "", "url": url}


def campaign(search: str) -> dict | None:
    """``utm_*`` parameters of a query string as Segment's ``context.campaign``: ``{}``
    for a query string without any (as Analytics.js sends), None for no query string.

    ``utm_campaign`` becomes ``name``; values are ``+``-to-space and percent decoded (kept
    as written if that fails); a later ``?`` separates like ``&``; the text after a second
    ``=`` is dropped.
    """
    if not search:
        return None
    out = {}
    query = search[1:] if search.startswith("?") else search
    for pair in query.replace("?", "&").split("&"):
        pieces = pair.split("=")
        key = pieces[0]
        i = key.find("utm_")
        if i < 0:
            continue
        name = key[i + 4:]
        if name == "campaign":
            name = "name"
        if name:
            out[name] = decode_value(pieces[1]) if len(pieces) > 1 else ""
    return out
