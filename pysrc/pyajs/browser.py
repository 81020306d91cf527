"""The browser edge: cookies, localStorage, fetch, timers and ``window.analytics``.

Everything here is a thin adapter: the rules live in the pure modules. Values cross the
JavaScript boundary as JSON text (see ``web/pyajs.js``), which keeps the adapter small and
the same for every Python runtime; functions cross as proxies. Pyodide and MicroPython
differ only in where the proxy helpers live, in ``os.urandom`` (MicroPython has none: ids
draw from ``crypto.getRandomValues``), and in large JavaScript integers (MicroPython
truncates them to 32 bits, so times cross as text).

    analytics = start()   # done once, by ``import pyajs`` in the page
"""

import js

from . import ids
from .analytics import Analytics
from .codec import dumps
from .compat import MICROPYTHON, json, os, time
from .storage import build_identity_storages, confirm_cookies
from .version import __version__

if MICROPYTHON:  # PyScript's mpy: proxies are kept until collected
    from jsffi import create_proxy

    create_once_callable = create_proxy
else:  # Pyodide
    from pyodide.ffi import create_once_callable, create_proxy

_FN = "__pyajs_fn__"
_PLUGIN = "__pyajs_plugin__"
_keep = []  # proxies handed to JavaScript for the page's lifetime


def warn(message: str) -> None:
    js.console.warn(message)


class BrowserError(Exception):
    """A browser API refused (storage full or disabled, a callback that threw …)."""


def _checked(value, err: str):
    """The helper's answer, or BrowserError for its error marker (see ``web/pyajs.js``)."""
    if isinstance(value, str) and value.startswith(err):
        raise BrowserError(value[len(err):])
    return value


class DocumentCookie:
    """``document.cookie`` as a jar (``read`` / ``write``). Reading it costs the browser
    tens of microseconds, so the loader keeps the text for the rest of the current task
    (until pyajs writes a cookie): a loop of calls reads it once. A call from
    ``window.analytics`` brings the text along (``given``), so during that call reading
    costs no crossing into JavaScript at all."""

    def __init__(self, helpers, enabled=None):
        self.helpers = helpers
        self.err = helpers.ERR
        self.enabled = enabled  # navigator.cookieEnabled when readable: see build_identity_storages
        self._text = None  # the last text JavaScript handed over
        self._current = False  # whether it is still the page's cookie text

    def given(self, cookie) -> None:
        """At the start of a call: the text (str), True for the one handed over last, or
        False when JavaScript could not read it."""
        if isinstance(cookie, str):
            self._text, self._current = cookie, True
        else:
            self._current = cookie is True and self._text is not None

    def done(self) -> None:
        """At the end of a call: the page may change the cookie before the next one."""
        self._current = False

    def read(self) -> str:
        if self._current:
            return self._text
        text = _checked(self.helpers.cookie(), self.err)
        self._text = text
        return text

    def write(self, text: str) -> None:
        self._current = False
        _checked(self.helpers.setCookie(text), self.err)


class BrowserLocalStorage:
    """``localStorage`` through the loader's guarded helpers: a throwing call becomes a
    Python ``BrowserError`` on both runtimes, and a missing key reads as None."""

    def __init__(self, helpers):
        self.helpers = helpers
        self.err = helpers.ERR

    def getItem(self, key):  # noqa: N802 - the DOM's names, so tests can use a dict fake
        value = _checked(self.helpers.lsGet(key), self.err)
        return value if isinstance(value, str) else None

    def setItem(self, key, value):  # noqa: N802
        _checked(self.helpers.lsSet(key, value), self.err)

    def removeItem(self, key):  # noqa: N802
        _checked(self.helpers.lsRemove(key), self.err)

    def keys(self) -> list:
        return json.loads(_checked(self.helpers.lsKeys(), self.err))

    def put_many(self, pairs: list) -> None:
        """Many ``setItem`` calls in one crossing into JavaScript."""
        self.put_wrapped("", "", pairs)

    def put_wrapped(self, head: str, tail: str, pairs: list) -> None:
        """``setItem(key, head + value + tail)`` for each pair, in one crossing; the texts
        are put together in JavaScript. Keys and values go as one text joined by U+0001
        (see ``_join``): serialising a thousand queued events once more as a JSON list costs
        MicroPython seconds (its strings grow 16 bytes at a time), a join costs one
        allocation."""
        flat = [text for pair in pairs for text in pair]
        joined = _join(flat)
        if joined is None:
            _checked(self.helpers.putMany(dumps([(k, head + v + tail) for k, v in pairs])),
                     self.err)
        else:
            _checked(self.helpers.putJoined(joined, head, tail), self.err)

    def remove_many(self, keys: list) -> None:
        """``removeItem`` for each key, in one crossing."""
        joined = _join(keys)
        if joined is None:
            for key in keys:
                self.removeItem(key)
        else:
            _checked(self.helpers.removeJoined(joined), self.err)


def _join(texts: list):
    """``texts`` joined by U+0001 for the loader to split, or None when one holds it. A
    control character JSON text never holds raw; not NUL, which ends a MicroPython string
    on its way to JavaScript."""
    joined = "\x01".join(texts)
    return joined if joined.count("\x01") == len(texts) - 1 else None


class BrowserPlatform:
    """What ``Analytics`` needs from the page, implemented with the browser's APIs."""

    def __init__(self, helpers, api_host: str, cookie_options, options=None,
                 cookies_enabled=None):
        self.helpers = helpers
        self.default_api_host = api_host
        self.warn = warn
        location = js.location
        # a sandboxed frame or disabled storage throws on access: then no localStorage
        has_local = helpers.hasLocalStorage() is True
        local = BrowserLocalStorage(helpers) if has_local else None
        self.cookie_jar = DocumentCookie(helpers, cookies_enabled)
        options = dict(options) if isinstance(options, dict) else {}
        options["cookie"] = cookie_options
        # the stores the load options ask for (storage, disableClientPersistence, user,
        # group): see storage.build_identity_storages
        found = build_identity_storages(
            self.cookie_jar, local, location.hostname, location.protocol == "https:",
            options, warn, self.now_ms)
        self.cookie_attrs = found["cookie_attrs"]
        self.cookie_store = found["cookie_store"]
        self.id_storage = found["user_ids"]
        self.group_id_storage = found["group_ids"]
        self.queue_shelf = found["queue_shelf"]
        self.user_traits_storage = found["user_traits"]
        self.group_traits_storage = found["group_traits"]
        self._requests = {}  # id → done callback of a request in flight
        self._request_id = 0
        self._on_response = create_proxy(self._response)  # one proxy for every request
        self._headers_json = {}

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def environment(self) -> dict:
        """userAgent, locale, timezone: read in JavaScript (one crossing, not five)."""
        return json.loads(self.helpers.environment())

    def page_snapshot(self) -> dict:
        return json.loads(self.helpers.snapshot())

    def send(self, url: str, headers: dict, body, done, keepalive: bool = False) -> None:
        """POST ``body`` (a ``delivery.Body``, joined in JavaScript); ``done(status,
        retry_after, error)`` once it is answered or failed."""
        self._request_id += 1
        rid = self._request_id
        self._requests[rid] = done
        key = headers.get("X-Retry-Count")
        headers_json = self._headers_json.get(key)
        if headers_json is None:
            headers_json = self._headers_json[key] = dumps(headers)
        self.helpers.send(url, headers_json, body.head, body.core, body.tail, body.cut,
                          keepalive, rid, self._on_response)

    def _response(self, rid, status, retry_after, error) -> None:
        done = self._requests.pop(int(rid), None)
        if done is not None:
            done(int(status), retry_after, error)

    def soon(self, fn) -> None:
        """Run ``fn`` once the calling code's task is done (a microtask)."""
        js.queueMicrotask(create_once_callable(fn))

    def is_online(self) -> bool:
        return bool(js.navigator.onLine)

    def set_timeout(self, fn, ms: int) -> None:
        js.setTimeout(create_once_callable(fn), ms)

    def log(self, message: str) -> None:
        """A debug line (``analytics.debug(true)``)."""
        js.console.log(message)

    def run_coroutine(self, awaitable, done) -> None:
        """Run a plugin's ``async`` method on the runtime's event loop; ``done(value,
        error)`` at its end (both runtimes run asyncio tasks on the browser's own loop)."""
        import asyncio

        async def runner():
            try:
                value = await awaitable
            except Exception as exc:  # noqa: BLE001 - the plugin's failure, reported
                done(None, exc)
                return
            done(value, None)

        (getattr(asyncio, "ensure_future", None) or asyncio.create_task)(runner())


class JsFunction:
    """A JavaScript function as a Python callable: arguments go across as JSON."""

    def __init__(self, helpers, fn):
        self.helpers = helpers
        self.fn = fn

    def __call__(self, *args):
        _checked(self.helpers.callWithJson(self.fn, dumps(list(args))), self.helpers.ERR)


class JsSourceMiddleware:
    """A page's ``addSourceMiddleware(fn)`` as the Python middleware ``(event, next)``:
    ``fn`` gets Segment's ``{payload: {obj}, integrations, next}``."""

    def __init__(self, helpers, fn):
        self.helpers = helpers
        self.fn = fn
        name = getattr(fn, "name", None)  # the plugin is "Source Middleware <fn.name>"
        self.__name__ = name if isinstance(name, str) else ""

    def __call__(self, event: dict, next_) -> None:
        def resume(payload_json):
            if payload_json != "null":  # next(null) drops the event
                next_(json.loads(payload_json))

        _checked(self.helpers.runSourceMiddleware(self.fn, dumps(event),
                                                  create_once_callable(resume)),
                 self.helpers.ERR)


class JsDestinationMiddleware:
    """A page's ``addDestinationMiddleware(name, fn)`` as the Python middleware ``(event,
    next)``: ``fn`` gets Segment's ``{payload: {obj}, integration, next}``; ``next(null)``
    (or never calling ``next``) drops the event for that destination."""

    def __init__(self, helpers, fn, name):
        self.helpers = helpers
        self.fn = fn
        self.name = name

    def __call__(self, event: dict, next_) -> None:
        def resume(payload_json):
            next_(None if payload_json == "null" else json.loads(payload_json))

        _checked(self.helpers.runDestinationMiddleware(self.fn, dumps(event), self.name,
                                                       create_once_callable(resume)),
                 self.helpers.ERR)


class JsPlugin:
    """A page's Analytics.js plugin object, kept in JavaScript (``web/pyajs.js`` calls its
    methods with a Context and awaits what they return), behind the interface
    ``plugins.Pipeline`` calls. Python sees the loader's description of it:
    ``{"__pyajs_plugin__": index, name, type, version, methods, categories}``."""

    def __init__(self, helpers, described: dict):
        self.helpers = helpers
        self.index = described[_PLUGIN]
        self.name = described.get("name")
        self.type = described.get("type")
        self.version = described.get("version")
        methods = described.get("methods")
        self.methods = methods if isinstance(methods, list) else []
        categories = described.get("categories")
        self.categories = tuple(c for c in categories if isinstance(c, str)) \
            if isinstance(categories, list) else ()

    def has(self, method: str) -> bool:
        return method in self.methods

    def call(self, method: str, args, done) -> None:
        """``load`` / ``unload``: JavaScript gives them a Context and ``window.analytics``."""
        def answer(error):
            done(None, error or None)

        try:
            _checked(self.helpers.callPlugin(self.index, method, create_once_callable(answer)),
                     self.helpers.ERR)
        except BrowserError as exc:
            done(None, exc)

    def run(self, kind: str, ctx, done) -> None:
        from .plugins import Context

        def answer(error, event_json):
            if error:
                done(None, error)
            else:
                done(Context(json.loads(event_json)), None)

        try:
            _checked(self.helpers.runPlugin(self.index, kind, dumps(ctx.event),
                                            create_once_callable(answer)), self.helpers.ERR)
        except BrowserError as exc:
            done(None, exc)


def _js_arguments(method: str, args: list, helpers) -> list:
    """The JavaScript plugins and middleware among a call's arguments, adapted for Python."""
    if method == "addSourceMiddleware" and args and isinstance(args[0], JsFunction):
        return [JsSourceMiddleware(helpers, args[0].fn)]
    if method == "register":
        return [JsPlugin(helpers, a) if isinstance(a, dict) and _PLUGIN in a else a
                for a in args]
    if method == "addDestinationMiddleware" and args:
        return args[:1] + [JsDestinationMiddleware(helpers, a.fn, args[0])
                           if isinstance(a, JsFunction) else a for a in args[1:]]
    return args


def _with_functions(value, helpers, fns):
    """Replace ``{"__pyajs_fn__": i}`` placeholders with callables, in place."""
    if isinstance(value, dict):
        if len(value) == 1 and _FN in value:
            return JsFunction(helpers, fns[value[_FN]])
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                value[k] = _with_functions(v, helpers, fns)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, (dict, list)):
                value[i] = _with_functions(v, helpers, fns)
    return value


_ADAPTED = ("addSourceMiddleware", "register", "addDestinationMiddleware")


def _snapshot(snap):
    if not isinstance(snap, dict):
        return None
    snap.pop("__t", None)
    snap.pop("ts", None)
    return snap


def start() -> Analytics:
    """Create the page's Analytics from the snippet's ``load()``; a moment later (the next
    task) it goes live (``_go_live``)."""
    helpers = js.window.__pyajs
    if not hasattr(os, "urandom"):  # MicroPython: ids from crypto.getRandomValues in JS
        ids.set_uuid_source(helpers.randomUuids)
    if helpers.installed is True:  # e.g. MicroPython booted directly, then a PyScript script
        raise ImportError("pyajs already runs on this page in another Python interpreter; for "
                          "page code to share it, load with {runtime: 'mpy', pyscript: true}")
    config = json.loads(helpers.loadConfig())
    options = config.get("options") or {}
    if not isinstance(options, dict):
        warn("pyajs: analytics.load(): options must be an object; ignored")
        options = {}
    write_key = config.get("writeKey")
    if not isinstance(write_key, str) or not write_key:
        warn("pyajs: analytics.load() was called without a writeKey; the collector will "
             "refuse the events")
        write_key = "(missing)"
    segment = (options.get("integrations") or {}).get("Segment.io")
    if isinstance(segment, dict):
        options.setdefault("apiHost", segment.get("apiHost"))
        options.setdefault("protocol", segment.get("protocol"))
    platform = BrowserPlatform(helpers, config.get("apiHost"), options.get("cookie"), options,
                               config.get("cookieEnabled"))
    analytics = Analytics(write_key, platform, options)
    live = []

    def go_live():
        if not live:
            live.append(True)
            analytics.before_first_call(None)
            _go_live(analytics, helpers, options, config.get("pageKey"))

    # The rest runs in a task of its own: compiling and constructing pyajs already take most
    # of a frame, and no main-thread task of pyajs's should pass 50 ms. Until then the
    # snippet's queue keeps taking calls. A call from the page's own Python brings it
    # forward: the calls buffered before it were made first, so they are replayed first.
    analytics.before_first_call(go_live)
    # scheduler.yield() where the browser has it: the input and rendering waiting go first,
    # other tasks after (a timer would queue behind them all)
    helpers.nextTask().then(create_once_callable(lambda *_: go_live()))
    return analytics


def _go_live(analytics: Analytics, helpers, options: dict, page_key=None) -> None:
    """Install the live ``window.analytics``, replay the calls other pages left before they
    were ready and this page's buffered calls, run ``ready`` callbacks, then listen to the
    page's life and start delivery."""
    from .early import EARLY, take_leftovers
    from .jscalls import (  # compiled here, in this task, not in the import's
        JsApi,
        args_in_order,
        calls_in_order,
        result_json,
    )
    from .querystring import query_calls

    api = JsApi(analytics)
    fns = js.Array.new()
    queue_json = helpers.takeQueue(fns)
    queue = calls_in_order(json.loads(queue_json), queue_json)

    def dispatch(method, args, snap, at):
        if method in _ADAPTED:
            args = _js_arguments(method, args, helpers)
        return api.call(method, args, snap, int(float(at)) if at else None)

    jar = analytics.platform.cookie_jar
    last_snap = [None]

    def core(method, args_json, call_fns, snap_json, cookie, at):
        # see makeCall in web/pyajs.js for what each argument holds
        if snap_json:
            last_snap[0] = json.loads(snap_json)
        snap = last_snap[0] if snap_json is not None else None
        args = args_in_order(method, json.loads(args_json), args_json)
        if call_fns is not None:
            args = _with_functions(args, helpers, call_fns)
        jar.given(cookie)
        try:
            result = dispatch(method, args, snap, at)
        finally:
            jar.done()
        return result_json(method, result, dumps)

    proxy = create_proxy(core)
    _keep.append(proxy)
    helpers.install(proxy, __version__)
    analytics.initialized = True

    # a buffered debug(true) first: the replay of the other calls is what it shows
    for call in queue:
        if call[0] == "debug":
            dispatch("debug", call[1], None, None)

    # Calls of pages that closed, crashed or were left before they were ready (the snippet's
    # copies in localStorage, see early.py): older than this page's, so replayed first.
    shelf = analytics.platform.queue_shelf
    taken = []
    if shelf is not None:
        try:
            leftovers, taken = take_leftovers(shelf.keys(), shelf.getItem,
                                              analytics.write_key, page_key, warn)
        except BrowserError:
            leftovers = []
        for method, args, snap in leftovers:
            at = snap.get("ts") if snap is not None else None
            dispatch(method, args, _snapshot(snap), at)

    calls = _with_functions(queue, helpers, fns)
    ordered = [c for m in EARLY for c in calls if c[0] == m]
    for method, args, snap, at in ordered:
        dispatch(method, args, _snapshot(snap), at)
    # the URL's ajs_ parameters: after the early calls, before the other buffered ones
    for method, args in query_calls(js.location.search, js.location.hash,
                                    options.get("useQueryString"), warn):
        dispatch(method, args, None, None)
    for method, args, snap, at in [c for c in calls if c[0] not in EARLY]:
        dispatch(method, args, _snapshot(snap), at)
    if taken:  # the copies go once their events are in the persisted queue
        if analytics._queue is not None:
            analytics.queue.persist()
        try:
            shelf.remove_many(taken)
        except BrowserError:
            pass
    # ready callbacks first: what follows is bookkeeping a callback need not wait for (its
    # events are sent from a microtask, after it). mark_ready never raises.
    analytics.mark_ready()
    listener = create_proxy(analytics.page_event)
    _keep.append(listener)
    helpers.listen(listener)
    # In a task of their own, after this page's first events are on their way (sent from a
    # microtask, before any task): whether the browser kept the cookies it was trusted with
    # (storage.confirm_cookies), the heartbeat and the events earlier pages left.
    platform = analytics.platform

    def settle():
        confirm_cookies(platform.cookie_store, (platform.id_storage, platform.group_id_storage),
                        warn)
        analytics.start_delivery()

    platform.set_timeout(settle, 0)
