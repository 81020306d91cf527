"""Delivery that loses nothing: retries with backoff, batching, offline and page exits.

The dispatcher takes events from the persisted queue and posts them, one request per event
(Segment's standard strategy) or in batches (``/v1/batch``). A failed try is retried with
exponential backoff and jitter (0.5 s base, 60 s cap, 10 attempts), a 429 waits its
``Retry-After`` (at most 300 s); 4xx answers other than 408, 410, 429 and 460 are final.
Retries carry the same ``messageId`` and ``timestamp`` and an ``X-Retry-Count`` header.
While the browser is offline nothing is tried. When the page is hidden or left, what is
pending goes out with ``fetch(…, {keepalive: true})`` in chunks within the browser's 64 KB
keepalive budget; anything that may not have made it is still in the persisted queue.

The edges come from the platform: ``send(url, headers, body, done, keepalive)`` (``body``
a ``delivery.Body``),
``set_timeout(fn, ms)``, ``now_ms()``, ``is_online()``.
"""

from .clock import iso_utc
from .codec import dumps
from .compat import random
from .delivery import Body, basic_auth

RETRY_STATUSES = (408, 410, 429, 460)
FINAL_5XX = (501, 505, 511)
MAX_BATCH_BYTES = 500 * 1024
BATCH_CUT_BYTES = 450 * 1024
KEEPALIVE_BUDGET = 60 * 1024  # under Chromium's 64 KB for all keepalive requests in flight
MAX_IN_FLIGHT = 16


def is_retryable(status: int) -> bool:
    """Network errors (0), 5xx except 501/505/511, and 408/410/429/460."""
    if status == 0 or status in RETRY_STATUSES:
        return True
    return 500 <= status < 600 and status not in FINAL_5XX


def backoff_ms(attempt: int, base_ms: float = 500, max_ms: float = 60000,
               jitter: float = 0.1, rand=random.random) -> int:
    """``min(base · 2^(attempt-1), max)`` ± ``jitter``, never over ``max``: the wait before
    try ``attempt + 1``."""
    delay = min(base_ms * (2 ** (attempt - 1)), max_ms)
    return int(min(delay * (1 + jitter * (2 * rand() - 1)), max_ms))


def retry_after_ms(header, cap_s: float = 300):
    """A numeric ``Retry-After`` in ms (capped), or None (absent or an HTTP date)."""
    if header is None:
        return None
    try:
        seconds = float(str(header).strip())
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:  # NaN, or negative
        return None
    return int(min(seconds, cap_s) * 1000)


class Dispatcher:
    def __init__(self, queue, endpoint, write_key: str, platform, warn, on_final,
                 strategy: str = "standard", batch_size: int = 10, batch_timeout_ms: int = 5000,
                 max_attempts: int = 10, base_ms: float = 500, max_ms: float = 60000,
                 jitter: float = 0.1):
        self.queue = queue
        self.endpoint = endpoint
        self.auth = basic_auth(write_key)
        self.write_key = write_key
        self._write_key_json = dumps(write_key)
        self.platform = platform
        self.warn = warn
        self.on_final = on_final  # (entry, ok, status, reason) when an event is done
        self.batching = strategy == "batching"
        self.batch_size = max(1, int(batch_size))
        self.batch_timeout_ms = batch_timeout_ms
        self.max_attempts = max_attempts
        self.base_ms, self.max_ms, self.jitter = base_ms, max_ms, jitter
        self.in_flight = 0
        self.keepalive_bytes = 0  # bytes of keepalive requests in flight
        self._ready = []  # entries to send, oldest first, from index _head on
        self._head = 0
        self._waiting = []  # entries backing off until their ``due`` time
        self._timer_due = None
        self._batch_started = None
        self._kick_scheduled = False
        self.debug = None  # debug(entry, text) while analytics.debug(True)

    # -- intake ---------------------------------------------------------------------------
    def add(self, entry) -> None:
        """A new event: stored and sent once the calling code's task is done (so a loop of
        calls is written and posted together), or when the batch is full or old enough."""
        entry.due = 0
        self._ready.append(entry)
        if not self._kick_scheduled:
            self._kick_scheduled = True
            self.platform.soon(self._kick)

    def _kick(self) -> None:
        self._kick_scheduled = False
        self.queue.persist()
        self.flush()

    def resume(self, entries) -> None:
        """Events from an earlier page: sent at once, attempts counted on."""
        for entry in entries:
            entry.due = 0
            self._ready.append(entry)
        self.flush()

    # -- the loop ---------------------------------------------------------------------------
    def _live(self, entry) -> bool:
        return not entry.in_flight and self.queue.entries.get(entry.id) is entry

    def _take_ready(self) -> list:
        """The entries ready to go, oldest first (the FIFO is emptied)."""
        ready = [e for e in self._ready[self._head:] if self._live(e)]
        self._ready, self._head = [], 0
        return ready

    def _pop_ready(self):
        while self._head < len(self._ready):
            entry = self._ready[self._head]
            self._head += 1
            if self._live(entry):
                return entry
        self._ready, self._head = [], 0
        return None

    def flush(self, force: bool = False) -> None:
        """Move due retries to the ready list, then send what may be sent now."""
        now = self.platform.now_ms()
        if self._waiting:
            later = []
            for entry in self._waiting:
                if entry.due <= now:
                    self._ready.append(entry)
                else:
                    later.append(entry)
            self._waiting = later
        if self.platform.is_online():  # offline: the 'online' event calls flush again
            if self.batching:
                self._flush_batches(now, force)
            else:
                self._flush_standard()
        self._arm(now)

    def _flush_standard(self) -> None:
        check = self.queue.ownership_uncertain()
        while self.in_flight < MAX_IN_FLIGHT:
            entry = self._pop_ready()
            if entry is None:
                return
            if check and not self.queue.still_mine(entry):
                continue
            # keepalive lets the request outlive a navigation, within the budget
            small = self.keepalive_bytes + entry.size + 512 < KEEPALIVE_BUDGET
            self._send([entry], keepalive=small)

    def _flush_batches(self, now, force) -> None:
        due = self._take_ready()
        if not due:
            self._batch_started = None
            return
        if self._batch_started is None:
            self._batch_started = now
        full = len(due) >= self.batch_size
        # a retry has waited its backoff already: it does not wait for the batch timeout too
        old = (now - self._batch_started >= self.batch_timeout_ms
               or any(e.attempts or e.rate_limited for e in due))
        if not (force or full or old):
            self._ready = due
            return
        self._batch_started = None
        if self.queue.ownership_uncertain():
            due = [e for e in due if self.queue.still_mine(e)]
        chunk, size = [], 0
        for entry in due:
            if chunk and (len(chunk) >= self.batch_size or size + entry.size > BATCH_CUT_BYTES):
                self._send(chunk, keepalive=False)
                chunk, size = [], 0
            chunk.append(entry)
            size += entry.size
        if chunk and (force or old or len(chunk) >= self.batch_size):
            self._send(chunk, keepalive=False)
        elif chunk:  # a partial batch waits for more events or its timeout
            self._ready = chunk
            self._batch_started = now

    def _arm(self, now: int) -> None:
        """One timer for the earliest due retry or batch deadline."""
        waits = [e.due for e in self._waiting]
        if self.batching and self._batch_started is not None:
            waits.append(self._batch_started + self.batch_timeout_ms)
        if not waits:
            return
        due = min(waits)
        if self._timer_due is not None and self._timer_due <= due:
            return
        self._timer_due = due
        self.platform.set_timeout(self._tick, max(0, due - now))

    def _tick(self) -> None:
        self._timer_due = None
        self.flush()

    # -- requests -----------------------------------------------------------------------------
    def _send(self, entries, keepalive: bool, force_batch: bool = False) -> None:
        # Bodies are spliced from each event's JSON text, serialised once when it was queued.
        sent_at = '"sentAt":"%s"}' % iso_utc(self.platform.now_ms())
        if len(entries) == 1 and not (self.batching or force_batch):
            url = self.endpoint.url(entries[0].type)
            text = entries[0].json
            body = Body("", text, ("," if len(text) > 2 else "") + sent_at, cut=1)
        else:
            url = self.endpoint.base + "/batch"
            body = Body('{"batch":[', ",".join(e.json for e in entries),
                        '],"writeKey":%s,%s' % (self._write_key_json, sent_at))
        headers = {"Content-Type": "text/plain", "Authorization": self.auth}
        retries = max(e.attempts + e.rate_limited for e in entries)
        if retries:
            headers["X-Retry-Count"] = str(retries)
        for e in entries:
            e.in_flight = True
            e.keepalive = keepalive
        self.in_flight += 1
        # the budget is in bytes (each entry's size is its text's UTF-8 length)
        held = (sum(e.size for e in entries) + len(entries) + 100) if keepalive else 0
        self.keepalive_bytes += held

        def done(status, retry_after=None, error=None):
            self.in_flight -= 1
            self.keepalive_bytes -= held
            self._settled(entries, int(status or 0), retry_after, error)

        if self.debug is not None:
            for e in entries:
                self.debug(e, "sent (%s%s%s)" % (
                    url.rsplit("/", 1)[-1] == "batch" and "a batch of %d" % len(entries)
                    or "alone", ", retry %d" % retries if retries else "",
                    ", keepalive" if keepalive else ""))
        try:
            self.platform.send(url, headers, body, done, keepalive)
        except Exception as exc:
            done(0, None, "%s: %s" % (type(exc).__name__, exc))

    def _settled(self, entries, status, retry_after, error) -> None:
        now = self.platform.now_ms()
        # an event sent twice (page exit) may be settled already by the other request
        entries = [e for e in entries if self.queue.entries.get(e.id) is e]
        if 200 <= status < 400:
            self.queue.ack_many(entries)
            for e in entries:
                self.on_final(e, True, status, None)
        elif is_retryable(status):
            wait = retry_after_ms(retry_after) if status == 429 else None
            for e in entries:
                e.in_flight = False
                if wait is not None and e.rate_limited < self.max_attempts:
                    e.rate_limited += 1
                    e.due = now + wait
                    self._waiting.append(e)
                    continue
                e.attempts += 1
                if e.attempts >= self.max_attempts:
                    self.queue.remove(e)
                    reason = "gave up after %d attempts (%s)" % (
                        e.attempts, error or "HTTP %d" % status)
                    self.warn("pyajs: %s %r was not delivered: %s" % (
                        e.type, e.id, reason))
                    self.on_final(e, False, status, reason)
                    continue
                e.due = now + backoff_ms(e.attempts, self.base_ms, self.max_ms, self.jitter)
                if self.debug is not None:
                    self.debug(e, "retried in %.1f s (%s)" % (
                        (e.due - now) / 1000, error or "HTTP %d" % status))
                self.queue.save_attempts(e)
                self._waiting.append(e)
        else:
            for e in entries:
                self.queue.remove(e)
                reason = "the collector refused it: HTTP %d" % status
                self.warn("pyajs: %s %r was dropped: %s" % (e.type, e.id, reason))
                self.on_final(e, False, status, reason)
        self.flush()

    # -- page life ------------------------------------------------------------------------
    def page_hidden(self) -> None:
        """Send what is waiting (and what a page exit would cancel) with keepalive, in
        batches within the keepalive budget; the rest stays in the persisted queue."""
        if not self.platform.is_online():
            return
        now = self.platform.now_ms()
        # not-yet-due retries (backoff, Retry-After) wait in storage for the next page
        waiting = [e for e in self.queue.pending()
                   if (not e.in_flight or not e.keepalive) and e.due <= now]
        budget = KEEPALIVE_BUDGET - self.keepalive_bytes  # keepalive requests still open
        chunk, size = [], 0
        for entry in waiting:
            if entry.size + 200 > budget:
                break
            if size + entry.size > 16 * 1024 and chunk:
                self._send(chunk, keepalive=True, force_batch=True)
                chunk, size = [], 0
            chunk.append(entry)
            size += entry.size
            budget -= entry.size + 100
        if chunk:
            self._send(chunk, keepalive=True, force_batch=True)
