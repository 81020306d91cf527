"""The calls a page made before pyajs was ready, as the snippet keeps them in localStorage.

The snippet writes one entry per page, ``pyajs:b:<page id>`` → JSON
``{"k": <writeKey or null>, "c": [[method, args, snapshot], ...]}``, each time the page makes
an event call (and ``setAnonymousId`` / ``reset``, which change the identity of the events
after them) before Python is ready. Each snapshot holds the page (``u p s t r c``), the call
time (``ts``), the ``messageId`` minted then (``i``) and, once the snippet has sent the event
itself because the page was hidden or left, ``d``: 1 sent, 2 acknowledged by the collector.

When pyajs is ready it replays its own page's calls from memory and removes that entry; the
entries of other pages (closed, crashed or left before they were ready) are its
"leftovers": their calls are replayed first, oldest page first, with their own message ids,
times and pages, so the collector, which deduplicates by ``messageId``, stores each once.

    >>> shelf = {"pyajs:b:p1": '{"k":"K","c":[["track",["A"],{"ts":5,"i":"m1"}]]}'}
    >>> take_leftovers(list(shelf), shelf.get, "K", "pyajs:b:p2", print)[0]
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


def take_leftovers(keys: list, get, write_key: str, own_key, warn) -> tuple:
    """(calls, keys): the calls of other pages' entries for ``write_key`` (or for none: a
    page that never called ``load``), oldest page first, each snapshot marked ``x`` (another
    page's call); and every entry key to remove once they are queued (``own_key``
    included). A corrupt entry is removed with one warning."""
    records = []
    remove = []
    for key in keys:
        if not key.startswith(PREFIX):
            continue
        if key == own_key:
            remove.append(key)
            continue
        try:
            data = json.loads(get(key))
            calls = data["c"]
            owner = data.get("k")
            if not isinstance(calls, list):
                raise ValueError(key)
        except Exception:
            warn("pyajs: removed a corrupt copy of calls made before ready (%s)" % key)
            remove.append(key)
            continue
        if owner is not None and owner != write_key:
            continue  # another source's calls: its own pages send them
        good = []
        for call in calls:
            if (isinstance(call, list) and len(call) == 3 and isinstance(call[0], str)
                    and isinstance(call[1], list)):
                snap = call[2] if isinstance(call[2], dict) else None
                if snap is not None:
                    snap["x"] = 1
                good.append([call[0], call[1], snap])
        first = [c[2]["ts"] for c in good if c[2] is not None and isinstance(
            c[2].get("ts"), (int, float))]
        records.append((min(first) if first else 0, key, good))
        remove.append(key)
    records.sort(key=lambda r: (r[0], r[1]))
    calls = []
    for _, _, good in records:
        calls.extend(replay_order(good))
    return calls, remove
