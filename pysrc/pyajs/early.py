"""The calls a page made before pyajs was ready, as the snippet keeps them in localStorage.

The snippet writes one entry per call, ``pyajs:b:<page id>:<n>`` → JSON
``[method, args, snapshot, writeKey or null]``, for each event call (and ``setAnonymousId`` /
``reset``, which change the identity of the events after them) a page makes before Python is
ready. Each snapshot holds the page (``u p s t r c``), the call time (``ts``), the
``messageId`` minted then (``i``) and, once the snippet has sent the event itself because the
page was hidden or left, ``d``: 1 sent, 2 acknowledged by the collector.

When pyajs is ready it replays its own page's calls from memory and removes their entries; the
entries of other pages (closed, crashed or left before they were ready) are its
"leftovers": their calls are replayed first, oldest page first, with their own message ids,
times and pages, so the collector, which deduplicates by ``messageId``, stores each once.

    >>> shelf = {"pyajs:b:p1:0": '["track",["A"],{"ts":5,"i":"m1"},"K"]'}
    >>> take_leftovers(list(shelf), shelf.get, "K", "pyajs:b:p2:", print)[0]
    [['track', ['A'], {'ts': 5, 'i': 'm1', 'x': 1}]]
"""

from .compat import json

PREFIX = "pyajs:b:"
# Replayed first, in this order, as pyajs replays a page's own buffered calls.
# As Analytics.js: plugins are registered (their loads awaited: events wait for them) before
# source middleware, and both before any event.
EARLY = ("setAnonymousId", "on", "register", "addSourceMiddleware", "addDestinationMiddleware")


def replay_order(calls: list) -> list:
    """``calls`` ([method, …] lists) in the order pyajs replays them: the early methods
    first (each in call order), then the others in call order."""
    early = [c for m in EARLY for c in calls if c[0] == m]
    return early + [c for c in calls if c[0] not in EARLY]


def take_leftovers(keys: list, get, write_key: str, own_page, warn) -> tuple:
    """(calls, keys): the calls other pages left for ``write_key`` (or for none: a page that
    never called ``load``), oldest page first and in each page's replay order, each snapshot
    marked ``x`` (another page's call); and every entry key to remove once they are queued
    (those of ``own_page``, this page's key prefix, included). A corrupt entry is removed
    with one warning."""
    pages = {}  # page prefix → [(n, call)]
    remove = []
    warned = False
    for key in keys:
        if not key.startswith(PREFIX):
            continue
        if own_page and key.startswith(own_page):
            remove.append(key)
            continue
        cut = key.rfind(":") + 1
        page, n = key[:cut], key[cut:]
        try:
            call = json.loads(get(key))
            if not (isinstance(call, list) and len(call) == 4 and isinstance(call[0], str)
                    and isinstance(call[1], list)):
                raise ValueError(key)
            n = int(n)
        except Exception:
            if not warned:
                warned = True
                warn("pyajs: removed a corrupt copy of a call made before ready (%s)" % key)
            remove.append(key)
            continue
        if call[3] is not None and call[3] != write_key:
            continue  # another source's calls: its own pages send them
        snap = call[2] if isinstance(call[2], dict) else None
        if snap is not None:
            snap["x"] = 1
        pages.setdefault(page, []).append((n, [call[0], call[1], snap]))
        remove.append(key)
    ordered = []
    for page, calls in pages.items():
        calls.sort(key=lambda c: c[0])
        times = [c[1][2]["ts"] for c in calls if c[1][2] is not None and isinstance(
            c[1][2].get("ts"), (int, float))]
        ordered.append((min(times) if times else 0, page, [c[1] for c in calls]))
    ordered.sort(key=lambda p: (p[0], p[1]))
    calls = []
    for _, _, page_calls in ordered:
        calls.extend(replay_order(page_calls))
    return calls, remove
