"""The conformance harness: drive pyajs and the real analytics-next through the same public
API, observe what a site owner can observe, normalise what legitimately varies, and diff.

A scenario is one function ``scenario(t)`` written against ``window.analytics`` and browser
storage; ``t`` is a ``Tab`` bound to one library. It returns nothing: it calls
``t.observe(label, events=n)`` at the moments worth comparing. The runner plays it once per
library, each in a fresh browser context, then compares the two lists of observations. pyajs
is played on each of its runtimes (``RUNTIMES``: Pyodide and MicroPython, picked with the
``runtime`` load option), each run compared with analytics-next's.

An observation holds:

- ``cookies``: name → decoded value, how it was written (``plain`` or ``quoted``), domain,
  path, expiry in days (``session`` for none), SameSite, Secure, HttpOnly;
- ``localStorage``: key → parsed JSON value, delivery bookkeeping left out (``DELIVERY_KEYS``;
  ``deliveryState`` says which library's bookkeeping is there);
- ``reads``: ``user().id()``, ``user().anonymousId()``, ``user().traits()``,
  ``group().id()``, ``group().traits()``, read *after* storage (reading is a call too: in
  analytics-next it creates the anonymous id and writes ``null`` ids back);
- ``events``: the events the collector received since the previous observation, sorted by
  content (delivery order is not part of the contract), ``messageId``/``timestamp`` reduced
  to their shape, each library's ``context.library`` and the page's path made neutral;
- ``ready``: whether ``analytics.ready`` fired; ``pageErrors``: uncaught errors since the
  previous observation; ``page``: whatever else the scenario read from the page.

Every UUID is replaced by ``<uuid1>``, ``<uuid2>``… in order of first appearance, so "the
same id as before" and "a new id" stay visible while the random values do not.
"""

import json
import re
import time
import urllib.request
from urllib.parse import unquote

from pyajs.version import LIBRARY_NAME, __version__

HOST = "shop.test"  # two labels: the cookie-domain probe runs as on a real site
NEXT_VERSION = "1.84.3"

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ABSENT = "<absent>"
ANY = object()  # an expected difference's value that is not checked

# Delivery bookkeeping in localStorage, not identity: analytics-next's persisted queues and
# pyajs's persisted events and tab heartbeats (README, "Delivery" and the differences table).
DELIVERY_KEYS = (("persisted-queue:v1:", "next"), ("pyajs:q:", "pyajs"), ("pyajs:tab:", "pyajs"))
# The fixed _metadata analytics-next sends with Segment.io as its only destination.
NEXT_METADATA = {"bundled": ["Segment.io"], "unbundled": [], "bundledIds": []}


class Lib:
    """One library under test: its page, its write key, how long it may take to boot, and
    the shape of what it stamps on every event."""

    def __init__(self, name, message_id_re, library, boot_timeout_ms):
        self.name = name
        self.page_path = "/conformance/%s.html" % name
        self.write_key = "conf-" + name
        self.message_id_re = re.compile(message_id_re)
        self.library = library
        self.boot_timeout_ms = boot_timeout_ms

    def __repr__(self):
        return self.name


NEXT = Lib("next", r"^ajs-next-\d{13}-" + UUID_RE.pattern + "$",
           {"name": "analytics.js", "version": "next-" + NEXT_VERSION}, 15_000)
PYAJS = Lib("pyajs", r"^pyajs-\d{13}-" + UUID_RE.pattern + "$",
            {"name": LIBRARY_NAME, "version": __version__}, 90_000)
LIBS = {"next": NEXT, "pyajs": PYAJS}
# pyajs's runtimes, as analytics.load(key, {runtime}) names them: "py" (Pyodide, the
# default) and "mpy" (MicroPython). Every scenario runs on each.
RUNTIMES = ("py", "mpy")
# The sites the suite runs on: "secure" (Chromium told that the site's http origin is a
# secure context, as every https site is: the whole suite) and "http" (plain http: a subset).
SITES = ("secure", "http")
# where the page fetches each runtime from (serve.py's /vendor/ routes)
RUNTIME_PATHS = {"py": "/vendor/pyodide/", "mpy": "/vendor/micropython/"}

INIT_SCRIPT = """
  // Kept before the page runs, so a scenario that breaks localStorage can still be observed.
  window.__conformanceLS = window.localStorage;
"""


class Collector:
    """The dev collector's event list, per write key, read over loopback."""

    def __init__(self, server):
        self.server = server

    def events(self, write_key):
        url = "%s/api/events?writeKey=%s&limit=1000" % (self.server.base, write_key)
        with urllib.request.urlopen(url) as resp:
            return [row["event"] for row in json.load(resp)["events"]]


class Tab:
    """One visitor's browser (a fresh context) showing the page of one library. Whenever
    the page is pyajs's, ``load`` starts it on ``runtime``."""

    def __init__(self, lib, browser, server, runtime="py"):
        self.lib = lib
        self.current = lib
        self.runtime = runtime
        self.loaded_pyajs = False  # whether pyajs ran in this tab (then on ``runtime``)
        self.server = server
        self.collector = Collector(server)
        self.origin = "http://%s:%d" % (HOST, server.port)
        self.context = browser.new_context()
        self.context.add_init_script(INIT_SCRIPT)
        self.page = self.context.new_page()
        self.requests = []
        self.page_errors = []
        self.console = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.seen = {}  # write key → events already observed
        self.observations = []
        self.ready = False
        self.secure = set()  # isSecureContext of each page opened

    # -- driving ------------------------------------------------------------------------
    def open(self, query="", lib=None):
        """Navigate to ``lib``'s page (default: the library under test); ``query`` is
        appended as is (``?ajs_uid=…`` or ``#/route?…``)."""
        self.current = LIBS[lib] if lib else self.lib
        self.ready = False
        self.page.goto(self.origin + self.current.page_path + query)
        self.secure.add(self.page.evaluate("isSecureContext"))

    def load(self, before="", options=None, after="", wait=True, options_js=None):
        """``before`` (buffered calls), ``analytics.load(key, options)``, ``after``, a
        buffered ``ready`` callback; then wait for it (``wait=False``: don't).
        ``options_js``: the options as a JavaScript expression (for what JSON cannot say).
        pyajs's options get the tab's runtime, unless they name one."""
        defaults = {}
        if self.current is PYAJS:
            defaults["runtime"] = self.runtime
            self.loaded_pyajs = True
        self.page.evaluate(
            "([key, opts, defaults]) => { %s; analytics.load(key, "
            "Object.assign(defaults, %s)); %s; "
            "analytics.ready(() => { window.__ready = true; }); }" % (
                before, options_js or "opts", after),
            [self.current.write_key, options or {}, defaults])
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout_ms=None):
        try:
            self.page.wait_for_function(
                "window.__ready === true", timeout=timeout_ms or self.current.boot_timeout_ms)
        except Exception as exc:
            raise AssertionError("%s did not become ready (%s); console: %s; errors: %s" % (
                self.describe(), str(exc).splitlines()[0], self.console[-15:],
                self.page_errors)) from None
        self.ready = True

    def ready_or_failed(self, failure):
        """Wait until ``ready`` fires (True) or the console shows ``failure`` (False)."""
        deadline = time.monotonic() + self.current.boot_timeout_ms / 1000
        while time.monotonic() < deadline:
            if self.call("() => window.__ready === true"):
                self.ready = True
                return True
            if any(failure in text for _, text in self.console):
                return False
            self.page.wait_for_timeout(25)  # lets Playwright deliver console events
        raise AssertionError("%s neither became ready nor reported %r" % (
            self.describe(), failure))

    def reload(self, before="", options=None, after=""):
        self.ready = False
        self.page.reload()
        self.load(before, options, after)

    def call(self, js, arg=None):
        """Evaluate ``js`` (an expression or a function) in the page; JSON-able result."""
        return self.page.evaluate(js, arg)

    def clear_cookies(self):
        self.context.clear_cookies()

    def clear_local_storage(self):
        self.call("() => window.__conformanceLS.clear()")

    # -- observing ----------------------------------------------------------------------
    def observe(self, label, events=0, timeout=10.0, page=ABSENT):
        """Record an observation; wait for ``events`` new events first (whatever arrived
        after ``timeout`` is taken, so a library that sends fewer shows up as a difference).
        ``page`` is anything else the scenario read from the page (JSON-able)."""
        key = self.current.write_key
        new = self._wait_events(key, events, timeout)
        errors, self.page_errors = self.page_errors, []
        local, delivery = self._local_storage()
        obs = {"ready": self.ready, "pageErrors": len(errors), "page": page,
               "cookies": self._cookies(), "localStorage": local, "deliveryState": delivery,
               "reads": self._reads() if self.ready else ABSENT,
               "events": [_event(e, LIBS_BY_KEY.get(e.get("writeKey"), self.current),
                                 self.current) for e in new]}
        self.observations.append((label, obs))
        return obs

    def _wait_events(self, key, count, timeout):
        seen = self.seen.get(key, 0)
        deadline = time.monotonic() + timeout
        while True:
            events = self.collector.events(key)
            if len(events) - seen >= count or time.monotonic() > deadline:
                break
            time.sleep(0.03)
        self.seen[key] = len(events)
        return events[seen:]

    def _cookies(self):
        # the page's writes reach the browser's store asynchronously; a read of
        # document.cookie is answered only once the earlier writes are stored
        try:
            self.page.evaluate("void document.cookie")
        except Exception:  # noqa: BLE001 - closed or navigating: nothing of its own to flush
            pass
        now = time.time()
        out = {}
        for c in self.context.cookies():
            expires = c.get("expires", -1)
            # the library's own cookies are on the site's domain; another of the same name
            # (host-only, set by the page) is listed beside it
            name = c["name"] if c["domain"] == "." + HOST else "%s@%s" % (c["name"], c["domain"])
            out[name] = {
                "value": decode_cookie(c["value"]),
                "written": "quoted" if unquote(c["value"]).startswith('"') else "plain",
                "domain": c["domain"], "path": c["path"],
                "expires": "session" if expires is None or expires < 0
                else round((expires - now) / 86400),
                "sameSite": c.get("sameSite"), "secure": c.get("secure"),
                "httpOnly": c.get("httpOnly"),
            }
        return out

    def _local_storage(self):
        """(key → parsed value, the libraries whose delivery bookkeeping is there)."""
        items = self.call("() => Object.fromEntries(Object.entries(window.__conformanceLS))")
        out, delivery = {}, set()
        for key, text in items.items():
            owner = [o for prefix, o in DELIVERY_KEYS if key.startswith(prefix)]
            if owner:
                delivery.add(owner[0])
                continue
            try:
                out[key] = json.loads(text)
            except ValueError:
                out[key] = "<not JSON> " + text
        return out, sorted(delivery)

    def warnings(self):
        """The console warnings so far (a scenario slices what it needs)."""
        return [text for kind, text in self.console if kind == "warning"]

    def _reads(self):
        return self.call("""() => {
            const u = analytics.user(), g = analytics.group();
            return {userId: u.id(), anonymousId: u.anonymousId(), traits: u.traits(),
                    groupId: g.id(), groupTraits: g.traits()};
        }""")

    def close(self):
        self.context.close()

    def foreign_requests(self):
        """Requests the page tried to send anywhere but the site's origin (the browser's
        resolver refuses them, so none can leave the machine)."""
        return [u for u in self.requests
                if not (u.startswith(self.origin + "/") or u.startswith("data:"))]

    def describe(self):
        """The library on the page now, with its runtime: ``next``, ``pyajs[mpy]``."""
        if self.current is PYAJS:
            return "%s[%s]" % (self.current, self.runtime)
        return str(self.current)

    def runtimes_fetched(self):
        """The pyajs runtimes the page fetched (from the requests): ``{"mpy"}`` once pyajs
        ran on MicroPython."""
        return {rt for rt, path in RUNTIME_PATHS.items()
                if any(u.startswith(self.origin + path) for u in self.requests)}

    def per_lib(self, **choices):
        """The value for the library under test: ``t.per_lib(next=…, pyajs=…)``."""
        return choices[self.lib.name]


LIBS_BY_KEY = {lib.write_key: lib for lib in LIBS.values()}


def decode_cookie(raw):
    """A cookie value as both libraries read it: one pair of quotes off, percent-decoded,
    then JSON if it parses, else the text."""
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    text = unquote(raw)
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return text  # a number is read as an id: the text
    return value


NORMALISED_SEEN = set()  # which per-library stamps the normaliser has checked and removed
# (scenario, runtime, site) → "identical" | "deliberately different" | "open" (the summary)
RESULTS = {}


def _event(event, sender, page_lib):
    """An event reduced to what must match: per-library stamps checked and made neutral."""
    e = json.loads(json.dumps(event))
    if "sentAt" in e and isinstance(e["sentAt"], str) and ISO_RE.match(e["sentAt"]):
        del e["sentAt"]  # the time of the attempt: shape only
    if sender is NEXT and e.get("_metadata") == NEXT_METADATA:
        del e["_metadata"]  # deliberate: README, "_metadata on events"
        NORMALISED_SEEN.add("_metadata")
    if e.get("writeKey") == sender.write_key:
        e["writeKey"] = "<writeKey>"
    if isinstance(e.get("messageId"), str) and sender.message_id_re.match(e["messageId"]):
        e["messageId"] = "<messageId>"  # deliberate: README, "messageId"
        NORMALISED_SEEN.add("messageId")
    if isinstance(e.get("timestamp"), str) and ISO_RE.match(e["timestamp"]):
        e["timestamp"] = "<iso>"
    ctx = e.get("context")
    if isinstance(ctx, dict):
        if ctx.get("library") == sender.library:
            ctx["library"] = "<library>"  # deliberate: README, "context.library"
            NORMALISED_SEEN.add("library")
        if isinstance(ctx.get("userAgent"), str) and "HeadlessChrome" in ctx["userAgent"]:
            ctx["userAgent"] = "<userAgent>"
    return _neutral_page(e, page_lib)


def _neutral_page(value, lib):
    if isinstance(value, dict):
        return {k: _neutral_page(v, lib) for k, v in value.items()}
    if isinstance(value, list):
        return [_neutral_page(v, lib) for v in value]
    if isinstance(value, str) and lib.page_path in value:
        value = value.replace(lib.page_path, "<page>")
        return re.sub(r"^http://%s:\d+" % re.escape(HOST), "<origin>", value)
    return value


# -- normalising a whole run ---------------------------------------------------------------
def _sort_key(event):
    masked = UUID_RE.sub("<uuid>", json.dumps(event, sort_keys=True))
    return (event.get("type") or "", str(event.get("event") or event.get("name") or ""), masked)


def normalise(observations):
    """Label UUIDs by first appearance (storage, then reads, then events in content order),
    over the whole run, so both libraries' runs use the same labels for the same roles."""
    labels = {}

    def label(match):
        text = match.group(0)
        if text not in labels:
            labels[text] = "<uuid%d>" % (len(labels) + 1)
        return labels[text]

    def walk(value):
        if isinstance(value, dict):
            return {walk(k): walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            return UUID_RE.sub(label, value)
        return value

    out = []
    for name, obs in observations:
        obs = dict(obs)
        obs["events"] = sorted(obs["events"], key=_sort_key)
        ordered = {}
        for part in ("ready", "pageErrors", "page", "cookies", "localStorage",
                     "deliveryState", "reads", "events"):
            ordered[part] = walk(obs[part])
        out.append((name, ordered))
    return out


# -- diffing -------------------------------------------------------------------------------
class Diff:
    """One place where the two libraries' observations differ."""

    def __init__(self, path, next_value, pyajs_value):
        self.path = path
        self.next = next_value
        self.pyajs = pyajs_value

    def __repr__(self):
        return "%s: next=%s pyajs=%s" % (self.path, _short(self.next), _short(self.pyajs))


def _short(value):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def diff(next_obs, pyajs_obs):
    """The differences between two normalised runs, as ``Diff`` entries with paths like
    ``reload.cookies.ajs_user_id.value`` or ``first.events[1].userId``."""
    out = []
    a = dict(next_obs)
    b = dict(pyajs_obs)
    for label in _keys(a, b):
        _diff(a.get(label, ABSENT), b.get(label, ABSENT), label, out)
    return out


def _keys(a, b):
    keys = list(a)
    keys += [k for k in b if k not in a]
    return keys


def _diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in _keys(a, b):
            _diff(a.get(key, ABSENT), b.get(key, ABSENT), "%s.%s" % (path, key), out)
    elif isinstance(a, list) and isinstance(b, list) and path.endswith("events"):
        for i in range(max(len(a), len(b))):
            _diff(a[i] if i < len(a) else ABSENT, b[i] if i < len(b) else ABSENT,
                  "%s[%d]" % (path, i), out)
    elif a != b:
        out.append(Diff(path, a, b))


# -- deliberate differences ----------------------------------------------------------------
class Deliberate:
    """A difference the README's table lists: ``row`` is the table's first cell."""

    def __init__(self, row):
        self.row = row

    def at(self, path, next=ANY, pyajs=ANY):  # noqa: A002 - the libraries' names
        """Expect a difference at ``path`` (``*`` matches anything); ``next``/``pyajs``, when
        given, are the exact values (or a predicate) each library shows there."""
        return Expected(self, path, next, pyajs)

    def __repr__(self):
        return "Deliberate(%r)" % self.row


class Expected:
    def __init__(self, deliberate, path, next_value, pyajs_value):
        self.deliberate = deliberate
        self.path = path
        self.pattern = re.compile(".*".join(re.escape(p) for p in path.split("*")))
        self.next = next_value
        self.pyajs = pyajs_value

    def matches(self, d):
        return (self.pattern.fullmatch(d.path) is not None and _value_ok(self.next, d.next)
                and _value_ok(self.pyajs, d.pyajs))

    def __repr__(self):
        return "%s at %s" % (self.deliberate.row, self.path)


def _value_ok(want, got):
    if want is ANY:
        return True
    if callable(want):
        return want(got)
    return want == got


def classify(diffs, expected, always):
    """(unexplained diffs, expected entries that matched nothing, matched rows). ``always``
    are expectations that may match in any scenario (they need not occur)."""
    unexplained = []
    used = set()
    rows = set()
    for d in diffs:
        hit = None
        for i, e in enumerate(expected):
            if e.matches(d):
                hit = e
                used.add(i)
                break
        if hit is None:
            hit = next((e for e in always if e.matches(d)), None)
        if hit is None:
            unexplained.append(d)
        else:
            rows.add(hit.deliberate.row)
    unmatched = [e for i, e in enumerate(expected) if i not in used]
    return unexplained, unmatched, rows
