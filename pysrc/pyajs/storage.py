"""Where identity lives: cookie, localStorage and memory, and the rules that keep them in step.

Each id (anonymous id, user id, group id) is mirrored to every persistent store that works,
and read back with one rule: **the cookie wins** when it holds a value (it is the only store
that subdomains share), otherwise localStorage; the stores that disagree are then re-written
with the winner. A store that throws is skipped with one console warning, and memory takes
over for a key when no persistent store accepted it, so the page always has an identity.

    >>> s = Storage([MemoryStore()], warn=print)
    >>> s.write_id("ajs_user_id", "u1"); s.read_id("ajs_user_id")
    'u1'
"""

from .clock import now_ms
from .codec import (
    decode_cookie_value,
    dumps,
    encode_cookie_value,
    parse_cookie_header,
    parse_stored,
)
from .cookies import cookie_string
from .ordered import reorder


class CookieStore:
    """Values in ``document.cookie``, written as percent-encoded JSON (``%22<id>%22``)."""

    name = "cookie"
    refresh_on_read = True  # rewritten once a page: a visit renews the expiry

    def __init__(self, jar, attrs: dict, clock=now_ms):
        self.jar = jar
        self.attrs = attrs
        self.clock = clock
        self._header = None  # the last document.cookie text, and what it parsed to
        self._values = {}
        # taken without a probe (build_identity_storages): name → the text last written, until
        # ``confirmed`` compares them with what the browser shows
        self.unconfirmed = None

    def get(self, key: str):
        header = self.jar.read()
        if header != self._header:
            self._header = header
            self._values = {}
        if key not in self._values:
            raw = parse_cookie_header(header).get(key)
            if raw is None:
                value = None
            else:
                text = decode_cookie_value(raw)
                value = parse_stored(text)
                if isinstance(value, dict):  # Analytics.js 1.0's ajs_user: keep the order
                    value = reorder(value, text)
            self._values[key] = value
        return self._values[key]

    def set(self, key: str, value) -> None:
        text = None if value is None else dumps(value)
        now = self.clock()
        self.jar.write(cookie_string(key, text, self.attrs, now))
        if self.unconfirmed is not None:
            self.unconfirmed[key] = text
        if self.attrs.get("domain"):
            self._drop_host_only_shadow(key, text, now)

    def confirmed(self) -> bool:
        """Whether the browser kept what was written since the store was taken on its word
        (in a later task than the writes: by then the browser has them). False when a value
        written is not there: cookies are dropped after all (a site blocked by the
        visitor's settings, an extension)."""
        written, self.unconfirmed = self.unconfirmed, None
        if not written:
            return True
        jar = parse_cookie_header(self.jar.read())
        self._header = None
        for key, text in written.items():
            if text is not None and jar.get(key) != encode_cookie_value(text):
                return False
        return True

    def _drop_host_only_shadow(self, key: str, text, now: int) -> None:
        """A cookie of the same name without a domain (the page's own, or one written with
        other options) comes first in ``document.cookie`` and would hide the value just
        written: if reading back does not give that value, expire the host-only one."""
        raw = parse_cookie_header(self.jar.read()).get(key)
        if raw != (None if text is None else encode_cookie_value(text)):
            attrs = dict(self.attrs)
            del attrs["domain"]
            self.jar.write(cookie_string(key, None, attrs, now))


class LocalStore:
    """Values in ``localStorage`` as JSON text; None removes the key."""

    name = "localStorage"

    def __init__(self, local_storage):
        self.ls = local_storage

    def get(self, key: str):
        text = self.ls.getItem(key)
        value = parse_stored(text)
        if isinstance(value, dict):  # traits: keep the order they were written in
            value = reorder(value, text)
        return value

    def set(self, key: str, value) -> None:
        if value is None:
            self.ls.removeItem(key)
        else:
            self.ls.setItem(key, dumps(value))


class MemoryStore:
    """A dict: the page's copy when no persistent store works (and for tests)."""

    name = "memory"

    def __init__(self):
        self.data = {}

    def get(self, key: str):
        return self.data.get(key)

    def set(self, key: str, value) -> None:
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value


class Storage:
    """Persistent stores in priority order (cookie first for ids), plus a memory fallback."""

    def __init__(self, stores: list, warn, memory: MemoryStore | None = None):
        self.stores = stores
        self.warn = warn
        self.memory = memory or MemoryStore()
        self._memory_only = set()  # keys whose last write reached no persistent store
        self._warned = set()
        # key → the id every store held at the last full read or write. While the cookie
        # still holds it, the cookie wins anyway: no need to read the other stores. None
        # when every store held nothing (an anonymous visitor's user id): the stores are
        # still all read, but nothing is compared or re-written while they stay empty.
        self._synced = {}
        self._refreshed = set()  # ids already re-written to the cookie on this page
        self._held = None  # the persistent stores while ``hold`` keeps values in memory
        self._held_keys = set()

    # -- consent: memory only until the visitor agrees ------------------------------------
    def hold(self, keys) -> None:
        """From now on write to memory only; ``keys`` keep what the stores hold (read,
        never re-written) so a returning visitor keeps their ids in the page."""
        if self._held is None:
            for key in keys:
                if self.memory.get(key) is None:
                    value = self._peek(key)
                    if value is not None:
                        self.memory.set(key, value)
            self._held, self.stores = self.stores, []
            self._synced = {}
        self._held_keys.update(keys)

    def _peek(self, key: str):
        for store in self.stores:
            ok, value = self._get(store, key)
            if value is not None and value != "":
                return value
        return None

    @property
    def held(self) -> bool:
        return self._held is not None

    def release(self) -> None:
        """Back to the persistent stores: what memory holds for the held keys (and for
        every key written meanwhile) is written to them, removals included."""
        if self._held is None:
            return
        keys = self._held_keys | set(self.memory.data) | self._memory_only
        self.stores, self._held = self._held, None
        self._held_keys = set()
        self._memory_only = set()
        self._synced = {}
        for key in sorted(keys):
            value = self.memory.get(key)
            for store in self.stores:
                self._set(store, key, value)

    def wipe(self, keys) -> None:
        """Remove ``keys`` from every persistent store (held or not); memory keeps them."""
        for store in self._held if self._held is not None else self.stores:
            for key in keys:
                ok, value = self._get(store, key)
                if not ok or value is not None:
                    self._set(store, key, None)
        self._synced = {}

    def drop(self, store) -> None:
        """Stop using ``store`` (one that turned out not to keep what it was given)."""
        self.stores = [s for s in self.stores if s is not store]
        if self._held is not None:
            self._held = [s for s in self._held if s is not store]
        self._synced = {}

    def _warn_once(self, tag: str, message: str) -> None:
        if tag not in self._warned:
            self._warned.add(tag)
            self.warn(message)

    def _get(self, store, key: str):
        """(answered, value) — answered is False when the store threw."""
        try:
            return True, store.get(key)
        except Exception as exc:
            self._warn_once(store.name + ":get", "pyajs: cannot read %s (%s); using the other "
                            "stores" % (store.name, _short(exc)))
            return False, None

    def _set(self, store, key: str, value) -> bool:
        try:
            store.set(key, value)
            return True
        except Exception as exc:
            self._warn_once(store.name + ":set", "pyajs: cannot write %s (%s); using the other "
                            "stores" % (store.name, _short(exc)))
            return False

    def write(self, key: str, value) -> None:
        """Mirror ``value`` (None: remove) to every store, memory included."""
        if self._held is not None:
            self._held_keys.add(key)
        reached = False
        for store in self.stores:
            if self._set(store, key, value):
                reached = True
        self.memory.set(key, value)
        self._synced.pop(key, None)
        self._refreshed.add(key)  # just written with the current attributes
        if reached:
            self._memory_only.discard(key)
        else:
            self._memory_only.add(key)

    write_id = write

    def read(self, key: str):
        """The first value a persistent store holds (no re-sync): used for traits."""
        if key in self._memory_only:
            return self.memory.get(key)
        answered = False
        for store in self.stores:
            ok, value = self._get(store, key)
            answered = answered or ok
            if value is not None:
                return value
        return None if answered else self.memory.get(key)

    def read_id(self, key: str, allow_empty: bool = True):
        """An id by the cookie-wins rule, then re-synced into the stores that disagree.

        Numbers are read as strings (a raw ``12345`` cookie, Analytics.js 1.0's numeric ids
        in localStorage) and re-written as such; any other non-string value is corrupt: it
        is ignored with one warning and replaced by the winner. With ``allow_empty`` False
        an empty string counts as no value (the anonymous id).
        """
        if key in self._memory_only:
            return self.memory.get(key)
        synced = self._synced.get(key, _UNSYNCED)
        if synced is None:
            if self._all_empty(key):
                return None
        elif synced is not _UNSYNCED and self.stores and self.stores[0].name == "cookie":
            ok, value = self._get(self.stores[0], key)
            if ok and value == synced:
                return value
        seen = []
        winner = None
        answered = False
        for store in self.stores:
            ok, value = self._get(store, key)
            if not ok:
                continue
            answered = True
            seen.append((store, value))  # as stored: a number is re-written as text
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = _number_text(value)
            elif value is not None and not isinstance(value, str):
                self._warn_once("corrupt:" + store.name + ":" + key,
                                "pyajs: ignoring %s %s: %s is not an id" % (
                                    store.name, key, _short(dumps(value))))
                continue
            if winner is None and value is not None and (allow_empty or value != ""):
                winner = value
        if not answered:
            return self.memory.get(key)
        in_step = len(seen) == len(self.stores)
        refresh = winner is not None and key not in self._refreshed
        self._refreshed.add(key)
        for store, value in seen:
            if value != winner and not (winner is None and value == "" and not allow_empty):
                in_step = self._set(store, key, winner) and in_step
            elif refresh and getattr(store, "refresh_on_read", False):
                # as Analytics.js, which re-writes ids on read: a new expiry, current
                # attributes and pyajs's format, once a page
                self._set(store, key, winner)
        self.memory.set(key, winner)
        if in_step and isinstance(winner, str) and winner:
            self._synced[key] = winner
        elif winner is None and len(seen) == len(self.stores) and all(
                value is None for _, value in seen):
            self._synced[key] = None
        else:
            self._synced.pop(key, None)
        return winner

    def _all_empty(self, key: str) -> bool:
        """Whether every store still holds nothing for ``key`` (one that throws: no)."""
        for store in self.stores:
            ok, value = self._get(store, key)
            if not ok or value is not None:
                return False
        return True


_UNSYNCED = object()


def _number_text(value) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _short(obj) -> str:
    text = str(obj)
    return text if len(text) <= 120 else text[:117] + "..."


LS_PROBE_KEY = "__pyajs_probe__"


def cookie_attributes(options, hostname: str, https: bool, jar, warn, clock=now_ms) -> dict:
    """Cookie attributes from the ``cookie`` load option over Analytics.js's defaults:
    365 days, ``path=/``, ``SameSite=Lax``, ``Secure`` on https, the probed top domain."""
    from .cookies import DEFAULT_MAXAGE_DAYS, top_domain

    attrs = {"maxage": DEFAULT_MAXAGE_DAYS, "path": "/", "sameSite": "Lax", "secure": https}
    options = options if isinstance(options, dict) else {}
    for key, kinds in (("domain", str), ("path", str), ("sameSite", str), ("secure", bool),
                       ("maxage", (int, float))):
        if key not in options or options[key] is None:
            continue
        value = options[key]
        if not isinstance(value, kinds) or (key == "maxage" and isinstance(value, bool)):
            warn("pyajs: ignoring cookie.%s = %r: expected %s" % (
                key, value, "a number of days" if key == "maxage" else
                ("true or false" if key == "secure" else "a string")))
            continue
        if key == "maxage":
            if value > 36500:  # classic analytics.js took milliseconds
                warn("pyajs: cookie.maxage is in days; %r looks like milliseconds and was "
                     "read as %g days" % (value, value / 86400000))
                value = value / 86400000
            elif value <= 0:
                warn("pyajs: ignoring cookie.maxage = %r: it must be more than 0 days" % value)
                continue
        if key == "domain":
            value = value.lstrip(".")
        attrs[key] = value
    if "domain" not in attrs:
        found = top_domain(hostname, jar, clock())
        if found:
            attrs["domain"] = found
    return attrs


NO_COOKIES = "pyajs: cookies are not available here; ids are kept in localStorage and memory"


def confirm_cookies(cookie, storages, warn) -> None:
    """The cookie store taken without a probe (``cookie.unconfirmed``), checked once the
    page is live: when the browser did not keep the ids written, the ``storages`` stop using
    it, as if the probe had failed, with the same warning."""
    if cookie is None or cookie.unconfirmed is None or cookie.confirmed():
        return
    for storage in storages:
        storage.drop(cookie)
    warn(NO_COOKIES)


def _default_cookie_attributes(options) -> bool:
    """True when the ``cookie`` option leaves the attributes that decide whether the browser
    keeps a cookie (and shows it to this page) to pyajs: ``domain``, ``path``, ``sameSite``
    and ``secure``; ``maxage`` alone does not."""
    if not isinstance(options, dict):
        return True
    return all(options.get(key) is None for key in ("domain", "path", "sameSite", "secure"))


def local_storage_works(ls) -> bool:
    """True when ``localStorage`` exists and takes a write (Safari's private mode and
    sandboxed frames throw)."""
    if ls is None:
        return False
    try:
        ls.setItem(LS_PROBE_KEY, "1")
        ls.removeItem(LS_PROBE_KEY)
        return True
    except Exception:
        return False


def local_storage_in_use(ids) -> bool:
    """Whether ``build_storages`` found localStorage working (its probe, not another)."""
    return any(store.name == "localStorage" for store in ids.stores)


STORE_NAMES = ("cookie", "localStorage", "memory")


def _store_list(value, where: str, warn):
    """The ``storage`` option's ``stores``, or None (absent, or not a list of known store
    names: ignored with a warning, as Analytics.js ignores it)."""
    if value is None:
        return None
    stores = value.get("stores") if isinstance(value, dict) else None
    if isinstance(stores, list) and stores and all(s in STORE_NAMES for s in stores):
        return stores
    warn("pyajs: ignoring %s = %s: expected {stores: [...]} with \"cookie\", "
         "\"localStorage\" and/or \"memory\"" % (where, _short(dumps(value))))
    return None


def store_names(options, entity: str, warn) -> list:
    """Which stores ``entity`` ("user" or "group") keeps its ids in, from the load options:
    ``storage: {stores}`` (or ``<entity>.storage``) picks them, ``disableClientPersistence``
    or ``<entity>.persist: false`` leaves memory only, ``<entity>.localStorageFallbackDisabled``
    drops localStorage. Whatever the order given, the cookie is read first (it is the store
    subdomains share), then localStorage; memory is always the last resort."""
    options = options if isinstance(options, dict) else {}
    own = options.get(entity)
    own = own if isinstance(own, dict) else {}
    persist = not options.get("disableClientPersistence")
    if own.get("persist") is not None:
        persist = bool(own.get("persist"))
    if not persist:
        return ["memory"]
    names = _store_list(own.get("storage"), entity + ".storage", warn)
    if names is None:
        names = _store_list(options.get("storage"), "storage", warn) or list(STORE_NAMES)
    if own.get("localStorageFallbackDisabled"):
        names = [n for n in names if n != "localStorage"]
    return [n for n in STORE_NAMES if n in names]


def build_identity_storages(jar, local_storage, hostname: str, https: bool, options, warn,
                            clock=now_ms) -> dict:
    """The stores of the visitor and their group from the load options (``store_names``)
    and what the browser lets pyajs use: ``user_ids``, ``user_traits``, ``group_ids``,
    ``group_traits`` (Storage each), ``cookie_attrs`` (or None) and ``queue_shelf`` (the
    localStorage for the persisted queue, or None: memory)."""
    from .cookies import cookies_work

    options = options if isinstance(options, dict) else {}
    plan = {entity: store_names(options, entity, warn) for entity in ("user", "group")}
    wanted = set(plan["user"]) | set(plan["group"])
    cookie = None
    attrs = None
    if jar is not None and "cookie" in wanted:
        attrs = cookie_attributes(options.get("cookie"), hostname, https, jar, warn, clock)
        # The default attributes (host-only or the probed top domain, path=/, SameSite=Lax,
        # Secure only on https) are kept by any browser that keeps cookies at all: when the
        # jar knows cookies are on (navigator.cookieEnabled) it is taken at its word, without
        # the probe (in a page two writes and a read that waits for the first, several
        # milliseconds while the page starts), and checked later (confirm_cookies).
        on_word = (_default_cookie_attributes(options.get("cookie"))
                   and getattr(jar, "enabled", None) is True)
        if on_word or cookies_work(jar, attrs, clock()):
            cookie = CookieStore(jar, attrs, clock)
            if on_word:
                cookie.unconfirmed = {}
        else:
            warn(NO_COOKIES)
    local = None
    if local_storage_works(local_storage):
        local = LocalStore(local_storage)
    elif "localStorage" in wanted or not options.get("disableClientPersistence"):
        warn("pyajs: localStorage is not available here; ids are kept in cookies and memory, "
             "traits in memory")
    found = {"cookie_attrs": attrs, "cookie_store": cookie,
             "queue_shelf": None if options.get("disableClientPersistence") or local is None
             else local_storage}
    warned = None
    for entity in ("user", "group"):
        names = plan[entity]
        if entity == "group" and names == plan["user"]:  # one Storage for the shared keys
            found["group_ids"] = found["user_ids"]
            traits = Storage(found["user_traits"].stores, warn)
            traits._warned = warned
            found["group_traits"] = traits
            break
        ids = Storage([s for s in (cookie, local) if s is not None and s.name in names], warn)
        traits = Storage([local] if local is not None and "localStorage" in names else [],
                         warn)
        if warned is None:
            warned = ids._warned
        ids._warned = traits._warned = warned  # one warning per failing store
        found[entity + "_ids"] = ids
        found[entity + "_traits"] = traits
    return found


def build_storages(jar, local_storage, hostname: str, https: bool, cookie_options, warn,
                   clock=now_ms) -> tuple:
    """(id storage, user traits storage, group traits storage, cookie attributes or None)
    with the default stores: ``build_identity_storages`` with only the ``cookie`` option."""
    found = build_identity_storages(jar, local_storage, hostname, https,
                                    {"cookie": cookie_options}, warn, clock)
    return (found["user_ids"], found["user_traits"], found["group_traits"],
            found["cookie_attrs"])
