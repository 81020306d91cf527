"""``window.analytics`` calls, routed to the Python API.

The browser binding turns each JavaScript call into ``(method, args, snapshot, at)`` with
plain Python values (functions become Python callables), and ``JsApi.call`` does the rest:
Segment's flexible argument forms, then the strict Python API. A call that cannot be made
is reported with one console warning naming the method and the problem; it never throws
into the page and never stops the calls after it.

    >>> api = JsApi(analytics)                                     # doctest: +SKIP
    >>> api.call("track", ["Clicked", {"id": 3}], snapshot, 1700000000000)  # doctest: +SKIP
"""

from .arguments import (
    CallError,
    describe,
    resolve_alias,
    resolve_identity,
    resolve_page,
    resolve_track,
)
from .ordered import reorder

EVENT_METHODS = ("track", "page", "screen", "identify", "group", "alias")
# Classic analytics.js methods that pyajs accepts but does not implement (yet): a warning.
UNSUPPORTED = ("trackSubmit", "trackClick", "trackLink", "trackForm", "pageview",
               "addIntegrationMiddleware")
# Methods that answer with a value: no value is ``null`` to the page, as in Analytics.js
# (``user().id() === null``); the other methods answer ``undefined``.
VALUE_METHODS = frozenset(("user.id", "group.id", "user.anonymousId", "setAnonymousId",
                           "user.traits", "group.traits"))


# Calls whose objects are stored (traits): their keys keep the order the page gave them, so
# both runtimes write the same text (see ordered.py).
KEEPS_ORDER = ("identify", "group", "user.traits", "group.traits")


def args_in_order(method: str, args, text: str):
    """``args`` (parsed from ``text``) with the page's key order, where it is stored."""
    return reorder(args, text) if method in KEEPS_ORDER else args


def calls_in_order(calls: list, text: str) -> list:
    """The buffered calls (parsed from ``text``) with the page's key order, when one of
    them stores an object."""
    for call in calls:
        if isinstance(call, list) and call and call[0] in KEEPS_ORDER:
            return reorder(calls, text)
    return calls


def result_json(method: str, result, dumps):
    """What goes back to JavaScript for ``method``'s ``result``: its JSON text, or None
    (``undefined``) for a method that answers nothing."""
    if result is None and method not in VALUE_METHODS:
        return None
    return dumps(result)


class JsApi:
    def __init__(self, analytics):
        self.a = analytics
        self.warn = analytics.warn
        self._handlers = {}  # method name → bound handler (or None: not a method)

    def call(self, method: str, args: list, snapshot=None, at=None):
        """Run one call; returns what the method returns (JSON-able) or None on error."""
        try:
            try:
                handler = self._handlers[method]
            except KeyError:
                handler = getattr(self, "_m_" + method.replace(".", "_"), None)
                if len(self._handlers) < 64:  # names come from the page: keep it bounded
                    self._handlers[method] = handler
            if handler is None:
                if method in UNSUPPORTED:
                    self.warn("pyajs: analytics.%s() is not supported; the call was ignored"
                              % method)
                else:
                    self.warn("pyajs: analytics.%s is not a function pyajs knows; ignored"
                              % method)
                return None
            return handler(args, snapshot, at)
        except (CallError, TypeError, ValueError) as exc:
            self.warn("pyajs: analytics.%s(): %s" % (_shown(method), _strip_method(str(exc))))
        except Exception as exc:  # a bug of ours must not break the page either
            self.warn("pyajs: analytics.%s() failed: %s: %s" % (
                _shown(method), type(exc).__name__, exc))
        return None

    def _ignored(self, method: str, ignored) -> None:
        for slot, value in ignored:
            self.warn("pyajs: analytics.%s(): ignored %s (%s)" % (method, slot, describe(value)))

    # -- events -------------------------------------------------------------------------
    def _m_track(self, args, snap, at):
        event, props, opts, cb, ignored = resolve_track(args)
        self._ignored("track", ignored)
        self.a.track(event, props, opts, cb, _snapshot=snap, _at=at)

    def _m_page(self, args, snap, at, kind="page"):
        category, name, props, opts, cb, ignored = resolve_page(args)
        self._ignored(kind, ignored)
        getattr(self.a, kind)(category, name, props, opts, cb, _snapshot=snap, _at=at)

    def _m_screen(self, args, snap, at):
        self._m_page(args, snap, at, kind="screen")

    def _m_identify(self, args, snap, at):
        uid, traits, opts, cb, ignored = resolve_identity(args)
        self._ignored("identify", ignored)
        self.a.identify(uid, traits, opts, cb, _snapshot=snap, _at=at)

    def _m_group(self, args, snap, at):
        gid, traits, opts, cb, ignored = resolve_identity(args)
        self._ignored("group", ignored)
        self.a.group(gid, traits, opts, cb, _snapshot=snap, _at=at)

    def _m_alias(self, args, snap, at):
        to, previous, opts, cb, ignored = resolve_alias(args)
        self._ignored("alias", ignored)
        self.a.alias(to, previous, opts, cb, _snapshot=snap, _at=at)

    # -- identity -----------------------------------------------------------------------
    def _m_setAnonymousId(self, args, snap, at):  # noqa: N802 - Segment's name
        if not args or args[0] is None:
            return self.a.user().anonymous_id()
        return self.a.set_anonymous_id(_id_arg("setAnonymousId", args[0]))

    def _m_reset(self, args, snap, at):
        self.a.reset()

    def _entity(self, which):
        return self.a.user() if which == "user" else self.a.group()

    def _id_method(self, which, args):
        entity = self._entity(which)
        if not args:
            return entity.id()
        value = args[0]
        if value is not None:
            value = _id_arg(which + "().id", value)
        return entity.id(value)

    def _m_user_id(self, args, snap, at):
        return self._id_method("user", args)

    def _m_group_id(self, args, snap, at):
        return self._id_method("group", args)

    def _m_user_anonymousId(self, args, snap, at):  # noqa: N802
        user = self.a.user()
        if not args:
            return user.anonymous_id()
        value = args[0]
        return user.anonymous_id(None if value is None else _id_arg("anonymousId", value))

    def _traits(self, which, args):
        entity = self._entity(which)
        if args:
            entity.traits(args[0])
        return entity.traits_in_order()  # the page sees them in the stored order

    def _m_user_traits(self, args, snap, at):
        return self._traits("user", args)

    def _m_group_traits(self, args, snap, at):
        return self._traits("group", args)

    def _m_user_reset(self, args, snap, at):
        self.a.user().reset()

    def _m_group_reset(self, args, snap, at):
        self.a.group().reset()

    def _m_user_logout(self, args, snap, at):
        self.a.user().logout()

    def _m_group_logout(self, args, snap, at):
        self.a.group().logout()

    # -- lifecycle ----------------------------------------------------------------------
    def _m_ready(self, args, snap, at):
        cb = args[0] if args else None
        if cb is not None and not callable(cb):
            raise TypeError("the callback must be a function, got " + describe(cb))
        if cb is not None:
            # Analytics.js calls it with the list of its plugins' ready() results; pyajs
            # calls no plugin's ready(): an empty list
            self.a.ready(lambda _analytics: cb([]))

    def _m_on(self, args, snap, at):
        name, fn = (list(args) + [None, None])[:2]
        self.a.on(name, fn)

    def _m_once(self, args, snap, at):
        name, fn = (list(args) + [None, None])[:2]
        self.a.once(name, fn)

    def _m_off(self, args, snap, at):
        name, fn = (list(args) + [None, None])[:2]
        self.a.off(name, fn)

    def _m_consent(self, args, snap, at):
        categories = args[0] if args else None
        if categories is not None and not isinstance(categories, dict):
            raise TypeError("expected an object of category → true/false, got " +
                            describe(categories))
        return self.a.consent(categories)

    def _m_debug(self, args, snap, at):
        self.a.debug(bool(args[0]) if args else True)

    def _m_addSourceMiddleware(self, args, snap, at):  # noqa: N802
        self.a.add_source_middleware(args[0] if args else None)

    def _m_addDestinationMiddleware(self, args, snap, at):  # noqa: N802
        if not args or not isinstance(args[0], str) or not args[0]:
            raise TypeError("the first argument must be a destination name (or '*'), got "
                            + describe(args[0] if args else None))
        self.a.add_destination_middleware(args[0], *args[1:])

    def _m_register(self, args, snap, at):
        """``register(plugin, …, done)``: the loader describes each plugin object and adds
        ``done``, which resolves the page's Promise once every ``load`` has finished."""
        from .plugins import TYPES

        args, done = _split_done(args)
        plugins = []
        for i, plugin in enumerate(args):
            if not hasattr(plugin, "has"):
                self.warn("pyajs: analytics.register(): argument %d is not a plugin object "
                          "(%s); ignored" % (i + 1, describe(plugin)))
            elif not isinstance(plugin.name, str) or not plugin.name:
                self.warn("pyajs: analytics.register(): the plugin needs a name (a non-empty "
                          "string), got %s; ignored" % describe(plugin.name))
            elif plugin.type not in TYPES:
                self.warn("pyajs: analytics.register(): plugin %r has type %s; it must be one "
                          "of %s; ignored" % (plugin.name, describe(plugin.type),
                                              ", ".join(TYPES)))
            else:
                plugins.append(plugin)
        self.a.register_plugins(plugins, done)

    def _m_deregister(self, args, snap, at):
        names, done = _split_done(args)
        self.a.deregister(*[n for n in names if isinstance(n, str) and n], done=done)

    def _m_load(self, args, snap, at):
        self.warn("pyajs: analytics.load() was called again; pyajs is already loaded")

    def _m_timeout(self, args, snap, at):
        return None


def _split_done(args) -> tuple:
    """(the arguments, the function that ends them or None)."""
    if args and callable(args[-1]) and not hasattr(args[-1], "has"):
        return list(args[:-1]), args[-1]
    return list(args), None


def _id_arg(method: str, value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError("%s(): the id must be a string, got %s" % (method, describe(value)))
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return str(value)


def _shown(method: str) -> str:
    """``user.id`` → ``user().id``: the call as the page wrote it."""
    return str(method).replace(".", "().", 1)  # str(): a non-string method must not raise


def _strip_method(text: str) -> str:
    """``track(): event …`` → ``event …`` (the warning names the method already)."""
    i = text.find("(): ")
    return text[i + 4:] if 0 <= i < 40 else text
