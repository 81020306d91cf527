"""pyajs.identity: User and Group over real storages (MemoryCookieJar + MemoryLocalStorage),
checked through the exact text left in cookies and localStorage."""

import re

import pytest
from fakes import MemoryCookieJar, MemoryLocalStorage
from pyajs.codec import parse_cookie_header
from pyajs.identity import Group, User, migrate_legacy_cookies
from pyajs.storage import build_storages

NOW = 1700000000000
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class Browser:
    def __init__(self, hostname="www.example.test"):
        self.hostname = hostname
        self.jar = MemoryCookieJar(hostname, clock=lambda: NOW)
        self.ls = MemoryLocalStorage()
        self.warnings = []
        self.load()

    def load(self, migrate=False):
        """A page load: fresh objects over the same cookies and localStorage."""
        ids, ut, gt, _ = build_storages(self.jar, self.ls, self.hostname, False, None,
                                        self.warnings.append, lambda: NOW)
        self.user = User(ids, ut)
        self.group = Group(ids, gt)
        if migrate:
            migrate_legacy_cookies(ids, self.user)
        return self.user

    def cookie(self, name):
        return parse_cookie_header(self.jar.read()).get(name)

    def set_cookie(self, name, raw):
        self.jar.cookies[name] = (raw, {"domain": "example.test"})

    def ajs_keys(self):
        cookies = sorted(k for k in parse_cookie_header(self.jar.read()) if k.startswith("ajs"))
        return cookies, sorted(k for k in self.ls.data if k.startswith("ajs"))


@pytest.fixture
def b():
    return Browser()


# -- anonymous id ---------------------------------------------------------------------------------

def test_anonymous_id_is_made_lazily_and_stored(b):
    assert b.ajs_keys() == ([], [])
    anon = b.user.anonymous_id()
    assert UUID4.match(anon)
    assert b.cookie("ajs_anonymous_id") == "%22" + anon + "%22"
    assert b.ls.data["ajs_anonymous_id"] == '"' + anon + '"'
    assert b.user.anonymous_id() == anon
    assert b.load().anonymous_id() == anon


def test_anonymous_id_restored_from_localstorage_into_a_new_cookie(b):
    anon = b.user.anonymous_id()
    b.jar.cookies.clear()
    assert b.load().anonymous_id() == anon
    assert b.cookie("ajs_anonymous_id") == "%22" + anon + "%22"


def test_anonymous_id_from_cookie_only(b):
    b.set_cookie("ajs_anonymous_id", "1a9cbbbe-e8ec-40f5-b954-0857f74f0a1d")  # analytics-next
    assert b.load().anonymous_id() == "1a9cbbbe-e8ec-40f5-b954-0857f74f0a1d"
    assert b.ls.data["ajs_anonymous_id"] == '"1a9cbbbe-e8ec-40f5-b954-0857f74f0a1d"'


def test_both_stores_cleared_means_a_new_anonymous_id(b):
    anon = b.user.anonymous_id()
    b.jar.cookies.clear()
    b.ls.data.clear()
    new = b.load().anonymous_id()
    assert UUID4.match(new) and new != anon


def test_cookie_wins_for_the_anonymous_id(b):
    b.set_cookie("ajs_anonymous_id", "%22cookie-anon%22")
    b.ls.data["ajs_anonymous_id"] = '"ls-anon"'
    assert b.load().anonymous_id() == "cookie-anon"
    assert b.ls.data["ajs_anonymous_id"] == '"cookie-anon"'


def test_set_anonymous_id(b):
    b.user.anonymous_id()
    assert b.user.anonymous_id("X") == "X"
    assert b.user.anonymous_id() == "X"
    assert b.cookie("ajs_anonymous_id") == "%22X%22"
    assert b.ls.data["ajs_anonymous_id"] == '"X"'
    assert b.load().anonymous_id() == "X"


def test_anonymous_id_none_removes_it(b):
    b.user.anonymous_id("X")
    assert b.user.anonymous_id(None) is None
    assert b.cookie("ajs_anonymous_id") is None
    assert "ajs_anonymous_id" not in b.ls.data
    assert UUID4.match(b.user.anonymous_id())


@pytest.mark.parametrize("bad,exc", [("", ValueError), (5, TypeError), ({}, TypeError)])
def test_anonymous_id_rejects_bad_values(b, bad, exc):
    b.user.anonymous_id("keep")
    with pytest.raises(exc):
        b.user.anonymous_id(bad)
    assert b.user.anonymous_id() == "keep"


def test_empty_stored_anonymous_id_is_replaced(b):
    b.set_cookie("ajs_anonymous_id", "%22%22")
    anon = b.load().anonymous_id()
    assert UUID4.match(anon)
    assert b.cookie("ajs_anonymous_id") == "%22" + anon + "%22"


# -- user id --------------------------------------------------------------------------------------

def test_user_id_stored_as_json(b):
    assert b.user.id() is None
    assert b.user.id("u1") == "u1"
    assert b.cookie("ajs_user_id") == "%22u1%22"
    assert b.ls.data["ajs_user_id"] == '"u1"'
    assert b.load().id() == "u1"


def test_user_id_empty_string_reads_as_none(b):
    assert b.user.id("") is None
    assert b.cookie("ajs_user_id") == "%22%22"


def test_user_id_rejects_non_strings(b):
    with pytest.raises(TypeError):
        b.user.id(5)
    assert b.user.id() is None


def test_changing_user_id_forgets_the_anonymous_id(b):
    anon = b.user.anonymous_id()
    b.user.id("u1")
    assert b.user.anonymous_id() == anon  # first id: same visitor
    b.user.id("u1")
    assert b.user.anonymous_id() == anon  # same id again
    b.user.id("u2")
    assert b.cookie("ajs_anonymous_id") is None  # forgotten at once ...
    new = b.user.anonymous_id()  # ... and made again lazily
    assert UUID4.match(new) and new != anon


def test_clearing_user_id_keeps_the_anonymous_id(b):
    anon = b.user.anonymous_id()
    b.user.id("u1")
    b.user.id(None)
    assert b.user.id() is None
    assert b.cookie("ajs_user_id") is None
    assert b.user.anonymous_id() == anon
    b.user.id("u2")  # from no id to an id: still the same visitor
    assert b.user.anonymous_id() == anon


# -- identify -------------------------------------------------------------------------------------

def test_identify_same_user_merges_traits(b):
    anon = b.user.anonymous_id()
    b.user.identify("u1", {"a": 1, "b": 1})
    b.user.identify("u1", {"b": 2, "c": 3})
    assert b.user.traits() == {"a": 1, "b": 2, "c": 3}
    assert b.ls.data["ajs_user_traits"] == '{"a":1,"b":2,"c":3}'
    assert b.user.anonymous_id() == anon
    assert b.cookie("ajs_user_traits") is None


def test_identify_without_id_merges_into_the_current_user(b):
    b.user.identify("u1", {"a": 1})
    b.user.identify(None, {"b": 2})
    assert b.user.id() == "u1"
    assert b.user.traits() == {"a": 1, "b": 2}
    b.user.identify("", {"c": 3})
    assert b.user.id() == "u1"
    assert b.user.traits() == {"a": 1, "b": 2, "c": 3}


def test_identify_anonymous_traits_then_a_user_merges(b):
    b.user.identify(None, {"a": 1})
    assert b.user.id() is None
    assert b.user.traits() == {"a": 1}
    b.user.identify("u1", {"b": 2})
    assert b.user.traits() == {"a": 1, "b": 2}


def test_identify_different_user_replaces_traits_and_anonymous_id(b):
    b.user.identify("u1", {"a": 1})
    anon = b.user.anonymous_id()
    b.user.identify("u2", {"c": 3})
    assert b.user.id() == "u2"
    assert b.user.traits() == {"c": 3}
    assert b.ls.data["ajs_user_traits"] == '{"c":3}'
    new = b.user.anonymous_id()
    assert new != anon and UUID4.match(new)


def test_id_empty_then_identify_makes_a_new_anonymous_id(b):
    anon = b.user.anonymous_id()
    b.user.id("")
    b.user.identify("u1", {"a": 1})
    assert b.user.id() == "u1"
    assert b.user.anonymous_id() != anon


def test_empty_user_id_cookie_then_identify_makes_a_new_anonymous_id(b):
    anon = b.user.anonymous_id()
    b.set_cookie("ajs_user_id", "")
    user = b.load()
    assert user.id() is None
    user.identify("u1")
    assert user.id() == "u1"
    assert b.cookie("ajs_user_id") == "%22u1%22"
    new = user.anonymous_id()
    assert new != anon and UUID4.match(new)


def test_traits_replace_and_clear(b):
    b.user.traits({"a": 1})
    assert b.user.traits({"b": 2}) == {"b": 2}
    assert b.user.traits() == {"b": 2}
    assert b.user.traits({}) == {}
    assert b.user.traits() == {}
    assert b.ls.data["ajs_user_traits"] == "{}"
    b.user.traits({"a": 1})
    assert b.user.traits(None) == {}
    assert b.ls.data["ajs_user_traits"] == "{}"


def test_traits_rejects_non_dicts(b):
    b.user.traits({"a": 1})
    with pytest.raises(TypeError):
        b.user.traits("x")
    with pytest.raises(TypeError):
        b.user.traits([1])
    assert b.user.traits() == {"a": 1}


def test_traits_returned_are_copies():
    b = Browser()
    b.ls.broken = True  # traits live in memory: mutation must not leak into the store
    user = b.load()
    user.traits({"a": 1})
    got = user.traits()
    got["x"] = 1
    assert user.traits() == {"a": 1}
    given = {"k": 1}
    user.traits(given)
    given["k"] = 2
    assert user.traits() == {"k": 1}


@pytest.mark.parametrize("raw", ["not json", "[1,2]", '"str"', "5", "", "true", "{bad"])
def test_corrupt_traits_read_as_empty_with_one_warning(b, raw):
    b.ls.data["ajs_user_traits"] = raw
    user = b.load()
    for _ in range(5):
        assert user.traits() == {}
    assert len(b.warnings) == 1
    assert "ajs_user_traits" in b.warnings[0]
    user.identify("u1", {"a": 1})
    assert b.ls.data["ajs_user_traits"] == '{"a":1}'


# -- logout / reset -------------------------------------------------------------------------------

def test_reset_removes_every_user_key(b):
    anon = b.user.anonymous_id()
    b.user.identify("u1", {"a": 1})
    b.group.identify("g1", {"n": 1})
    b.user.reset()
    assert b.ajs_keys() == (["ajs_group_id"], ["ajs_group_id", "ajs_group_properties"])
    assert b.user.id() is None
    assert b.user.traits() == {}
    new = b.user.anonymous_id()
    assert new != anon and UUID4.match(new)


def test_logout(b):
    b.user.anonymous_id()
    b.user.identify("u1", {"a": 1})
    b.user.logout()
    assert b.ajs_keys() == ([], [])
    assert b.load().id() is None


# -- group ----------------------------------------------------------------------------------------

def test_group_storage(b):
    b.group.identify("g1", {"plan": "pro"})
    assert b.cookie("ajs_group_id") == "%22g1%22"
    assert b.ls.data["ajs_group_id"] == '"g1"'
    assert b.ls.data["ajs_group_properties"] == '{"plan":"pro"}'
    assert b.load() and b.group.id() == "g1"
    assert b.group.traits() == {"plan": "pro"}


def test_group_has_no_anonymous_id(b):
    assert b.group.anonymous_id() is None
    assert b.group.anonymous_id("x") is None
    assert b.cookie("ajs_anonymous_id") is None


def test_changing_group_keeps_the_user_anonymous_id(b):
    anon = b.user.anonymous_id()
    b.group.identify("g1", {"a": 1})
    b.group.identify("g2", {"b": 2})
    assert b.group.id() == "g2"
    assert b.group.traits() == {"b": 2}
    b.group.id("g3")
    assert b.user.anonymous_id() == anon
    assert b.cookie("ajs_anonymous_id") == "%22" + anon + "%22"


def test_group_merges_for_the_same_group(b):
    b.group.identify("g1", {"a": 1})
    b.group.identify("g1", {"b": 2})
    b.group.identify(None, {"c": 3})
    assert b.group.traits() == {"a": 1, "b": 2, "c": 3}


def test_group_traits_clear_and_reset(b):
    b.user.identify("u1", {"u": 1})
    b.group.identify("g1", {"a": 1})
    assert b.group.traits({}) == {}
    assert b.ls.data["ajs_group_properties"] == "{}"
    b.group.reset()
    assert b.group.id() is None
    assert "ajs_group_id" not in b.ls.data and b.cookie("ajs_group_id") is None
    assert "ajs_group_properties" not in b.ls.data
    assert b.user.id() == "u1" and b.user.traits() == {"u": 1}


# -- Analytics.js 1.0's cookies ----------------------------------------------------------------

LEGACY_USER = ("%7B%22id%22%3A%22legacy-user%22%2C%22traits%22%3A%7B%22name%22%3A%22Ann%22%2C"
               "%22plan%22%3A%22pro%22%7D%7D")


def test_legacy_cookies_are_migrated_then_removed():
    b = Browser()
    b.set_cookie("_sio", "legacy-anon----1700000000000")
    b.set_cookie("ajs_user", LEGACY_USER)
    user = b.load(migrate=True)
    assert (user.anonymous_id(), user.id(), user.traits()) == (
        "legacy-anon", "legacy-user", {"name": "Ann", "plan": "pro"})
    assert b.cookie("ajs_anonymous_id") == "%22legacy-anon%22"
    assert b.cookie("ajs_user_id") == "%22legacy-user%22"
    assert b.ls.data["ajs_user_traits"] == '{"name":"Ann","plan":"pro"}'
    assert (b.cookie("_sio"), b.cookie("ajs_user")) == (None, None)
    # not the group: that is another entity
    assert (b.group.id(), b.group.traits()) == (None, {})
    # a later reset is not undone on the next page
    user.reset()
    user = b.load(migrate=True)
    assert (user.id(), user.traits()) == (None, {})
    assert b.warnings == []


def test_legacy_cookies_do_not_override_what_is_stored():
    b = Browser()
    user = b.load()
    user.identify("u-now", {"seat": 1})
    anon = user.anonymous_id()
    b.set_cookie("_sio", "legacy-anon----1")
    b.set_cookie("ajs_user", LEGACY_USER)
    user = b.load(migrate=True)
    assert (user.anonymous_id(), user.id(), user.traits()) == (anon, "u-now", {"seat": 1})
    assert (b.cookie("_sio"), b.cookie("ajs_user")) == (None, None)


@pytest.mark.parametrize("sio, user_cookie, want", [
    ("anon-only", None, ("anon-only", None, {})),  # no separator: the whole value
    ("----x", "%7B%22id%22%3A12345%7D", (None, "12345", {})),  # a numeric id, as text
    (None, "%7B%22traits%22%3A%7B%22a%22%3A1%7D%7D", (None, None, {"a": 1})),
    (None, "not-json", (None, None, {})),
    (None, "%7B%22id%22%3A%7B%7D%2C%22traits%22%3A5%7D", (None, None, {})),
])
def test_legacy_cookie_forms(sio, user_cookie, want):
    b = Browser()
    if sio is not None:
        b.set_cookie("_sio", sio)
    if user_cookie is not None:
        b.set_cookie("ajs_user", user_cookie)
    user = b.load(migrate=True)
    stored_anon = user._ids.read_id("ajs_anonymous_id", allow_empty=False)
    assert (stored_anon, user.id(), user.traits()) == want
