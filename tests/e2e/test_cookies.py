"""Rule 9: cookie attributes as Chromium stored them, on an IP host, on a named host where the
top-domain probe runs, and with every attribute overridden by the ``cookie`` option."""

import time

ONE_DAY = 86400


def assert_days_ahead(cookie, days):
    ahead = cookie["expires"] - time.time()
    assert abs(ahead - days * ONE_DAY) < 120, (ahead, days)


def test_default_attributes_host_only_on_an_ip(page):
    page.open()
    page.load()
    c = page.cookies()["ajs_anonymous_id"]
    assert c["domain"] == "127.0.0.1"  # host-only (no leading dot)
    assert c["path"] == "/"
    assert c["sameSite"] == "Lax"
    assert c["secure"] is False
    assert_days_ahead(c, 365)
    assert "__tld__" not in page.cookies()


def test_named_host_gets_the_highest_domain_that_accepts_a_cookie(page):
    page.open(origin=page.server.named)  # www.pyajs.test
    page.load()
    page.js("analytics.identify('u1')")
    cookies = page.cookies()
    for name in ("ajs_anonymous_id", "ajs_user_id"):
        assert cookies[name]["domain"] == ".pyajs.test", cookies[name]
        assert cookies[name]["path"] == "/"
        assert cookies[name]["sameSite"] == "Lax"
    assert "__tld__" not in cookies  # the probe cleans up after itself


def test_the_id_is_shared_with_another_subdomain(page):
    page.open(origin=page.server.named)
    page.load()
    anon = page.js("analytics.user().anonymousId()")
    page.open(origin=page.server.named.replace("www.", "shop."))
    page.load()
    assert page.js("analytics.user().anonymousId()") == anon


def test_every_attribute_can_be_overridden(page):
    page.open(origin=page.server.named)
    page.load({"cookie": {"domain": "www.pyajs.test", "maxage": 7, "path": "/",
                          "sameSite": "Strict"}})
    c = page.cookies()["ajs_anonymous_id"]
    assert c["domain"] == ".www.pyajs.test"
    assert c["sameSite"] == "Strict"
    assert_days_ahead(c, 7)


def test_path_override(page):
    page.open()
    page.load({"cookie": {"path": "/e2e.html"}})
    assert page.cookies()["ajs_anonymous_id"]["path"] == "/e2e.html"


def test_secure_cookie_refused_on_http_falls_back_to_localstorage(page):
    page.open(origin=page.server.named)
    page.load({"cookie": {"secure": True}}, after="analytics.track('Still Sent')")
    assert "ajs_anonymous_id" not in page.cookies()
    anon = page.js("analytics.user().anonymousId()")
    assert page.storage()["ajs_anonymous_id"] == '"%s"' % anon
    (event,) = page.server.wait_events(1)
    assert event["anonymousId"] == anon
    assert any("cookies are not available" in w for w in page.warnings())


def test_bad_cookie_option_is_reported_and_defaults_kept(page):
    page.open()
    page.load({"cookie": {"maxage": "forever", "sameSite": 3}})
    c = page.cookies()["ajs_anonymous_id"]
    assert_days_ahead(c, 365)
    assert c["sameSite"] == "Lax"
    warnings = page.warnings()
    assert any("cookie.maxage" in w for w in warnings)
    assert any("cookie.sameSite" in w for w in warnings)


def test_analytics_js_1_cookies_and_numeric_ids_are_taken_over(page):
    """A visitor of the site's Analytics.js 1.0 days: the anonymous id from ``_sio``, the user
    id and traits from ``ajs_user`` (then both removed), a numeric group id in localStorage
    re-written as a JSON string."""
    page.open(origin=page.server.named)
    page.js("""() => {
      const SITE = '; domain=pyajs.test; path=/; max-age=8640000';
      document.cookie = '_sio=legacy-anon----1700000000000' + SITE;
      document.cookie = 'ajs_user=' + encodeURIComponent(JSON.stringify(
        {id: 'legacy-user', traits: {name: 'Ann', plan: 'pro'}})) + SITE;
      localStorage.setItem('ajs_group_id', '12345');
    }""")
    page.load(after="analytics.track('Back')")
    (event,) = page.server.wait_events(1)
    assert (event["anonymousId"], event["userId"]) == ("legacy-anon", "legacy-user")
    assert page.js("analytics.group().id()") == "12345"  # read (and re-synced) when asked
    cookies, storage = page.cookies(), page.storage()
    assert "_sio" not in cookies and "ajs_user" not in cookies
    assert cookies["ajs_anonymous_id"]["value"] == "%22legacy-anon%22"
    assert cookies["ajs_user_id"]["value"] == "%22legacy-user%22"
    assert cookies["ajs_group_id"]["value"] == "%2212345%22"
    assert storage["ajs_user_traits"] == '{"name":"Ann","plan":"pro"}'
    assert storage["ajs_group_id"] == '"12345"'
    assert "ajs_group_properties" not in storage  # the legacy user is not a group
