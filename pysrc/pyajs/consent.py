"""The visitor's consent: which categories they agreed to, and what pyajs may do before.

A site that asks for consent loads pyajs with ``consent: {categories: {...}}`` (its consent
platform's answer, Segment's ``categoryPreferences`` shape: category id → true/false) or
without ``categories`` when the answer is not known yet; ``analytics.consent(...)`` changes
them later. pyajs's own collection needs one category, ``category`` (``"Analytics"`` unless
told otherwise). Until it is granted, pyajs writes no cookie and no localStorage entry (ids
and traits live in memory) and, by ``mode``:

- ``"none"`` (the default): sends nothing; the page's events wait in memory and go out if
  consent comes during the page;
- ``"anonymous"``: sends track, page and screen events at once, with the page's memory-only
  anonymous id and without user id or traits (identify, group and alias wait).

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

    @property
    def granted(self) -> bool:
        """Whether pyajs may persist and send (always, when consent is not configured)."""
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
        now = self.granted
        for fn in list(self._listeners):
            fn(was, now, changed)
        return changed
