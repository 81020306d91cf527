"""The Analytics object: Segment's API with Pythonic names, on the pure core.

Everything the browser provides comes in through a ``Platform`` (see ``platform.py``), so the
same object runs under CPython in the tests and in the page under Pyodide::

    from pyajs import analytics

    analytics.identify("user-42", {"plan": "pro"})
    analytics.track("Signed Up", {"source": "ad"})
    print(analytics.user().anonymous_id())

Calls from Python are checked strictly: a wrong type raises ``TypeError`` with a message
that names the argument. Calls from JavaScript come through ``jscalls``, which accepts
Segment's flexible argument forms first.
"""

from .emitter import Emitter
from .events import EventFactory
from .identity import ANONYMOUS_ID_KEY, Group, User, entity_keys, migrate_legacy_cookies
from .surrogates import scrub_values, utf8, warning
from .version import LIBRARY_NAME, __version__

_UNSET = object()
CALLBACK_TIMEOUT_MS = 1000


def _countdown(count: int, done):
    """A callback to call once per finished task: after the ``count``-th it calls ``done()``
    (at once when there are none). ``done`` may be None."""
    left = [count]

    def one_finished():
        left[0] -= 1
        if left[0] == 0 and done is not None:
            done()

    if count == 0 and done is not None:
        done()
    return one_finished


def _need_str(method: str, name: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("%s: %s must be a non-empty str, got %s %r" % (
            method, name, type(value).__name__, value))
    return value


def _opt_dict(method: str, name: str, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError("%s: %s must be a dict or None, got %s" % (
            method, name, type(value).__name__))
    return value


def _opt_str(method: str, name: str, value):
    if value is not None and not isinstance(value, str):
        raise TypeError("%s: %s must be a str or None, got %s %r" % (
            method, name, type(value).__name__, value))
    return value


def _callback(method: str, fn):
    if fn is not None and not callable(fn):
        raise TypeError("%s: callback must be callable, got %s" % (method, type(fn).__name__))
    return fn


class _NotAsked:
    """The consent state while the site asks for none (no ``consent`` option, no
    ``consent()`` call): nothing is gated, as in Analytics.js. consent.py, the real state
    and its gate, is loaded the first time the site speaks of consent."""

    enabled = False
    granted = True

    def allows(self, categories) -> bool:
        return True

    def preferences(self) -> dict:
        return {}


_NOT_ASKED = _NotAsked()


def _environment(platform) -> dict:
    """What every event's context says of the browser and library, read at the first event."""
    env = platform.environment()
    env["library"] = {"name": LIBRARY_NAME, "version": __version__}
    return env


class Analytics:
    """One write key's analytics: identity, event building, delivery and listeners."""

    def __init__(self, write_key: str, platform, options: dict | None = None):
        _need_str("Analytics()", "write_key", write_key)
        options = dict(options or {})
        self.write_key = write_key
        self.options = options
        self.platform = platform
        self.warn = platform.warn
        self.emitter = Emitter(self.warn)
        self._user = User(platform.id_storage, platform.user_traits_storage,
                          *entity_keys(options, "user", self.warn))
        self._group = Group(getattr(platform, "group_id_storage", platform.id_storage),
                            platform.group_traits_storage,
                            *entity_keys(options, "group", self.warn))
        self.factory = EventFactory(write_key, lambda: _environment(platform),
                                    options.get("integrations"), clock=platform.now_ms)
        self._pending = {}  # messageId → (callback, emit args) of this page's events
        self._queue = self._dispatcher = None  # built at first use: see _delivery
        self.initialized = False
        self._ready = False
        self._ready_callbacks = []
        self._pipeline = None  # plugins.Pipeline, made by the first plugin or middleware
        self._segment = _segment_registered(options.get("integrations"))
        self.debug_enabled = False
        self._log = None  # _debug_line while debug(True): one console line per step
        self._before_first_call = None  # see before_first_call
        # the visitor's consent (consent.py): until pyajs's category is granted, identity
        # stays in memory and events wait (the stores are held before anything is written)
        self.consent_state = _NOT_ASKED
        self._gate = None
        if options.get("consent") is not None:
            self._ask_consent(options.get("consent"))
        migrate_legacy_cookies(platform.id_storage, self._user)
        # the anonymous id exists (made unless stored, and written) before any event
        self._user.anonymous_id()

    def _ask_consent(self, option) -> None:
        from .consent import Consent, Gate

        self.consent_state = Consent(option, self.warn)
        self._gate = Gate(self, self.consent_state, ANONYMOUS_ID_KEY)
        if self._pipeline is not None:
            self._pipeline.allows = self.consent_state.allows

    def before_first_call(self, fn) -> None:
        """``fn()`` runs once, before the first call that makes an event or reads or changes
        identity (the browser binding replays there the calls the page made before pyajs was
        ready: a page's own Python must not get ahead of them)."""
        self._before_first_call = fn

    def _first_call(self) -> None:
        fn, self._before_first_call = self._before_first_call, None
        fn()

    # -- identity -----------------------------------------------------------------------
    def user(self) -> User:
        """The visitor: ``id()``, ``anonymous_id()``, ``traits()``."""
        if self._before_first_call is not None:
            self._first_call()
        return self._user

    def set_anonymous_id(self, anonymous_id: str | None = None) -> str | None:
        """Set (and persist) the anonymous id; with no argument, return it."""
        if self._before_first_call is not None:
            self._first_call()
        if anonymous_id is None:
            return self._user.anonymous_id()
        _need_str("set_anonymous_id()", "anonymous_id", anonymous_id)
        (anonymous_id,) = self._well_formed("setAnonymousId", ("anonymousId", anonymous_id))
        return self._user.anonymous_id(anonymous_id)

    def _well_formed(self, what: str, *named) -> list:
        """The values of what is about to be stored (ids, traits) with any lone surrogate
        replaced, and a warning naming them (surrogates.py; events get the same rule when
        queued, where it costs nothing unless one is there)."""
        values, found = scrub_values(named)
        if found:
            self.warn(warning(what, found))
        return values

    def reset(self) -> None:
        """Forget the user and group: ids and traits leave every store."""
        if self._before_first_call is not None:
            self._first_call()
        self._user.reset()
        self._group.reset()
        self.emitter.emit("reset")

    # -- events -------------------------------------------------------------------------
    def track(self, event: str, properties: dict | None = None, options: dict | None = None,
              callback=None, *, _snapshot=None, _at=None) -> dict:
        """Record that the visitor did ``event``."""
        if self._before_first_call is not None:
            self._first_call()
        _need_str("track()", "event", event)
        properties = _opt_dict("track()", "properties", properties)
        options = _opt_dict("track()", "options", options)
        return self._send("track", {"event": event, "properties": properties}, options,
                          _callback("track()", callback), _snapshot, _at,
                          emit_args=(event, properties, options))

    def page(self, category: str | None = None, name: str | None = None,
             properties: dict | None = None, options: dict | None = None, callback=None,
             *, _snapshot=None, _at=None) -> dict:
        """Record a page view (``page(name)`` or ``page(category, name)``)."""
        return self._page_like("page", category, name, properties, options, callback,
                               _snapshot, _at)

    def screen(self, category: str | None = None, name: str | None = None,
               properties: dict | None = None, options: dict | None = None, callback=None,
               *, _snapshot=None, _at=None) -> dict:
        """Record a screen view (for app-like pages)."""
        return self._page_like("screen", category, name, properties, options, callback,
                               _snapshot, _at)

    def _page_like(self, kind, category, name, properties, options, callback, snapshot, at):
        if self._before_first_call is not None:
            self._first_call()
        method = kind + "()"
        _opt_str(method, "category", category)
        _opt_str(method, "name", name)
        properties = _opt_dict(method, "properties", properties)
        options = _opt_dict(method, "options", options)
        fields = {}
        if category is not None:
            fields["category"] = category
        if name is not None:
            fields["name"] = name
        fields["properties"] = dict(properties)  # screen: category/name top-level only
        return self._send(kind, fields, options, _callback(method, callback), snapshot, at,
                          emit_args=(category, name, properties, options))

    def identify(self, user_id: str | None = None, traits: dict | None = None,
                 options: dict | None = None, callback=None, *, _snapshot=None,
                 _at=None) -> dict:
        """Say who the visitor is; traits are merged for the same user, replaced for a new one."""
        if self._before_first_call is not None:
            self._first_call()
        _opt_str("identify()", "user_id", user_id)
        traits = _opt_dict("identify()", "traits", traits)
        options = _opt_dict("identify()", "options", options)
        callback = _callback("identify()", callback)
        user_id, traits = self._well_formed("identify", ("userId", user_id), ("traits", traits))
        self._user.identify(user_id or self._user.id(), traits)  # no id: the current one
        return self._send("identify", {"traits": self._user.traits()}, options, callback,
                          _snapshot, _at, emit_args=(user_id, traits, options))

    def group(self, group_id=_UNSET, traits: dict | None = None, options: dict | None = None,
              callback=None, *, _snapshot=None, _at=None):
        """With no argument, the Group; otherwise associate the visitor with a group."""
        if self._before_first_call is not None:
            self._first_call()
        if group_id is _UNSET:
            if traits is None and options is None and callback is None:
                return self._group
            group_id = None  # group(traits=...): the current group
        _opt_str("group()", "group_id", group_id)
        traits = _opt_dict("group()", "traits", traits)
        options = _opt_dict("group()", "options", options)
        callback = _callback("group()", callback)
        group_id, traits = self._well_formed("group", ("groupId", group_id), ("traits", traits))
        self._group.identify(group_id or self._group.id(), traits)
        gid = self._group.id()
        if gid is None:
            raise ValueError("group(): no group id given and none stored")
        return self._send("group", {"groupId": gid, "traits": self._group.traits()}, options,
                          callback, _snapshot, _at, emit_args=(group_id, traits, options))

    def alias(self, to: str, previous_id: str | None = None, options: dict | None = None,
              callback=None, *, _snapshot=None, _at=None) -> dict:
        """Link ``previous_id`` (default: the current user id, else the anonymous id) to
        the new id ``to``."""
        if self._before_first_call is not None:
            self._first_call()
        _need_str("alias()", "to", to)
        _opt_str("alias()", "previous_id", previous_id)
        options = _opt_dict("alias()", "options", options)
        callback = _callback("alias()", callback)
        previous = previous_id or self._user.id() or self._user.anonymous_id()
        return self._send("alias", {"previousId": previous}, options, callback, _snapshot, _at,
                          emit_args=(to, previous_id, options), user_id=to)

    def _persist_option_anonymous_id(self, options: dict) -> None:
        anon = options.get("anonymousId")
        if anon:
            if not isinstance(anon, str):
                raise TypeError("options.anonymousId must be a str, got %s" % (
                    type(anon).__name__))
            if utf8(anon) is None:  # the event's copy is warned about when it is queued
                (anon,), _found = scrub_values([("anonymousId", anon)])
            self._user.anonymous_id(anon)

    def _send(self, kind, fields, options, callback, snapshot, at, emit_args, user_id=_UNSET):
        self._persist_option_anonymous_id(options)
        if snapshot is not None:
            # the anonymous id the snippet gave this call when it sent it before pyajs was
            # ready (one it had to make, after a reset): the collector has it, pyajs keeps it
            made = snapshot.get("a")
            if isinstance(made, str) and made and made != self._user.anonymous_id():
                self._user.anonymous_id(made)
        if user_id is _UNSET:
            user_id = self._user.id()
        event = self.factory.build(kind, fields, options,
                                   snapshot or self.platform.page_snapshot(),
                                   user_id, self._user.anonymous_id(), at)
        if self.consent_state.enabled:  # Segment's shape, with every event
            event["context"]["consent"] = self.consent_state.context()
        acked = False
        if snapshot is not None:
            # the snippet's copy of a call made before ready: ``d`` 2 when the collector
            # acknowledged it already (sent when the page was hidden); ``x`` when another
            # page made it (delivered only: this page's callbacks and listeners are not its)
            acked = snapshot.get("d") == 2
            if snapshot.get("x"):
                callback = emit_args = None
        if self._log is not None and snapshot is not None:
            self._log(event, "buffered before pyajs was ready; replayed")
        pipeline = self._pipeline
        if pipeline is None:
            integrations = event["integrations"]
            self._deliver(event, callback, emit_args, acked, self._segment and not (
                integrations and integrations.get("Segment.io") is False))
        else:
            pipeline.run(event, lambda final, to_segment: self._deliver(
                final, callback, emit_args, acked, self._segment and to_segment))
        return event

    # -- middleware and delivery --------------------------------------------------------
    def add_source_middleware(self, fn) -> None:
        """``fn(payload, next)``: call ``next(payload)`` to go on (a changed dict is sent),
        don't call it to drop the event. It runs as a ``before`` plugin, in the order of
        registration among them."""
        if not callable(fn):
            raise TypeError("add_source_middleware(): middleware must be callable")
        from .plugins import MiddlewarePlugin

        self._plugins().register(MiddlewarePlugin(fn, self.warn))

    def add_destination_middleware(self, name: str, *fns) -> None:
        """``fn(payload, next)`` for the events of the destination plugin ``name`` only
        (``"*"``: every destination plugin), each on its own copy of the event; not calling
        ``next`` drops the event for that destination. pyajs's own delivery
        (``Segment.io``) takes none, as in Analytics.js: use source middleware."""
        _need_str("add_destination_middleware()", "name", name)
        for fn in fns:
            if not callable(fn):
                raise TypeError("add_destination_middleware(): middleware must be callable, "
                                "got %s" % type(fn).__name__)
        if name.lower() == "segment.io":
            self.warn("pyajs: addDestinationMiddleware('Segment.io'): pyajs's own delivery "
                      "takes no destination middleware; use addSourceMiddleware")
            return
        self._plugins().add_destination_middleware(name, list(fns))

    def register(self, *plugins) -> None:
        """Add plugins: objects with ``name``, ``type`` (``before``, ``enrichment``,
        ``destination``, ``after`` or ``utility``) and any of ``load(ctx, analytics)``,
        ``is_loaded()``, ``unload(ctx, analytics)``, ``track(ctx)``, ``page``, ``identify``,
        ``group``, ``alias``, ``screen`` (each may be ``async``). A per-event method may
        change ``ctx.event`` and returns ``ctx`` (or nothing). Events wait for the ``load``
        of the plugins that change them."""
        from .plugins import drive, python_plugin

        adapted = [python_plugin(p) for p in plugins]  # TypeError before any is added
        spawn = getattr(self.platform, "run_coroutine", None) or drive
        for plugin in adapted:
            plugin.spawn = spawn
        self.register_plugins(adapted)

    def register_plugins(self, plugins, done=None) -> None:
        """Plugins already adapted (``plugins.PythonPlugin``, or the browser binding's
        JavaScript ones); ``done()`` once every ``load`` has finished."""
        pipeline = self._plugins()
        one_loaded = _countdown(len(plugins), done)
        for plugin in plugins:
            pipeline.register(plugin, one_loaded)

    def deregister(self, *names, done=None) -> None:
        """Unload and remove the plugins called ``names``."""
        for name in names:
            _need_str("deregister()", "name", name)
        pipeline = self._plugins()
        one_done = _countdown(len(names), done)
        for name in names:
            pipeline.deregister(name, one_done)

    def plugins(self) -> list:
        """The names of the registered plugins, in order."""
        return self._pipeline.names() if self._pipeline is not None else []

    def _plugins(self):
        if self._pipeline is None:
            from .plugins import Pipeline

            pipeline = Pipeline(self.warn, self._log)
            pipeline.analytics = self
            consent = getattr(self, "consent_state", None)
            if consent is not None:
                pipeline.allows = consent.allows
            pipeline.on_failure = self._plugin_failed
            self._pipeline = pipeline
        return self._pipeline

    def _plugin_failed(self, event, name, reason) -> None:
        if self._log is not None:
            self._log(event, "dropped: before plugin %r failed (%s)" % (name, reason))
        self.emitter.emit("error", {"code": "plugin_failure", "plugin": name,
                                    "reason": reason, "event": event})

    @property
    def queue(self):
        """The persisted queue of this page's events (``queue.PersistedQueue``)."""
        return self._delivery_parts()[0]

    @property
    def dispatcher(self):
        """What sends the queue's events (``dispatcher.Dispatcher``)."""
        return self._delivery_parts()[1]

    def _delivery_parts(self) -> tuple:
        """(queue, dispatcher), built by ``_delivery`` the first time they are needed."""
        if self._queue is None:
            self._queue, self._dispatcher = self._delivery(self.options)
        return self._queue, self._dispatcher

    def _delivery(self, options: dict) -> tuple:
        """The persisted queue and its dispatcher, from the load options (Segment's
        ``deliveryStrategy`` and ``httpConfig``, directly or under
        ``integrations['Segment.io']``, and pyajs's ``queue: {maxEvents, maxBytes}``).
        Built when first needed, which in the page is after ``ready`` unless an event comes
        first: their modules are a tenth of what pyajs imports, and no ``ready`` callback
        waits for them."""
        from .delivery import Endpoint
        from .dispatcher import Dispatcher
        from .ids import uuid4
        from .queue import PersistedQueue

        platform = self.platform
        segment = (options.get("integrations") or {}).get("Segment.io")
        segment = segment if isinstance(segment, dict) else {}
        strategy = options.get("deliveryStrategy") or segment.get("deliveryStrategy") or {}
        strategy = strategy if isinstance(strategy, dict) else {}
        config = strategy.get("config") if isinstance(strategy.get("config"), dict) else {}
        http = options.get("httpConfig") or segment.get("httpConfig") or {}
        backoff = http.get("backoffConfig") if isinstance(http, dict) else None
        backoff = backoff if isinstance(backoff, dict) else {}
        limits = options.get("queue") if isinstance(options.get("queue"), dict) else {}
        shelf = platform.queue_shelf if self._gate is None else self._gate.shelf()
        queue = PersistedQueue(shelf, self.write_key, uuid4(), platform.now_ms,
                               self.warn, _number(limits.get("maxEvents"), 1000),
                               _number(limits.get("maxBytes"), 1000000),
                               on_drop=lambda e: self._settled(e, False, 0, "the queue was full"))
        endpoint = Endpoint(options.get("apiHost") or platform.default_api_host,
                            options.get("protocol") or "https")
        dispatcher = Dispatcher(
            queue, endpoint, self.write_key, platform, self.warn, self._settled,
            strategy="batching" if strategy.get("strategy") == "batching" else "standard",
            batch_size=_number(config.get("size"), 10),
            batch_timeout_ms=_number(config.get("timeout"), 5000),
            max_attempts=_number(backoff.get("maxRetryCount"), 10),
            base_ms=_number(backoff.get("baseBackoffInterval"), 0.5) * 1000,
            max_ms=_number(backoff.get("maxBackoffInterval"), 60) * 1000,
            jitter=_number(backoff.get("jitterPercent"), 10) / 100)
        if self._log is not None:
            dispatcher.debug = self._debug_entry
        return queue, dispatcher

    def start_delivery(self, claim_wait_ms: int = 100) -> None:
        """Begin the page's heartbeat and take over the events earlier pages left behind
        (after ``claim_wait_ms``, so a page claiming at the same time cannot send them too)."""
        from .queue import HEARTBEAT_MS

        self.queue.heartbeat()
        claimed = self.queue.claim_orphans()
        if claimed:
            self.platform.set_timeout(lambda: self.dispatcher.resume(
                self.queue.adopt(claimed)), claim_wait_ms)
        self.platform.set_timeout(self._beat, HEARTBEAT_MS)

    def _beat(self) -> None:
        from .queue import HEARTBEAT_MS

        self.queue.heartbeat()
        claimed = self.queue.claim_orphans()  # a crashed tab's events, once it is stale
        if claimed:
            self.platform.set_timeout(lambda: self.dispatcher.resume(
                self.queue.adopt(claimed)), 100)
        self.platform.set_timeout(self._beat, HEARTBEAT_MS)

    def page_event(self, name: str) -> None:
        """``pagehide``, ``hidden``, ``visible``, ``online`` or ``pageshow`` from the page."""
        if name in ("pagehide", "hidden"):
            self.dispatcher.page_hidden()
            if name == "pagehide":
                self.queue.release()
        elif name in ("visible", "pageshow"):
            self.queue.heartbeat()
            self.dispatcher.flush()
        elif name == "online":
            self.dispatcher.flush()

    def _settled(self, entry, ok: bool, status: int, reason) -> None:
        callback, emit_args = self._pending.pop(entry.id, (None, None))
        if self._log is not None:
            self._log(entry.event, "acknowledged (HTTP %d)" % status if ok else
                      "dropped: %s" % (reason or "HTTP %d" % status))
        if ok:
            if emit_args is not None:
                self.emitter.emit(entry.type, *emit_args)
        else:
            self.emitter.emit("error", {"code": "delivery_failure", "reason": reason or status,
                                        "event": entry.event})
        if callback is not None:
            callback()

    def _deliver(self, event, callback, emit_args, acked=False, to_segment=True):
        """Queue ``event`` (persisted first); the callback runs once it is delivered, or
        after one second at most, whichever comes first. An event the collector
        acknowledged already (``acked``), or that its ``integrations`` keep from pyajs's
        own delivery (not ``to_segment``), is settled at once instead."""
        state = {"called": False}

        def finish(*_):
            if state["called"] or callback is None:
                return
            state["called"] = True
            try:
                callback(event)
            except Exception as exc:
                self.warn("pyajs: a %s callback raised %s: %s" % (
                    event["type"], type(exc).__name__, exc))

        if to_segment and not acked and not self.consent_state.granted and self._gate.wait(
                event, callback, emit_args, acked):
            return
        if acked or not to_segment:
            if not to_segment and self._log is not None:
                self._log(event, "not sent: integrations['Segment.io'] is false")
            if emit_args is not None:
                self.emitter.emit(event["type"], *emit_args)
            finish()
            return
        queue, dispatcher = self._delivery_parts()  # one lookup on this hot path, not two
        entry = queue.add(event, defer=True)  # written by the dispatcher before sending
        if entry is None:  # over the size limit: reported by the queue
            self.emitter.emit("error", {"code": "delivery_failure", "reason": "too large",
                                        "event": event})
            finish()
            return
        self._pending[entry.id] = (finish if callback is not None else None, emit_args)
        if self._log is not None:
            self._log(event, "queued (%d waiting)" % len(queue))
        if callback is not None:
            self.platform.set_timeout(finish, CALLBACK_TIMEOUT_MS)
        dispatcher.add(entry)

    # -- lifecycle ----------------------------------------------------------------------
    def on(self, name: str, fn) -> None:
        _need_str("on()", "name", name)
        self.emitter.on(name, _callback("on()", fn))

    def once(self, name: str, fn) -> None:
        _need_str("once()", "name", name)
        self.emitter.once(name, _callback("once()", fn))

    def off(self, name: str, fn=None) -> None:
        self.emitter.off(name, fn)

    def ready(self, callback=None) -> None:
        """Run ``callback(analytics)`` once pyajs is ready; if it already is, soon after
        this call returns (never inside it), as Analytics.js does."""
        _callback("ready()", callback)
        if callback is None:
            return
        if self._ready:
            self.platform.soon(lambda: self._run_ready(callback))
        else:
            self._ready_callbacks.append(callback)

    def mark_ready(self) -> None:
        self._ready = True
        callbacks, self._ready_callbacks = self._ready_callbacks, []
        for cb in callbacks:
            self._run_ready(cb)

    def _run_ready(self, callback) -> None:
        try:
            callback(self)
        except Exception as exc:
            self.warn("pyajs: a ready callback raised %s: %s" % (type(exc).__name__, exc))

    def consent(self, categories=None) -> dict:
        """The visitor's consent preferences (category id → bool); with ``categories``,
        merge those answers first. Granting pyajs's category persists the identity kept in
        memory and sends the events that waited; withdrawing it removes pyajs's cookies,
        localStorage entries and queue. A change sends ``Segment Consent Preference
        Updated``."""
        if self._before_first_call is not None:
            self._first_call()
        if categories is not None:
            if self._gate is None:  # consent was not configured at load: as if it had been
                self._ask_consent(None)
            self.consent_state.update(categories)
        return self.consent_state.preferences()

    def debug(self, enabled: bool = True) -> None:
        """Print one console line per step of each event (replayed, each plugin, queued,
        sent, acknowledged, retried, dropped) while ``enabled``."""
        self.debug_enabled = bool(enabled)
        self._log = self._debug_line if enabled else None
        if self._pipeline is not None:
            self._pipeline.log = self._log
        if self._dispatcher is not None:
            self._dispatcher.debug = self._debug_entry if enabled else None

    def _debug_line(self, event, text: str) -> None:
        name = event.get("event") or event.get("name") if isinstance(event, dict) else None
        kind = event.get("type") if isinstance(event, dict) else "event"
        mid = event.get("messageId") if isinstance(event, dict) else None
        line = "pyajs debug: %s%s%s: %s" % (
            kind, ' "%s"' % name if isinstance(name, str) else "",
            " " + mid[-12:] if isinstance(mid, str) else "", text)
        getattr(self.platform, "log", print)(line)

    def _debug_entry(self, entry, text: str) -> None:
        self._debug_line(entry.event, text)


def _segment_registered(integrations) -> bool:
    """Whether pyajs's own delivery takes part at all, by the load-time ``integrations`` (as
    Analytics.js registers its Segment.io plugin): not with ``"Segment.io": false``, nor with
    ``All: false`` unless ``Segment.io`` is truthy."""
    if not isinstance(integrations, dict):
        return True
    segment = integrations.get("Segment.io")
    if segment is False:
        return False
    return not (integrations.get("All") is False and not segment)


def _number(value, default):
    """A positive number option, or ``default`` (bad values are ignored)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return default
    return value
