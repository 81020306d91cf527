"""The visitor (User) and their account (Group), with Analytics.js's identity rules.

    >>> user = User(Storage([MemoryStore()], warn=print), Storage([MemoryStore()], warn=print))
    >>> user.identify("u1", {"plan": "pro"}); user.id(), user.traits()
    ('u1', {'plan': 'pro'})

Rules kept from Analytics.js: the anonymous id is made lazily and stored in every store;
switching from one known user id to another forgets the anonymous id (a new visitor
starts); ``identify`` merges traits for the same (or a not yet known) user and replaces
them for a different one; ``traits({})`` clears them.
"""

from . import ordered
from .ids import uuid4
from .storage import Storage

_UNSET = object()

ANONYMOUS_ID_KEY = "ajs_anonymous_id"
USER_ID_KEY = "ajs_user_id"
USER_TRAITS_KEY = "ajs_user_traits"
GROUP_ID_KEY = "ajs_group_id"
GROUP_TRAITS_KEY = "ajs_group_properties"
# Analytics.js 1.0's cookies: ``_sio`` = ``<anonymous id>----<session>``, ``ajs_user`` =
# ``{"id": …, "traits": {…}}`` (URL-encoded JSON)
LEGACY_SIO = "_sio"
LEGACY_USER = "ajs_user"


def entity_keys(options, entity: str, warn) -> tuple:
    """(id key, traits key) of ``entity`` ("user" or "group") from the load options:
    ``<entity>: {cookie: {key}, localStorage: {key}}``, as in Analytics.js, where the cookie
    key names the id in both cookie and localStorage and the localStorage key the traits."""
    if entity == "user":
        keys = [USER_ID_KEY, USER_TRAITS_KEY]
    else:
        keys = [GROUP_ID_KEY, GROUP_TRAITS_KEY]
    own = options.get(entity) if isinstance(options, dict) else None
    if not isinstance(own, dict):
        return tuple(keys)
    for i, store in enumerate(("cookie", "localStorage")):
        given = own.get(store)
        key = given.get("key") if isinstance(given, dict) else None
        if key is None:
            continue
        if isinstance(key, str) and key and key != ANONYMOUS_ID_KEY:
            keys[i] = key
        else:
            warn("pyajs: ignoring %s.%s.key = %r: expected a name other than %s" % (
                entity, store, key, ANONYMOUS_ID_KEY))
    return tuple(keys)


def _check_id(method: str, value) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError("%s: the id must be a str or None, got %s %r" % (
            method, type(value).__name__, value))


class User:
    """Ids in cookie + localStorage, traits in localStorage (``ajs_user_traits``)."""

    kind = "user"

    def __init__(self, ids: Storage, traits: Storage, id_key: str = USER_ID_KEY,
                 traits_key: str = USER_TRAITS_KEY, new_id=uuid4):
        self._ids = ids
        self._traits = traits
        self.id_key = id_key
        self.traits_key = traits_key
        self._new_id = new_id

    def _stored_id(self):
        return self._ids.read_id(self.id_key)

    def id(self, value=_UNSET) -> str | None:
        """The stored id (an empty string reads as None); ``id(x)`` sets it first."""
        if value is not _UNSET:
            _check_id(self.kind + "().id()", value)
            previous = self._stored_id()
            self._ids.write(self.id_key, value)
            if previous is not None and value is not None and value != previous:
                self._forget_anonymous_id()
        current = self._stored_id()
        return current or None

    def _forget_anonymous_id(self) -> None:
        self._ids.write(ANONYMOUS_ID_KEY, None)

    def anonymous_id(self, value=_UNSET) -> str | None:
        """The anonymous id, made and stored now if there is none; ``anonymous_id(x)`` sets
        it, ``anonymous_id(None)`` removes it."""
        if value is _UNSET:
            current = self._ids.read_id(ANONYMOUS_ID_KEY, allow_empty=False)
            if current:
                return current
            value = self._new_id()
        else:
            _check_id("anonymousId()", value)
            if value == "":
                raise ValueError("anonymousId(): the id must not be empty")
        self._ids.write(ANONYMOUS_ID_KEY, value)
        return value

    def traits(self, value=_UNSET) -> dict:
        """The stored traits (``{}`` when none); ``traits(d)`` replaces them, ``{}`` or None
        clears them."""
        if value is not _UNSET:
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise TypeError("%s().traits(): traits must be a dict, got %s" % (
                    self.kind, type(value).__name__))
            self._traits.write(self.traits_key, ordered.copy(value))
            return ordered.plain(value)
        return ordered.plain(self.traits_in_order())

    def traits_in_order(self) -> dict:
        """The stored traits as a copy that keeps their order, which is what is written
        back (on MicroPython an ``OrderedDict``, which compares equal only to another in the
        same order: ``traits()`` answers plain dicts)."""
        stored = self._traits.read(self.traits_key)
        if stored is None:
            return ordered.copy({})
        if not isinstance(stored, dict):
            self._traits._warn_once("corrupt:" + self.traits_key,
                                    "pyajs: ignoring stored %s: not an object" % self.traits_key)
            return ordered.copy({})
        return ordered.copy(stored)  # a copy: the memory fallback must not change through it

    def identify(self, new_id, traits: dict | None = None) -> None:
        """Merge traits for the same or an unknown user, replace them when the user changes."""
        traits = traits or {}
        current = self.id()
        if not new_id or current is None or current == new_id:  # no id given: the current one
            merged = self.traits_in_order()
            merged.update(traits)
            traits = merged
        if new_id:
            self.id(new_id)
        self.traits(traits)

    def logout(self) -> None:
        self._ids.write(ANONYMOUS_ID_KEY, None)
        self._ids.write(self.id_key, None)
        self._traits.write(self.traits_key, None)

    def reset(self) -> None:
        """Forget everything: no ``ajs_*`` key of this entity is left in any store."""
        self.logout()


class Group(User):
    """Same storage rules under ``ajs_group_id`` / ``ajs_group_properties``; no anonymous id."""

    kind = "group"

    def __init__(self, ids: Storage, traits: Storage, id_key: str = GROUP_ID_KEY,
                 traits_key: str = GROUP_TRAITS_KEY):
        User.__init__(self, ids, traits, id_key, traits_key)

    def anonymous_id(self, value=_UNSET):
        return None

    def _forget_anonymous_id(self) -> None:
        pass  # changing group never touches the visitor's anonymous id

    def logout(self) -> None:
        self._ids.write(self.id_key, None)
        self._traits.write(self.traits_key, None)


def migrate_legacy_cookies(ids: Storage, user: User) -> None:
    """Take over Analytics.js 1.0's cookies: the anonymous id from ``_sio``, the user id and
    traits from ``ajs_user``, each only where none is stored, so a returning visitor of a
    site that upgraded keeps their identity. The legacy cookies are removed once read: a
    later ``reset()`` or change of user must not be undone by them on the next page.
    (Analytics.js re-reads them on every page, and also takes ``ajs_user`` as the group.)"""
    cookie = None
    for store in ids.stores:
        if store.name == "cookie":
            cookie = store
    if cookie is None:
        return
    _, sio = ids._get(cookie, LEGACY_SIO)
    _, legacy = ids._get(cookie, LEGACY_USER)
    if sio is None and legacy is None:
        return
    if isinstance(sio, str):
        anon = sio.split("----")[0]
        if anon and not ids.read_id(ANONYMOUS_ID_KEY, allow_empty=False):
            user.anonymous_id(anon)
    if isinstance(legacy, dict):
        uid = legacy.get("id")
        if isinstance(uid, (int, float)) and not isinstance(uid, bool):
            uid = str(int(uid)) if uid == int(uid) else str(uid)
        if isinstance(uid, str) and uid and not user.id():
            user.id(uid)
        traits = legacy.get("traits")
        if isinstance(traits, dict) and traits and not user.traits_in_order():
            user.traits(traits)
    for key, value in ((LEGACY_SIO, sio), (LEGACY_USER, legacy)):
        if value is not None:
            ids._set(cookie, key, None)
