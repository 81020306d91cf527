"""Plugins as Analytics.js runs them: ``before``, ``enrichment``, ``destination``, ``after``
and ``utility``, with source and destination middleware.

Each event goes through the ``before`` plugins in order (one that raises stops the event:
it is reported and not delivered), then the ``enrichment`` plugins in order (a failure is
reported and the rest goes on), then the destinations the event's ``integrations`` allow:
pyajs's own delivery (``Segment.io``) and each ``destination`` plugin with its own copy of
the event and its own middleware (a failure is reported, the others go on), then the
``after`` plugins. ``utility`` plugins are loaded and never called per event.

A plugin's per-event method gets a ``Context`` whose ``event`` it may change, and returns it
(or nothing: the context goes on); it may be ``async``. The pipeline is written with
callbacks, so an event whose plugins are all synchronous is delivered before the call that
made it returns, and nothing here needs an event loop: awaitables go to ``spawn``.

    >>> class Stamp:
    ...     name, type = "Stamp", "enrichment"
    ...     def track(self, ctx):
    ...         ctx.event["properties"]["stamped"] = True
    >>> p = Pipeline(print); p.register(python_plugin(Stamp()), None)
    >>> p.run({"type": "track", "properties": {}, "integrations": {}},
    ...       lambda event, to_segment: print(event["properties"], to_segment))
    {'stamped': True} True
"""

TYPES = ("before", "enrichment", "destination", "after", "utility")
EVENT_TYPES = ("track", "page", "identify", "group", "alias", "screen")
SEGMENT = "Segment.io"
RUNNING, WAITING, ANSWERED = 0, 1, 2


class Context:
    """What a plugin's per-event method receives: ``event`` (the event dict, which it may
    change or replace)."""

    def __init__(self, event):
        self.event = event

    def update_event(self, path: str, value) -> "Context":
        """Set ``value`` at a dotted ``path`` of the event (``"traits.custom"``), making the
        dicts on the way."""
        keys = path.split(".")
        target = self.event
        for key in keys[:-1]:
            inner = target.get(key)
            if not isinstance(inner, dict):
                inner = target[key] = {}
            target = inner
        target[keys[-1]] = value
        return self

    def __repr__(self):
        return "Context(%r)" % (self.event,)


def is_awaitable(value) -> bool:
    """A coroutine (a generator on MicroPython) or anything with ``__await__``."""
    if value is None or isinstance(value, (Context, dict, str, int, float, bool)):
        return False
    return hasattr(value, "__await__") or (hasattr(value, "send") and hasattr(value, "throw"))


def drive(awaitable, done) -> None:
    """Run ``awaitable`` to its end without an event loop: for code that awaits nothing that
    suspends (the pure core under test). The browser binding gives an asyncio one."""
    step = awaitable.__await__() if hasattr(awaitable, "__await__") else awaitable
    try:
        step.send(None)
    except StopIteration as stop:
        done(stop.value if stop.args else None, None)
        return
    except Exception as exc:  # noqa: BLE001 - the plugin's own failure, reported by the caller
        done(None, exc)
        return
    done(None, RuntimeError("it awaited something, and no event loop runs here"))


def copy_event(value):
    """A deep copy of JSON-like data (dicts, lists, scalars)."""
    if isinstance(value, dict):
        return {k: copy_event(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_event(v) for v in value]
    return value


def describe_error(exc) -> str:
    return "%s: %s" % (type(exc).__name__, exc) if isinstance(exc, BaseException) else str(exc)


class PythonPlugin:
    """A Python plugin object (``name``, ``type``, ``version``, ``load``, ``is_loaded``,
    ``unload``, ``track`` …) behind the interface the pipeline calls, where every method
    answers through ``done(result, error)``."""

    def __init__(self, obj):
        self.obj = obj
        self.name = obj.name
        self.type = obj.type
        self.version = getattr(obj, "version", None)
        self.categories = _categories(obj)
        self.spawn = drive

    def has(self, method: str) -> bool:
        return callable(getattr(self.obj, method, None))

    def call(self, method: str, args: tuple, done) -> None:
        try:
            result = getattr(self.obj, method)(*args)
        except Exception as exc:  # noqa: BLE001 - the plugin's failure, reported by the caller
            done(None, exc)
            return
        if is_awaitable(result):
            self.spawn(result, done)
        else:
            done(result, None)

    def run(self, kind: str, ctx: Context, done) -> None:
        self.call(kind, (ctx,), done)

    def is_loaded(self) -> bool:
        fn = getattr(self.obj, "is_loaded", None)
        try:
            return bool(fn()) if callable(fn) else True
        except Exception:  # noqa: BLE001 - a plugin that cannot say is not loaded
            return False


def _categories(obj):
    """The consent categories a destination needs (``consent_categories``), or ()."""
    found = getattr(obj, "consent_categories", None)
    if isinstance(found, str):
        return (found,)
    return tuple(c for c in found if isinstance(c, str)) if found else ()


def python_plugin(obj) -> PythonPlugin:
    """``obj`` as a plugin, or TypeError naming what is wrong with it."""
    shown = type(obj).__name__
    if isinstance(obj, (dict, str, int, float, bool, list, tuple)) or obj is None or \
            isinstance(obj, type):
        raise TypeError("register(): a plugin must be an object with name and type "
                        "attributes (an instance of a plugin class), got %s" % shown)
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError("register(): the %s plugin needs a name (a non-empty str), got %r"
                        % (shown, name))
    kind = getattr(obj, "type", None)
    if kind not in TYPES:
        raise TypeError("register(): plugin %r has type %r; it must be one of %s"
                        % (name, kind, ", ".join(TYPES)))
    for method in EVENT_TYPES + ("load", "unload", "is_loaded"):
        value = getattr(obj, method, None)
        if value is not None and not callable(value):
            raise TypeError("register(): plugin %r: %s must be a method, got %s"
                            % (name, method, type(value).__name__))
    return PythonPlugin(obj)


class MiddlewarePlugin:
    """Source middleware ``fn(payload, next)`` as a ``before`` plugin (as Analytics.js wraps
    it): ``next(payload)`` goes on with ``payload`` (or the event, unchanged, with no
    argument); not calling ``next`` drops the event. A middleware that raises is reported and
    the event goes on (unchanged, unless it called ``next`` first)."""

    type = "before"
    version = None
    categories = ()

    def __init__(self, fn, warn):
        self.fn = fn
        self.warn = warn
        self.name = "Source Middleware %s" % (getattr(fn, "__name__", "") or "")

    def has(self, method: str) -> bool:
        return method in EVENT_TYPES

    def is_loaded(self) -> bool:
        return True

    def run(self, kind: str, ctx: Context, done) -> None:
        called = []

        def next_(payload=None):
            if called:  # a second next() must not send the event twice
                return
            called.append(True)
            if payload is not None:
                ctx.event = payload
            done(ctx, None)

        try:
            self.fn(ctx.event, next_)
        except Exception as exc:  # noqa: BLE001 - reported, the event goes on
            self.warn("pyajs: source middleware raised %s: %s; the event goes on%s" % (
                type(exc).__name__, exc, "" if called else " unchanged"))
            next_()


def apply_middleware(fns, event, done, warn, index=0) -> None:
    """Destination middleware ``fn(payload, next)`` in order over ``event``: ``done(event)``
    with the result, or ``done(None)`` when one dropped it (``next(None)`` from JavaScript,
    or not calling ``next``). A middleware that raises is reported and passed over."""
    if index >= len(fns):
        done(event)
        return
    called = []

    def next_(payload=event):
        if called:
            return
        called.append(True)
        if payload is None:
            done(None)
        else:
            apply_middleware(fns, payload, done, warn, index + 1)

    try:
        fns[index](event, next_)
    except Exception as exc:  # noqa: BLE001 - reported, the event goes on
        warn("pyajs: destination middleware raised %s: %s" % (type(exc).__name__, exc))
        if not called:
            next_(event)


def segment_allowed(integrations) -> bool:
    """Whether pyajs's own delivery takes an event with these ``integrations``: only an
    explicit ``"Segment.io": false`` stops it (``All: false`` does not apply to it)."""
    return integrations.get(SEGMENT) is not False if integrations else True


def destination_allowed(name: str, integrations) -> bool:
    """An explicit entry for ``name`` wins; otherwise ``All: false`` disables it."""
    if not integrations:
        return True
    value = integrations.get(name)
    if value is None:
        value = integrations.get("All")
    return value is not False


class Pipeline:
    """The registered plugins and the run of each event through them."""

    def __init__(self, warn, log=None):
        self.warn = warn
        self.log = log  # log(event, text): one debug line, or None when debugging is off
        self.plugins = []  # in registration order
        self.destination_middleware = {}  # lower-case destination name -> [fn]
        self.allows = None  # consent: allows(categories) -> bool, for destinations
        self.on_failure = None  # (event, plugin name, error) when a before plugin raises
        self.analytics = None  # what load(ctx, analytics) gets
        self._loading = 0  # loads of non-destination plugins still under way
        self._held = []  # events that wait for them, in call order
        self._split = None  # (before, enrichment, destination, after), rebuilt on a change

    def _by_type(self) -> tuple:
        if self._split is None:
            plugins = self.plugins
            self._split = tuple([p for p in plugins if p.type == kind]
                                for kind in ("before", "enrichment", "destination", "after"))
        return self._split

    # -- registration -------------------------------------------------------------------
    def names(self) -> list:
        return [p.name for p in self.plugins]

    def register(self, plugin, done=None) -> None:
        """Add ``plugin`` (it takes part at once) and load it; ``done()`` when loaded or
        failed. Events wait for the loads of the plugins that change them (not for
        destinations'); a failed load removes the plugin, with a warning."""
        self.plugins.append(plugin)
        self._split = None
        waits = plugin.type != "destination"
        if waits:
            self._loading += 1

        def loaded(_result, error):
            if error is not None:
                self.warn("pyajs: plugin %r failed to load (%s); it was removed" % (
                    plugin.name, describe_error(error)))
                self.plugins = [p for p in self.plugins if p is not plugin]
                self._split = None
            if waits:
                self._loading -= 1
                if not self._loading:
                    self._release()
            if done is not None:
                done()

        if plugin.has("load"):
            plugin.call("load", (Context(None), self.analytics), loaded)
        else:
            loaded(None, None)

    def deregister(self, name: str, done=None) -> None:
        """``unload`` the plugin called ``name`` (awaited), then remove it."""
        plugin = None
        for p in self.plugins:
            if p.name == name:
                plugin = p
                break
        if plugin is None:
            self.warn("pyajs: deregister(): no plugin named %r" % (name,))
            if done is not None:
                done()
            return

        def unloaded(_result, error):
            if error is not None:
                self.warn("pyajs: plugin %r failed to unload (%s); it stays" % (
                    name, describe_error(error)))
            else:
                self.plugins = [p for p in self.plugins if p is not plugin]
                self._split = None
            if done is not None:
                done()

        if plugin.has("unload"):
            plugin.call("unload", (Context(None), self.analytics), unloaded)
        else:
            unloaded(None, None)

    def add_destination_middleware(self, name: str, fns: list) -> None:
        self.destination_middleware.setdefault(name.lower(), []).extend(fns)

    def _middleware_for(self, name: str) -> list:
        mw = self.destination_middleware
        if not mw:
            return []
        return mw.get("*", []) + mw.get(name.lower(), [])

    # -- events ------------------------------------------------------------------------
    def run(self, event: dict, deliver) -> None:
        """Take ``event`` through the plugins; ``deliver(event, to_segment)`` once, after
        the enrichment (``to_segment``: whether its ``integrations`` let pyajs send it),
        unless a before plugin stopped it."""
        if self._loading:
            self._held.append((event, deliver))
            return
        before, enrichment, _, _ = self._by_type()
        self._stage(Context(event), before, 0, True, lambda ctx: self._after_enrichment(
            ctx, enrichment, deliver))

    def _release(self) -> None:
        held, self._held = self._held, []
        for event, deliver in held:
            self.run(event, deliver)

    def _after_enrichment(self, ctx, enrichment, deliver):
        self._stage(ctx, enrichment, 0, False, lambda ctx: self._destinations(ctx, deliver))

    def _stage(self, ctx, plugins, index, stops, then) -> None:
        """``plugins[index:]`` in order over ``ctx``, then ``then(ctx)``; ``stops``: a
        failure stops the event (before) instead of being reported and passed (enrichment).
        A synchronous plugin is followed in this loop, an asynchronous one from its answer."""
        kind = ctx.event.get("type")
        while index < len(plugins):
            plugin = plugins[index]
            index += 1
            if not plugin.has(kind):
                continue
            state = [RUNNING, True]  # phase, whether the event goes on

            def done(value, error, plugin=plugin, index=index, state=state):
                if state[0] == ANSWERED:  # a second answer is ignored
                    return
                later = state[0] == WAITING
                state[0] = ANSWERED
                state[1] = self._answered(ctx, plugin, value, error, stops)
                if later and state[1]:
                    self._stage(ctx, plugins, index, stops, then)

            plugin.run(kind, ctx, done)
            if state[0] == RUNNING:  # asynchronous (or a middleware that never calls next)
                state[0] = WAITING
                return
            if not state[1]:
                return
        then(ctx)

    def _answered(self, ctx, plugin, value, error, stops) -> bool:
        if error is not None:
            self._failed(ctx, plugin, error, stops)
            if stops:
                return False
        elif isinstance(value, Context):
            ctx.event = value.event
        if self.log is not None:
            self.log(ctx.event, "%s plugin %r %s" % (
                plugin.type, plugin.name, "failed" if error is not None else "ran"))
        return True

    def _failed(self, ctx, plugin, error, stops) -> None:
        what = describe_error(error)
        if stops:
            self.warn("pyajs: %s plugin %r failed (%s); the event was not sent" % (
                plugin.type, plugin.name, what))
            if self.on_failure is not None:
                self.on_failure(ctx.event, plugin.name, what)
        else:
            self.warn("pyajs: %s plugin %r failed (%s); the event goes on" % (
                plugin.type, plugin.name, what))

    def _destinations(self, ctx, deliver) -> None:
        event = ctx.event
        integrations = event.get("integrations")
        to_segment = segment_allowed(integrations)
        deliver(event, to_segment)
        kind = event.get("type")
        _, _, destinations, after = self._by_type()
        targets = []
        for p in destinations:
            if p.has(kind):
                if not destination_allowed(p.name, integrations):
                    if self.log is not None:
                        self.log(event, "destination %r skipped (integrations)" % (p.name,))
                elif p.categories and self.allows is not None and \
                        not self.allows(p.categories):
                    if self.log is not None:
                        self.log(event, "destination %r skipped (no consent for %s)" % (
                            p.name, ", ".join(p.categories)))
                else:
                    targets.append(p)
        if not targets and not after:
            return
        waiting = [len(targets)]

        def one_done():
            waiting[0] -= 1
            if waiting[0] == 0:
                self._after(ctx, after)

        for p in targets:
            self._destination(p, copy_event(event), one_done)
        if not targets:
            self._after(ctx, after)

    def _destination(self, plugin, event, done) -> None:
        kind = event.get("type")

        def send(final):
            if final is None:
                if self.log is not None:
                    self.log(event, "destination %r: dropped by its middleware" % (
                        plugin.name,))
                done()
                return
            answered = []

            def sent(_value, error):
                if answered:
                    return
                answered.append(True)
                if error is not None:
                    self.warn("pyajs: destination %r failed (%s)" % (
                        plugin.name, describe_error(error)))
                elif self.log is not None:
                    self.log(final, "destination %r ran" % (plugin.name,))
                done()

            plugin.run(kind, Context(final), sent)

        fns = self._middleware_for(plugin.name)
        if fns:
            apply_middleware(fns, event, send, self.warn)
        else:
            send(event)

    def _after(self, ctx, after) -> None:
        kind = ctx.event.get("type")
        for p in after:
            if not p.has(kind):
                continue

            def done(_value, error, p=p):
                if error is not None:
                    self.warn("pyajs: after plugin %r failed (%s)" % (
                        p.name, describe_error(error)))

            p.run(kind, ctx, done)
