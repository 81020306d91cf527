"""The storage load options in the page (both runtimes), read from the real cookie jar and
localStorage: storage.stores (subset and order: the cookie still wins),
disableClientPersistence, user/group persist: false, and other key names."""

import json

import pytest

IDENTIFY = ("analytics.identify('u-1', {plan: 'pro'}); analytics.group('g-1', {size: 3}); "
            "analytics.track('Stored')")


def footprint(page) -> tuple:
    cookies = sorted(n for n in page.cookies() if not n.startswith("__"))
    local = sorted(n for n in page.storage() if n.startswith(("ajs_", "my_", "pyajs:tab")))
    return cookies, local


SCENARIOS = {
    "localStorage only": (
        {"storage": {"stores": ["localStorage"]}},
        ([], ["ajs_anonymous_id", "ajs_group_id", "ajs_group_properties", "ajs_user_id",
              "ajs_user_traits", "pyajs:tab"])),
    "cookie only": (
        {"storage": {"stores": ["cookie"]}},
        (["ajs_anonymous_id", "ajs_group_id", "ajs_user_id"], ["pyajs:tab"])),
    "disableClientPersistence": (
        {"disableClientPersistence": True}, ([], [])),
    "user not persisted, group keys renamed": (
        {"user": {"persist": False},
         "group": {"cookie": {"key": "my_gid"}, "localStorage": {"key": "my_gtraits"}}},
        (["my_gid"], ["my_gid", "my_gtraits", "pyajs:tab"])),
    "group not persisted, user keys renamed, order reversed": (
        {"group": {"persist": False}, "storage": {"stores": ["localStorage", "cookie"]},
         "user": {"cookie": {"key": "my_uid"}, "localStorage": {"key": "my_traits"}}},
        (["ajs_anonymous_id", "my_uid"], ["ajs_anonymous_id", "my_uid", "pyajs:tab"])),
}


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_storage_option(page, name):
    options, (cookies, local) = SCENARIOS[name]
    page.open()
    if "my_uid" in cookies:  # both stores hold the id, different: the cookie wins
        page.js("document.cookie = 'my_uid=%22cookie-user%22; path=/'; "
                "localStorage.setItem('my_uid', '\"ls-user\"')")
    page.load(options, after=(IDENTIFY if "my_uid" not in cookies else
                              "analytics.track('Stored')") +
              "; window.__early = Object.keys(localStorage)")
    (event,) = page.server.wait_events(1, type="track")
    # the snippet's copy of the calls made before ready: none without client persistence
    early = [k for k in page.js("window.__early") if k.startswith("pyajs:b:")]
    assert (early == []) == ("disableClientPersistence" in options), early
    found = footprint(page)
    assert (found[0], [k.split(":")[0] + ":tab" if k.startswith("pyajs:tab") else k
                       for k in found[1]]) == (cookies, local)
    if "my_uid" in cookies:
        assert event["userId"] == "cookie-user"
        assert page.storage()["my_uid"] == '"cookie-user"'
        page.js("analytics.identify({plan: 'pro'})")
        assert json.loads(page.storage()["my_traits"]) == {"plan": "pro"}
    else:
        assert event["userId"] == "u-1"
        assert page.js("analytics.group().id()") == "g-1"
    if "my_gid" in cookies:
        assert page.storage()["my_gid"] == '"g-1"'
        assert page.cookie("my_gid") == "%22g-1%22"
        assert json.loads(page.storage()["my_gtraits"]) == {"size": 3}
