"""The persisted queue: an event is in localStorage from the moment it is called until the
collector acknowledges it, so a reload, a crash or a closed tab loses nothing.

Each event is one localStorage entry, ``pyajs:q:<writeKey>:<messageId>`` → JSON
``{"o": <tab id>, "a": <attempts>, "e": <event>}``: adding or acknowledging an event costs one
small write, never a rewrite of the whole queue. The ``o`` field says which page owns the
event; every page keeps a heartbeat (``pyajs:tab:<writeKey>:<tab id>`` → epoch ms) and removes
it when the page goes away (``pagehide``). Events whose owner has no fresh heartbeat are
orphans: a page claims them by writing its own id, waits, reads them back, and sends only
those still its own, so two tabs never both send the same stored event.

The queue is bounded (events and bytes, oldest dropped with a warning). When localStorage is
full or missing, events are kept in memory (one warning) and still sent; pyajs never evicts
the site's own entries.

    q = PersistedQueue(local_storage, "KEY", tab_id="t1", clock=now_ms, warn=print)
    entry = q.add(event)   # written, then sent by the dispatcher
    q.ack(entry)           # gone from memory and storage
"""

from .codec import SizedDumps, dumps
from .compat import json
from .surrogates import scrub_event, utf8, warning

PREFIX = "pyajs:q:"
TAB_PREFIX = "pyajs:tab:"
MAX_EVENT_BYTES = 32 * 1024
HEARTBEAT_MS = 5000
STALE_MS = 30000


class Entry:
    """One queued event and its delivery state (attempts survive reloads)."""

    def __init__(self, mid: str, event: dict, attempts: int, size: int, text=None):
        self.id = mid
        self.type = event.get("type")
        # Only the JSON text is kept (serialised once, reused for storage and requests);
        # ``event`` parses it again when asked (errors, warnings). Hundreds of queued events
        # as dicts would be many small objects: MicroPython's heap then fragments and every
        # allocation gets slower.
        self.json = dumps(event) if text is None else text
        self.attempts = attempts  # failed tries so far
        self.rate_limited = 0  # 429 + Retry-After tries (they do not use an attempt)
        self.size = size
        self.due = 0  # epoch ms of the next try
        self.in_flight = False
        self.keepalive = False
        self.persisted = False

    @property
    def event(self) -> dict:
        return json.loads(self.json)


class PersistedQueue:
    """Events not yet acknowledged, in memory and (when it works) in localStorage."""

    def __init__(self, shelf, write_key: str, tab_id: str, clock, warn,
                 max_events: int = 1000, max_bytes: int = 1000000, on_drop=None):
        self.shelf = shelf  # getItem / setItem / removeItem / keys(), or None
        self.prefix = PREFIX + write_key + ":"
        self.tab_prefix = TAB_PREFIX + write_key + ":"
        self.tab_id = tab_id
        self._tab_json = dumps(tab_id)
        self._dumps = SizedDumps()
        self.clock = clock
        self.warn = warn
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.on_drop = on_drop  # called with each entry the bounds push out
        self.entries = {}
        self.order = []  # ids, oldest first (dict order is not promised on every runtime)
        self.bytes = 0
        self._warned = set()
        self._staged = []  # added with defer=True, written by persist()
        self._beat_at = None  # when this page last wrote its heartbeat

    def _warn_once(self, tag: str, message: str) -> None:
        if tag not in self._warned:
            self._warned.add(tag)
            self.warn(message)

    def __len__(self) -> int:
        return len(self.order)

    def pending(self) -> list:
        return [self.entries[i] for i in self.order]

    # -- storage --------------------------------------------------------------------------
    def _text(self, entry: Entry) -> str:
        # "o" first: ownership checks compare a prefix instead of parsing the event. A join
        # allocates the text once (MicroPython's % grows it piece by piece).
        return "".join((self._text_head(entry.attempts), entry.json, "}"))

    def _text_head(self, attempts: int) -> str:
        return '{"o":%s,"a":%d,"e":' % (self._tab_json, attempts)

    def _store(self, entry: Entry) -> None:
        if self.shelf is None:
            return
        try:
            self.shelf.setItem(self.prefix + entry.id, self._text(entry))
            entry.persisted = True
        except Exception as exc:
            entry.persisted = False
            self._warn_once("full", "pyajs: cannot save events in localStorage (%s); they are "
                            "kept in memory until sent" % (str(exc)[:100],))

    def _unstore(self, mid: str) -> None:
        if self.shelf is None:
            return
        try:
            self.shelf.removeItem(self.prefix + mid)
        except Exception:
            pass

    # -- queue operations -------------------------------------------------------------------
    def add(self, event: dict, defer: bool = False) -> Entry | None:
        """Queue ``event`` (written to storage now, or with ``defer`` at the next
        ``persist()``, before it is sent); None when it is over 32 KB."""
        body = self._dumps(event)
        data = utf8(body)
        if data is None:  # a lone surrogate somewhere: see surrogates.py
            fields = scrub_event(event)
            if fields:
                self.warn(warning(_describe(event), fields))
            body = self._dumps(event)
            data = body.encode("utf-8")
        size = len(data)
        if size > MAX_EVENT_BYTES:
            self.warn("pyajs: %s %r is %d KB, over the 32 KB limit of one event; it was not "
                      "sent" % (event.get("type"), event.get("event") or event.get("name") or
                                event.get("messageId"), (size + 1023) // 1024))
            return None
        while self.order and (len(self.order) >= self.max_events or
                              self.bytes + size > self.max_bytes):
            self._drop_oldest()
        entry = Entry(event["messageId"], event, 0, size, body)
        self._insert(entry)
        if defer:
            self._staged.append(entry)
        else:
            self._store(entry)
        return entry

    def persist(self) -> None:
        """Write the deferred entries, in one call to the shelf when it can take many."""
        staged, self._staged = self._staged, []
        staged = [e for e in staged if self.entries.get(e.id) is e]
        if not staged or self.shelf is None:
            return
        put_wrapped = getattr(self.shelf, "put_wrapped", None)
        put_many = getattr(self.shelf, "put_many", None)
        if put_wrapped is not None or put_many is not None:
            try:
                if put_wrapped is not None and all(e.attempts == 0 for e in staged):
                    # new events: each stored text is the same head, the event, "}" (the
                    # shelf puts them together: no second big string per event here)
                    put_wrapped(self._text_head(0), "}",
                                [(self.prefix + e.id, e.json) for e in staged])
                else:
                    put_many([(self.prefix + e.id, self._text(e)) for e in staged])
                for e in staged:
                    e.persisted = True
                return
            except Exception:
                pass  # one by one below: the ones that fit are kept, one warning
        for e in staged:
            self._store(e)

    def ownership_uncertain(self) -> bool:
        """True when another page may have claimed this page's events: only possible when
        this page's heartbeat went stale (its timers were throttled or frozen)."""
        return (self.shelf is not None and
                (self._beat_at is None or self.clock() - self._beat_at >= 2 * HEARTBEAT_MS))

    def _insert(self, entry: Entry) -> None:
        if entry.id in self.entries:
            self.remove(self.entries[entry.id])
        self.entries[entry.id] = entry
        self.order.append(entry.id)
        self.bytes += entry.size

    def _drop_oldest(self) -> None:
        oldest = self.entries[self.order[0]]
        self.warn("pyajs: the event queue is full (%d events, %d KB); dropped the oldest, %s "
                  "%r" % (len(self.order), self.bytes // 1024, oldest.type,
                          oldest.id))
        self.remove(oldest)
        if self.on_drop is not None:
            self.on_drop(oldest)

    def remove(self, entry: Entry) -> None:
        """Forget ``entry`` here and in storage (acknowledged, or given up)."""
        self._forget(entry)
        self._unstore(entry.id)

    def _forget(self, entry: Entry) -> None:
        if self.entries.pop(entry.id, None) is not None:
            self.order.remove(entry.id)
            self.bytes -= entry.size

    ack = remove

    def ack_many(self, entries: list) -> None:
        """``ack`` each of ``entries``, removing them from storage in one call where the
        shelf can (a batch's events are acknowledged together)."""
        remove_many = getattr(self.shelf, "remove_many", None)
        if remove_many is None or len(entries) < 2:
            for entry in entries:
                self.remove(entry)
            return
        for entry in entries:
            self._forget(entry)
        try:
            remove_many([self.prefix + e.id for e in entries])
        except Exception:
            for entry in entries:
                self._unstore(entry.id)

    def save_attempts(self, entry: Entry) -> None:
        """Record a failed try, so a reload goes on counting from there (not over the claim
        of another page that took the event meanwhile: then it leaves this queue)."""
        if entry.persisted and self.still_mine(entry):
            self._store(entry)

    def still_mine(self, entry: Entry) -> bool:
        """False when another page has claimed this stored event (then it is dropped here)."""
        if self.shelf is None or not entry.persisted:
            return True
        try:
            text = self.shelf.getItem(self.prefix + entry.id)
        except Exception:
            return True
        if text is None or text.startswith('{"o":%s,' % dumps(self.tab_id)):
            return True
        self.entries.pop(entry.id, None)
        self.order.remove(entry.id)
        self.bytes -= entry.size
        return False

    # -- tabs ----------------------------------------------------------------------------
    def heartbeat(self) -> None:
        if self.shelf is not None:
            try:
                now = self.clock()
                self.shelf.setItem(self.tab_prefix + self.tab_id, str(now))
                self._beat_at = now
            except Exception:
                pass

    def release(self) -> None:
        """The page is going away: its stored events become orphans at once."""
        if self.shelf is not None:
            try:
                self.shelf.removeItem(self.tab_prefix + self.tab_id)
            except Exception:
                pass

    def _alive(self, tab: str, now: int) -> bool:
        if tab == self.tab_id:
            return True
        try:
            seen = self.shelf.getItem(self.tab_prefix + tab)
            return seen is not None and now - int(seen) < STALE_MS
        except Exception:
            return False

    def claim_orphans(self) -> list:
        """Write this page's id into every stored event whose page is gone; returns their
        ids, to be confirmed by ``adopt`` after a short wait."""
        if self.shelf is None:
            return []
        now = self.clock()
        claimed = []
        dead = set()
        try:
            keys = [k for k in self.shelf.keys() if k.startswith(self.prefix)]
        except Exception:
            return []
        for key in keys:
            mid = key[len(self.prefix):]
            if mid in self.entries:
                continue
            data = self._read(key)
            if data is None:
                continue
            owner = data.get("o")
            if isinstance(owner, str) and self._alive(owner, now):
                continue
            if isinstance(owner, str):
                dead.add(owner)
            entry = Entry(mid, data["e"], data.get("a", 0), 0)
            try:
                self.shelf.setItem(key, self._text(entry))
            except Exception:
                continue
            claimed.append(mid)
        for tab in dead:
            try:
                self.shelf.removeItem(self.tab_prefix + tab)
            except Exception:
                pass
        return claimed

    def adopt(self, claimed: list) -> list:
        """Take into the queue the claimed events still owned by this page."""
        adopted = []
        mine = '{"o":%s,' % dumps(self.tab_id)
        for mid in claimed:
            key = self.prefix + mid
            try:
                text = self.shelf.getItem(key)
            except Exception:
                continue
            if text is None or not text.startswith(mine) or mid in self.entries:
                continue
            data = self._read(key, text)
            if data is None:
                continue
            # the event's UTF-8 bytes, as ``add`` counts them (bounds, keepalive budget)
            body = dumps(data["e"])
            entry = Entry(mid, data["e"], data.get("a", 0), len(body.encode("utf-8")), body)
            entry.persisted = True
            self._insert(entry)
            adopted.append(entry)
        return adopted

    def _read(self, key: str, text=None):
        """A stored entry as a dict, or None (corrupt entries are removed with a warning)."""
        try:
            if text is None:
                text = self.shelf.getItem(key)
            if text is None:
                return None
            data = json.loads(text)
            if (isinstance(data, dict) and isinstance(data.get("e"), dict)
                    and isinstance(data["e"].get("type"), str)):
                if not isinstance(data.get("a"), int):
                    data["a"] = 0
                return data
        except Exception:
            pass
        self._warn_once("corrupt-queue", "pyajs: removed a corrupt queued event (%s)" % key)
        try:
            self.shelf.removeItem(key)
        except Exception:
            pass
        return None


def _describe(event: dict) -> str:
    """``track "Signed Up"``, ``identify``: which call an event came from, for warnings."""
    name = event.get("event") or event.get("name")
    kind = event.get("type")
    return '%s "%s"' % (kind, name) if isinstance(name, str) and name else str(kind)
