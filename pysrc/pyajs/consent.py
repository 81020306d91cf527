"""The visitor's consent: which categories they agreed to, and what pyajs may do before.

A site that asks for consent loads pyajs with ``consent: {categories: {...}}`` (its consent
platform's answer, Segment's ``categoryPreferences`` shape: category id → true/false) or
without ``categories`` when the answer is not known yet; ``analytics.consent(...)`` changes
them later. pyajs's own collection needs one category, ``category`` (``"Analytics"`` unless
told otherwise). Until it is granted, pyajs writes no cookie and no localStorage entry (ids
and traits live in memory) and, by ``mode``:

- ``"none"`` (the default): sends nothing; the page's events wait in memory and go out if
  consent comes during the page;
- ``"anonymous"``: sends track, page and screen events at once, with an anonymous id of
  that page only and without user id or traits (identify, group and alias wait).

When consent is withdrawn, pyajs stops sending, drops what waits and removes its cookies,
localStorage entries and queue. Without the ``consent`` option nothing is gated, as in
Analytics.js.

    >>> c = Consent({"categories": {"Analytics": False, "Ads": True}})
    >>> c.granted, c.allows(["Ads"]), c.allows("Analytics")
    (False, True, False)
    >>> c.update({"Analytics": True}); c.granted, c.preferences()
    True
    (True, {'Analytics': True, 'Ads': True})
"""

DEFAULT_CATEGORY = "Analytics"
MODES = ("none", "anonymous")
UPDATED_EVENT = "Segment Consent Preference Updated"


def _check_categories(where: str, value) -> dict:
    if not isinstance(value, dict):
        raise TypeError("%s: categories must be a dict of category → bool, got %s" % (
            where, type(value).__name__))
    for key, granted in value.items():
        if not isinstance(key, str) or not isinstance(granted, bool):
            raise TypeError("%s: categories must map str to bool, got %r: %r" % (
                where, key, granted))
    return value


class Consent:
    """The consent state of one page: ``preferences()``, ``allows(categories)``, ``granted``
    (pyajs's own category), and listeners told of each change."""

    def __init__(self, options=None, warn=print):
        self.enabled = options is not None and options is not False
        if self.enabled and not isinstance(options, dict):
            warn("pyajs: ignoring consent option: expected an object")
            self.enabled = False
        options = options if isinstance(options, dict) else {}
        self.category = DEFAULT_CATEGORY
        category = options.get("category")
        if category is not None:
            if isinstance(category, str) and category:
                self.category = category
            else:
                warn("pyajs: ignoring consent.category = %r: expected a category id" % (
                    category,))
        self.mode = "none"
        mode = options.get("mode")
        if mode is not None:
            if mode in MODES:
                self.mode = mode
            else:
                warn("pyajs: ignoring consent.mode = %r: expected \"none\" or \"anonymous\"" % (
                    mode,))
        self._prefs = {}
        self.known = False  # whether any answer was given (categories at load or later)
        categories = options.get("categories")
        if categories is not None:
            try:
                self._prefs = dict(_check_categories("consent option", categories))
                self.known = True
            except TypeError as exc:
                warn("pyajs: ignoring consent.categories: %s" % exc)
        self._listeners = []
        # whether pyajs may persist and send (always, when consent is not configured): an
        # attribute, not a property, as every event reads it
        self.granted = self._granted()

    def _granted(self) -> bool:
        return not self.enabled or self._prefs.get(self.category) is True

    @property
    def denied(self) -> bool:
        """An explicit no for pyajs's category (not merely unknown yet)."""
        return self.enabled and self._prefs.get(self.category) is False

    def preferences(self) -> dict:
        """A copy of category id → bool."""
        return dict(self._prefs)

    def allows(self, categories) -> bool:
        """Whether every category named (a str or a list of them) is granted; True when
        consent is not configured or none is named."""
        if not self.enabled or not categories:
            return True
        if isinstance(categories, str):
            categories = [categories]
        for name in categories:
            if self._prefs.get(name) is not True:
                return False
        return True

    def context(self):
        """``context.consent`` for events, or None when consent is not configured."""
        if not self.enabled:
            return None
        return {"categoryPreferences": dict(self._prefs)}

    def on_change(self, fn) -> None:
        """``fn(was_granted, now_granted, changed)`` after each ``update``."""
        self._listeners.append(fn)

    def update(self, categories) -> bool:
        """Merge new answers (category → bool); True when a preference changed. Turns
        consent on if it was not configured at load."""
        _check_categories("consent()", categories)
        was = self.granted
        before = dict(self._prefs)
        self.enabled = True
        self.known = True
        self._prefs.update(categories)
        changed = self._prefs != before
        now = self.granted = self._granted()
        for fn in list(self._listeners):
            fn(was, now, changed)
        return changed


MAX_WAITING = 1000  # events kept in memory for consent, oldest dropped beyond
_SENT_ANONYMOUSLY = ("track", "page", "screen")


class Gate:
    """What a ``Consent`` means for one ``Analytics``: its identity stores kept in memory
    and its queue kept off localStorage until pyajs's category is granted, events waiting
    (or sent anonymously, by ``mode``), and what happens when consent comes or goes."""

    def __init__(self, analytics, consent: Consent, anonymous_key: str):
        self.a = analytics
        self.consent = consent
        self.anonymous_key = anonymous_key
        self.waiting = []  # (event, emit args) made before consent
        self._wiped = consent.denied  # pyajs's keys were removed for this "no"
        self._page_id = None  # the anonymous id of events sent before consent
        consent.on_change(self._changed)
        if not consent.granted:
            self._hold(consent.denied)

    def _stores(self) -> tuple:
        user, group = self.a._user, self.a._group
        return ((user._ids, (self.anonymous_key, user.id_key)),
                (user._traits, (user.traits_key,)),
                (group._ids, (group.id_key,)),
                (group._traits, (group.traits_key,)))

    def shelf(self):
        """Where the persisted queue may write: localStorage once consent is granted."""
        return self.a.platform.queue_shelf if self.consent.granted else None

    def _hold(self, wipe: bool) -> None:
        """Memory only from now on; with ``wipe``, pyajs's cookies, entries and queue go."""
        for storage, keys in self._stores():
            if wipe:
                storage.wipe(keys)
            storage.hold(keys)
        if wipe:  # Analytics.js 1.0's cookies too: a later agreement must not take them over
            from .identity import LEGACY_SIO, LEGACY_USER

            self.a._user._ids.wipe((LEGACY_SIO, LEGACY_USER))
        if wipe:
            self._wipe_queue()
        elif self.a._queue is not None:
            self.a._queue.shelf = None

    def _wipe_queue(self) -> None:
        queue = self.a._queue
        if queue is not None:
            for entry in queue.pending():
                queue.remove(entry)
            queue.release()
            queue.shelf = None
        shelf = self.a.platform.queue_shelf
        if shelf is None:
            return
        key = self.a.write_key
        prefixes = ("pyajs:q:" + key + ":", "pyajs:tab:" + key + ":", "pyajs:b:")
        try:
            for name in shelf.keys():
                for prefix in prefixes:
                    if name.startswith(prefix):
                        shelf.removeItem(name)
                        break
        except Exception as exc:
            self.a.warn("pyajs: could not remove the queued events from localStorage (%s)"
                        % exc)

    def wait(self, event: dict, callback, emit_args, acked) -> bool:
        """Before consent: True when ``event`` waits (its callback still runs within the
        usual second); False when it may go now, anonymously (``mode: "anonymous"``)."""
        if self.consent.mode == "anonymous" and event.get("type") in _SENT_ANONYMOUSLY:
            # an id of this page only: what is sent before consent cannot be linked to the
            # visitor's stored identity, nor to their other pages
            if self._page_id is None:
                from .ids import uuid4

                self._page_id = uuid4()
            event["anonymousId"] = self._page_id
            event["userId"] = None
            context = event.get("context")
            if isinstance(context, dict):
                context.pop("traits", None)
            if self.a._log is not None:
                self.a._log(event, "no consent for %r yet: sent anonymously" %
                            self.consent.category)
            return False
        if len(self.waiting) >= MAX_WAITING:
            self.waiting.pop(0)
            if len(self.waiting) == MAX_WAITING - 1:
                self.a.warn("pyajs: %d events wait for consent; dropping the oldest" %
                            MAX_WAITING)
        self.waiting.append((event, emit_args))
        if self.a._log is not None:
            self.a._log(event, "waits for consent (%r)" % self.consent.category)
        if callback is not None:
            self.a.platform.set_timeout(lambda: _call(self.a.warn, callback, event), 1000)
        return True

    def _changed(self, was: bool, now: bool, changed: bool) -> None:
        if now:
            self._wiped = False
        if now and not was:
            for storage, _keys in self._stores():
                storage.release()
            queue = self.a._queue
            if queue is not None:
                queue.shelf = self.a.platform.queue_shelf
                queue.heartbeat()
            waiting, self.waiting = self.waiting, []
            for event, emit_args in waiting:
                # the visitor agreed on this page: its events go with today's answer
                event["context"]["consent"] = self.consent.context()
                self.a._deliver(event, None, emit_args)
        elif not now and (was or (self.consent.denied and not self._wiped)):
            if self.a._log is not None:
                for event, _emit_args in self.waiting:
                    self.a._log(event, "dropped: consent refused")
            self.waiting = []  # withdrawn (or refused): what was not sent never is
            self._wiped = True
            self._hold(True)
        if changed:
            self.a.track(UPDATED_EVENT, {})


def _call(warn, callback, event) -> None:
    try:
        callback(event)
    except Exception as exc:
        warn("pyajs: a %s callback raised %s: %s" % (event.get("type"), type(exc).__name__,
                                                     exc))
