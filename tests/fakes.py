"""CPython stand-ins for the browser's cookie jar and localStorage, used by unit tests."""

from pyajs.clock import parse_iso_ms


class MemoryCookieJar:
    """A ``document.cookie`` stand-in that applies domain, expiry and deletion rules.

    It accepts a ``domain`` only when it is the host itself or a parent of it that is not in
    ``public_suffixes``, refuses ``secure`` cookies on http, and can be ``disabled`` —
    enough to exercise the probe and the store logic under CPython.
    """

    def __init__(self, hostname: str = "localhost", secure_context: bool = False,
                 public_suffixes=("test", "com", "co.uk", "uk", "org", "net"),
                 clock=None):
        self.hostname = hostname
        self.secure_context = secure_context
        self.public_suffixes = set(public_suffixes)
        self.disabled = False
        self.cookies = {}  # name -> (value, attrs dict)
        self.writes = []
        self._clock = clock or (lambda: 0)

    def read(self) -> str:
        if self.disabled:
            return ""
        now = self._clock()
        live = [(n, v) for n, (v, a) in self.cookies.items() if a.get("expires_ms", now + 1) > now]
        return "; ".join(n + "=" + v for n, v in live)

    def write(self, text: str) -> None:
        self.writes.append(text)
        if self.disabled:
            return
        first, _, rest = text.partition(";")
        name, _, value = first.partition("=")
        attrs = {}
        for piece in rest.split(";"):
            key, _, val = piece.strip().partition("=")
            if key:
                attrs[key.lower()] = val
        domain = attrs.get("domain", "").lstrip(".")
        if domain:
            host = self.hostname
            inside = host == domain or host.endswith("." + domain)
            if domain in self.public_suffixes or not inside:
                return
        if "secure" in attrs and not self.secure_context:
            return
        if "expires" in attrs:
            attrs["expires_ms"] = _parse_http_date(attrs["expires"])
        if attrs.get("expires_ms") is not None and attrs["expires_ms"] <= self._clock():
            self.cookies.pop(name.strip(), None)
            return
        self.cookies[name.strip()] = (value.strip(), attrs)


def _parse_http_date(text: str):
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    try:
        _, d, mon, y, hms, _ = text.split(" ")
        iso = "%s-%02d-%sT%s.000Z" % (y, months.index(mon) + 1, d, hms)
    except ValueError:
        return None
    return parse_iso_ms(iso)


class MemoryLocalStorage:
    """``localStorage`` with its three methods; ``broken`` makes every call throw, ``full``
    makes ``setItem`` throw like a ``QuotaExceededError``."""

    def __init__(self):
        self.data = {}
        self.broken = False
        self.full = False

    def getItem(self, key):  # noqa: N802 - the DOM's name
        if self.broken:
            raise RuntimeError("SecurityError: localStorage is not available")
        return self.data.get(key)

    def setItem(self, key, value):  # noqa: N802
        if self.broken:
            raise RuntimeError("SecurityError: localStorage is not available")
        if self.full:
            raise RuntimeError("QuotaExceededError: the quota has been exceeded")
        self.data[key] = str(value)

    def removeItem(self, key):  # noqa: N802
        if self.broken:
            raise RuntimeError("SecurityError: localStorage is not available")
        self.data.pop(key, None)

    def keys(self):
        if self.broken:
            raise RuntimeError("SecurityError: localStorage is not available")
        return list(self.data)


DEFAULT_SNAPSHOT = {
    "u": "https://www.example.test/docs/install?utm_source=news#top",
    "p": "/docs/install",
    "s": "?utm_source=news",
    "t": "Install",
    "r": "https://ref.example.org/",
    "c": None,
}


class FakeRequest:
    """One ``send`` the code under test made; ``respond`` settles it like ``fetch`` would."""

    def __init__(self, url, headers, body, done):
        import json

        self.url = url
        self.headers = dict(headers)
        self.text = body
        self.body = json.loads(body)
        self._done = done
        self.settled = False

    def respond(self, status=200, retry_after=None, error=None):
        assert not self.settled, "request answered twice"
        self.settled = True
        self._done(status, retry_after, error)


class FakeTimer:
    def __init__(self, fn, ms):
        self.fn = fn
        self.ms = ms
        self.fired = False

    def fire(self):
        assert not self.fired, "timer fired twice"
        self.fired = True
        self.fn()


class FakePlatform:
    """What ``Analytics`` needs from the page (the interface ``browser.BrowserPlatform``
    implements), backed by ``MemoryCookieJar`` / ``MemoryLocalStorage``.

    Requests stay open until the test answers them (``requests[i].respond(...)`` or
    ``respond_all``); timers run only when the test fires them. Pass the ``jar`` and
    ``local_storage`` of an earlier platform to model a page reload on the same browser.
    """

    def __init__(self, hostname="www.example.test", https=False, cookie_options=None, jar=None,
                 local_storage=None, now_ms=1700000000000, snapshot=None,
                 default_api_host="api.segment.io/v1", environment=None, options=None):
        from pyajs.storage import build_identity_storages

        self.now = now_ms
        self.hostname = hostname
        self.https = https
        self.warnings = []
        self.requests = []
        self.timers = []
        self.snapshot = dict(snapshot or DEFAULT_SNAPSHOT)
        self.default_api_host = default_api_host
        self._environment = dict(environment or {
            "userAgent": "FakeBrowser/1.0", "locale": "en-US", "timezone": "UTC"})
        self.jar = jar if jar is not None else MemoryCookieJar(
            hostname, secure_context=https, clock=self.now_ms)
        self.local_storage = (local_storage if local_storage is not None
                              else MemoryLocalStorage())
        self.online = True
        self.hold_soon = False
        self.soon_calls = []
        # ``options``: the load options the stores come from (storage, user, group …)
        options = dict(options or {})
        options["cookie"] = cookie_options
        found = build_identity_storages(self.jar, self.local_storage, hostname, https,
                                        options, self.warn, self.now_ms)
        self.cookie_attrs = found["cookie_attrs"]
        self.id_storage, self.group_id_storage = found["user_ids"], found["group_ids"]
        self.user_traits_storage = found["user_traits"]
        self.group_traits_storage = found["group_traits"]
        self.queue_shelf = found["queue_shelf"]

    # -- the platform interface -----------------------------------------------------------
    def warn(self, message):
        self.warnings.append(message)

    def now_ms(self):
        return self.now

    def environment(self):
        return dict(self._environment)

    def page_snapshot(self):
        return dict(self.snapshot)

    def send(self, url, headers, body, done, keepalive=False):
        request = FakeRequest(url, headers, body.text(), done)
        request.keepalive = keepalive
        self.requests.append(request)

    def is_online(self):
        return self.online

    def soon(self, fn):
        """After the current task: run at once here, unless the test holds them."""
        if self.hold_soon:
            self.soon_calls.append(fn)
        else:
            fn()

    def set_timeout(self, fn, ms):
        timer = FakeTimer(fn, ms)
        timer.at = self.now + ms  # when a browser would run it (``advance`` uses it)
        self.timers.append(timer)

    # -- test helpers -----------------------------------------------------------------------
    def pending(self):
        return [r for r in self.requests if not r.settled]

    def respond_all(self, status=200, retry_after=None, error=None):
        for request in self.pending():
            request.respond(status, retry_after, error)

    def fire_timers(self):
        for timer in [t for t in self.timers if not t.fired]:
            timer.fire()

    def advance(self, ms):
        """Move the clock ``ms`` on, running the timers that come due on the way in the
        order of their due times (timers they set run too, when due before the end)."""
        end = self.now + ms
        while True:
            due = [t for t in self.timers if not t.fired and t.at <= end]
            if not due:
                break
            timer = min(due, key=lambda t: t.at)
            self.now = max(self.now, timer.at)
            timer.fire()
        self.now = end

    def keepalive_bytes(self):
        """UTF-8 bytes of the keepalive requests still open (the browser's 64 KB budget)."""
        return sum(len(r.text.encode("utf-8")) for r in self.pending() if r.keepalive)

    def bodies(self):
        return [r.body for r in self.requests]

    def cookie(self, name):
        """The raw cookie value the page would see, or None."""
        from pyajs.codec import parse_cookie_header

        return parse_cookie_header(self.jar.read()).get(name)

    def stored(self, name):
        """The raw localStorage text, or None."""
        return self.local_storage.data.get(name)
