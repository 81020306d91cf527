"""The storage load options (storage.stores, disableClientPersistence, user/group persist and
key names) through Analytics and FakePlatform: what ends up in cookies and localStorage."""

from fakes import FakePlatform
from pyajs.analytics import Analytics
from pyajs.storage import store_names


def make(options, **kw):
    platform = FakePlatform(options=options, **kw)
    return Analytics("WK", platform, options), platform


def reload(platform, options):
    new = FakePlatform(hostname=platform.hostname, jar=platform.jar,
                       local_storage=platform.local_storage, options=options)
    return Analytics("WK", new, options), new


def keys(platform):
    return (sorted(k for k in platform.jar.cookies if k.startswith("ajs")),
            sorted(k for k in platform.local_storage.data if k.startswith(("ajs", "pyajs"))))


def test_store_names():
    warn = []
    assert store_names({}, "user", warn.append) == ["cookie", "localStorage", "memory"]
    assert store_names({"storage": {"stores": ["localStorage", "cookie"]}}, "user",
                       warn.append) == ["cookie", "localStorage"]  # the cookie read first
    assert store_names({"disableClientPersistence": True}, "group", warn.append) == ["memory"]
    assert store_names({"disableClientPersistence": True, "user": {"persist": True}}, "user",
                       warn.append) == ["cookie", "localStorage", "memory"]
    assert store_names({"user": {"persist": False}}, "group", warn.append) == [
        "cookie", "localStorage", "memory"]
    assert store_names({"storage": {"stores": ["memory"]}, "user": {
        "storage": {"stores": ["cookie"]}}}, "user", warn.append) == ["cookie"]
    assert store_names({"user": {"localStorageFallbackDisabled": True}}, "user",
                       warn.append) == ["cookie", "memory"]
    assert warn == []
    assert store_names({"storage": {"stores": ["cookie", "indexedDB"]}}, "user",
                       warn.append) == ["cookie", "localStorage", "memory"]
    assert len(warn) == 1 and "storage" in warn[0]


def test_cookie_only():
    opts = {"storage": {"stores": ["cookie"]}}
    a, p = make(opts)
    a.identify("u1", {"plan": "pro"})
    a.group("g1", {"size": 3})
    assert keys(p)[0] == ["ajs_anonymous_id", "ajs_group_id", "ajs_user_id"]
    assert [k for k in keys(p)[1] if k.startswith("ajs")] == []
    assert a.user().traits() == {"plan": "pro"}  # for the page, in memory
    a2, _ = reload(p, opts)
    assert a2.user().id() == "u1" and a2.user().traits() == {}


def test_local_storage_only():
    opts = {"storage": {"stores": ["localStorage"]}}
    a, p = make(opts)
    a.identify("u1", {"plan": "pro"})
    assert keys(p)[0] == []
    assert p.stored("ajs_user_id") == '"u1"' and p.stored("ajs_user_traits") == '{"plan":"pro"}'
    a2, _ = reload(p, opts)
    assert a2.user().id() == "u1" and a2.user().traits() == {"plan": "pro"}


def test_memory_only_and_disable_client_persistence():
    for opts in ({"storage": {"stores": ["memory"]}}, {"disableClientPersistence": True}):
        a, p = make(opts)
        a.identify("u1", {"plan": "pro"})
        a.track("A")
        assert a.user().id() == "u1" and a.user().traits() == {"plan": "pro"}
        assert p.requests and p.requests[-1].body["userId"] == "u1"
        if "disableClientPersistence" in opts:
            assert keys(p) == ([], [])  # not even the queue
        else:
            assert keys(p)[0] == [] and not [k for k in keys(p)[1] if k.startswith("ajs")]
        a2, _ = reload(p, opts)
        assert a2.user().id() is None


def test_cookie_wins_whatever_the_order():
    opts = {"storage": {"stores": ["localStorage", "cookie"]}}
    a, p = make(opts)
    a.identify("u1")
    p.local_storage.data["ajs_user_id"] = '"ls-user"'
    a2, p2 = reload(p, opts)
    assert a2.user().id() == "u1" and p2.stored("ajs_user_id") == '"u1"'


def test_user_persist_false_keeps_the_group():
    opts = {"user": {"persist": False}}
    a, p = make(opts)
    a.identify("u1", {"plan": "pro"})
    a.group("g1", {"size": 3})
    assert keys(p)[0] == ["ajs_group_id"]
    assert "ajs_user_traits" not in p.local_storage.data
    assert p.stored("ajs_group_properties") == '{"size":3}'
    a2, _ = reload(p, opts)
    assert a2.user().id() is None and a2.group().id() == "g1"


def test_group_persist_false():
    opts = {"group": {"persist": False}}
    a, p = make(opts)
    a.identify("u1")
    a.group("g1", {"size": 3})
    assert keys(p)[0] == ["ajs_anonymous_id", "ajs_user_id"]
    assert "ajs_group_properties" not in p.local_storage.data
    assert a.group().id() == "g1"


def test_other_key_names():
    opts = {"user": {"cookie": {"key": "my_uid"}, "localStorage": {"key": "my_traits"}},
            "group": {"cookie": {"key": "my_gid"}, "localStorage": {"key": "my_gtraits"}}}
    a, p = make(opts)
    a.identify("u1", {"plan": "pro"})
    a.group("g1", {"size": 3})
    assert sorted(k for k in p.jar.cookies if not k.startswith("__")) == [
        "ajs_anonymous_id", "my_gid", "my_uid"]
    assert p.stored("my_uid") == '"u1"' and p.stored("my_traits") == '{"plan":"pro"}'
    assert p.stored("my_gid") == '"g1"' and p.stored("my_gtraits") == '{"size":3}'
    assert "ajs_user_id" not in p.local_storage.data
    # the cookie still wins under the new name
    p.local_storage.data["my_uid"] = '"other"'
    a2, p2 = reload(p, opts)
    assert a2.user().id() == "u1" and p2.stored("my_uid") == '"u1"'
    assert a2.user().traits() == {"plan": "pro"}


def test_bad_key_names_are_ignored_with_a_warning():
    opts = {"user": {"cookie": {"key": 3}}, "group": {"cookie": {"key": "ajs_anonymous_id"}}}
    a, p = make(opts)
    a.identify("u1")
    assert p.stored("ajs_user_id") == '"u1"'
    assert sum("key" in w for w in p.warnings) == 2


def test_hold_release_and_wipe():
    from fakes import MemoryCookieJar, MemoryLocalStorage
    from pyajs.storage import build_storages

    now = 1700000000000
    jar, ls = MemoryCookieJar("www.example.test", clock=lambda: now), MemoryLocalStorage()
    ids = build_storages(jar, ls, "www.example.test", False, None, print, lambda: now)[0]
    ids.write("ajs_user_id", "u1")
    ids.hold(["ajs_user_id", "ajs_group_id"])
    assert ids.held and ids.read_id("ajs_user_id") == "u1"  # read, kept in memory
    ids.write("ajs_user_id", None)
    ids.write("ajs_anonymous_id", "a1")
    assert ls.getItem("ajs_user_id") == '"u1"' and ls.getItem("ajs_anonymous_id") is None
    ids.release()  # memory wins, removals included
    assert not ids.held
    assert ls.getItem("ajs_user_id") is None and ls.getItem("ajs_anonymous_id") == '"a1"'
    assert "ajs_anonymous_id=" in jar.read() and "ajs_user_id=" not in jar.read()
    ids.hold(["ajs_anonymous_id"])
    ids.wipe(["ajs_anonymous_id"])
    assert ls.getItem("ajs_anonymous_id") is None and "ajs_anonymous_id=" not in jar.read()
    assert ids.read_id("ajs_anonymous_id") == "a1"  # the page keeps it
