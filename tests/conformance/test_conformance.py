"""pyajs next to the real analytics-next 1.84.3, scenario by scenario.

Each scenario is written once against the public API (``window.analytics`` and browser
storage) and played for both libraries, each in a fresh browser context on
``http://shop.test:<port>``; pyajs once per runtime (``test_scenario[<name>-py]`` on Pyodide,
``[<name>-mpy]`` on MicroPython), each compared with the same analytics-next run (played
once per scenario, or once per runtime when it also visits pyajs's page). Every scenario
runs where the site is a secure context, as every https site is (Chromium is told to treat
the http origin as one); the scenarios marked ``http=True`` run on plain http too
(``[<name>-py-http]``), where secure-only browser APIs such as ``navigator.userAgentData``
are missing. The two runs'
observations (cookies, localStorage, ``user()`` / ``group()`` reads, received events; see
``harness``) must be identical, except for the differences the scenario declares, each of
which is a row of the README's table "Where pyajs deliberately differs from Analytics.js";
the last three tests keep that table and the suite in step. A scenario counts as
*identical* when only the encoding differences in ``ALWAYS`` show (the values decode to the
same ids), as *deliberately different* when it declares rows of the table, and as *open*
when it shows a difference that is neither; each runtime is counted apart.

``PYAJS_CONFORMANCE_DUMP=<folder>`` writes each scenario's two normalised runs there, one
file per runtime.
"""

import json
import os
import re
import time
from pathlib import Path

import pytest

from tests.conformance import harness
from tests.conformance.harness import (
    ABSENT,
    NEXT,
    PYAJS,
    RESULTS,
    RUNTIMES,
    SITES,
    Deliberate,
    Tab,
)

README = Path(__file__).resolve().parents[2] / "README.md"

# -- the README's deliberate differences that scenarios assert -----------------------------
COOKIE_FORMAT = Deliberate("cookie value format")
LAZY_ID = Deliberate("when the anonymous id is made")
NULL_IN_STORAGE = Deliberate("`localStorage` when an id is null")
ID_READ = Deliberate("id read when cookie and localStorage disagree")
STORAGE_THROWS = Deliberate("`localStorage.setItem` throws")
REPLAY = Deliberate("replay of buffered calls")
STAMPED = Deliberate("identity on an event")
ALIAS = Deliberate("`alias(to)` while a user id is stored")
QUERY_PATTERNS = Deliberate("`useQueryString` restrictions")
UTM_INSIDE = Deliberate("`context.campaign` from a key with `utm_` inside")
HOST_ONLY_SHADOW = Deliberate("a host-only `ajs_` cookie beside the library's own")
DELIVERY_STATE = Deliberate("delivery bookkeeping in `localStorage`")
BAD_ARGUMENTS = Deliberate("bad arguments")
MAXAGE_MS = Deliberate("`cookie.maxage` in milliseconds (classic option)")
CALLBACK = Deliberate("per-call callback")
CORRUPT = Deliberate("corrupted stored values (object in an id, non-object traits)")
MESSAGE_ID = Deliberate("`messageId`")
LIBRARY = Deliberate("`context.library`")
METADATA = Deliberate("`_metadata` on events")
LEGACY_COOKIES = Deliberate("Analytics.js 1.0 cookies (`_sio`, `ajs_user`)")
EVENT_ANSWER = Deliberate("what `track()` and the other event calls answer")
BEFORE_THROWS = Deliberate("a `before` plugin that throws")
SOURCE_NEXT_NULL = Deliberate("source middleware calling `next(null)`")
DESTINATION_MIDDLEWARE = Deliberate("`addDestinationMiddleware` for a plugin added with "
                                    "`register`")

# Encoding differences that may show wherever the stores are observed: the values decode to
# the same thing; how they are written differs on purpose.
ALWAYS = [
    COOKIE_FORMAT.at("*.cookies.*.written", next="plain", pyajs="quoted"),
    NULL_IN_STORAGE.at("*.localStorage.ajs_*", next=None, pyajs=ABSENT),
    # pyajs keeps unsent events and a heartbeat per page in localStorage; analytics-next
    # writes its queues only at page hide, and had nothing left to write here
    DELIVERY_STATE.at("*.deliveryState", next=[], pyajs=["pyajs"]),
]
ALWAYS_ROWS = {e.deliberate.row for e in ALWAYS}
# Checked by the normaliser (harness._event) on every event: only each library's documented
# shape is made neutral, so anything else shows up as a difference.
NORMALISED = {"messageId": MESSAGE_ID, "library": LIBRARY, "_metadata": METADATA}
MATCHED_ROWS = {rt: set() for rt in RUNTIMES}  # runtime → README rows its scenarios showed

SCENARIOS = []


class Scenario:
    def __init__(self, fn, expected, open_reason, foreign, http=False, timing=()):
        self.name = fn.__name__
        self.fn = fn
        self.expected = list(expected)
        self.http = http  # also played on plain http
        self.timing = list(timing)  # differences that show only when timing allows
        if not isinstance(open_reason, dict):
            open_reason = {rt: open_reason for rt in RUNTIMES} if open_reason else {}
        assert set(open_reason) <= set(RUNTIMES), open_reason
        self.open_reason = open_reason  # runtime → reason
        self.foreign = foreign or {}

    def __repr__(self):
        return self.name


def scenario(*expected, open_reason=None, foreign=None, http=False, timing=()):
    """Register ``fn(tab)``; ``expected`` are the deliberate differences it must show;
    ``open_reason`` marks a difference not yet fixed nor deliberate (the test then
    xfails, strictly): a reason for every runtime, or ``{runtime: reason}`` for some;
    ``foreign`` maps a library to the off-origin URLs it is known to try (the browser
    refuses them); ``http``: also play it on plain http; ``timing``: deliberate differences
    that may show or not, depending on how fast the machine is (the scenario must not
    depend on them, so they are allowed, never required)."""
    def register(fn):
        SCENARIOS.append(Scenario(fn, expected, open_reason, foreign, http, timing))
        return fn
    return register


def absent(value):
    return value == ABSENT


def present(value):
    return value != ABSENT


def uuid_label(value):
    return isinstance(value, str) and re.fullmatch(r"<uuid\d+>", value) is not None


def site_cookie(value_ok):
    """A cookie on the site's domain for a year, whose value passes ``value_ok``."""
    def check(entry):
        return (isinstance(entry, dict) and entry.get("domain") == "." + harness.HOST
                and entry.get("expires") == 365 and value_ok(entry.get("value")))
    return check


# ==========================================================================================
# Visits and storage
# ==========================================================================================
TRACK_AND_PAGE = "analytics.page(); analytics.track('Viewed Item', {sku: 'A-1', price: 9.5})"
IDENTIFY_AND_GROUP = ("analytics.identify('u-1', {plan: 'pro', email: 'a@b.test'}); "
                      "analytics.group('g-1', {name: 'Acme'})")


@scenario(
    # analytics-next makes the id when something first needs it; pyajs at initialization.
    LAZY_ID.at("loaded.cookies.ajs_anonymous_id", next=absent, pyajs=site_cookie(uuid_label)),
    LAZY_ID.at("loaded.localStorage.ajs_anonymous_id", next=absent, pyajs=uuid_label),
    http=True,
)
def first_visit(t):
    """A new visitor: storage after load, then a page and a track."""
    t.open()
    t.load()
    t.observe("loaded")
    t.call("() => { %s }" % TRACK_AND_PAGE)
    t.observe("events", events=2)


@scenario(http=True)
def reload(t):
    """The same visitor on the next page load keeps ids and traits."""
    t.open()
    t.load(after=TRACK_AND_PAGE)
    t.observe("first", events=2)
    t.call("() => { %s }" % IDENTIFY_AND_GROUP)
    t.observe("identified", events=2)
    t.reload(after="analytics.track('Back')")
    t.observe("reloaded", events=1)


@scenario()
def cookies_cleared(t):
    """Cookies cleared: the ids come back from localStorage, into new cookies."""
    t.open()
    t.load(after=IDENTIFY_AND_GROUP)
    t.observe("identified", events=2)
    t.clear_cookies()
    t.reload(after="analytics.track('Back')")
    t.observe("reloaded", events=1)


@scenario()
def local_storage_cleared(t):
    """localStorage cleared: ids come back from the cookies; traits are gone."""
    t.open()
    t.load(after=IDENTIFY_AND_GROUP)
    t.observe("identified", events=2)
    t.clear_local_storage()
    t.reload(after="analytics.track('Back')")
    t.observe("reloaded", events=1)


@scenario()
def both_cleared(t):
    """Cookies and localStorage cleared: a new visitor."""
    t.open()
    t.load(after=IDENTIFY_AND_GROUP)
    t.observe("identified", events=2)
    t.clear_cookies()
    t.clear_local_storage()
    t.reload(after="analytics.track('Back')")
    t.observe("reloaded", events=1)


@scenario()
def reset(t):
    """reset() forgets user and group; the next event has a new anonymous id."""
    t.open()
    t.load(after=IDENTIFY_AND_GROUP)
    t.observe("identified", events=2)
    t.call("() => analytics.reset()")
    t.observe("reset")
    t.call("() => analytics.track('After Reset')")
    t.observe("tracked", events=1)
    t.reload()
    t.observe("reloaded")


# ==========================================================================================
# identify and traits
# ==========================================================================================
@scenario()
def identify_new_user(t):
    """Switching users replaces the traits and starts a new anonymous id."""
    t.open()
    t.load(after="analytics.track('Anonymous')")
    t.observe("anonymous", events=1)
    t.call("() => analytics.identify('u-1', {plan: 'pro', shared: 1})")
    t.observe("first user", events=1)
    t.call("() => { analytics.identify('u-2', {seat: 3}); analytics.track('As U2'); }")
    t.observe("second user", events=2)


@scenario()
def same_user_new_traits(t):
    """The same user (or no id given) merges traits."""
    t.open()
    t.load(after="analytics.identify('u-1', {plan: 'pro', seats: 1})")
    t.observe("identified", events=1)
    t.call("() => analytics.identify('u-1', {seats: 5, region: 'eu'})")
    t.observe("same id", events=1)
    t.call("() => { analytics.identify({vip: true}); analytics.identify(null, {nps: 9}); }")
    t.observe("no id", events=2)
    t.reload()
    t.observe("reloaded")


@scenario()
def empty_user_id_then_identify(t):
    """``user().id('')`` stores an empty id (read as null); identify then counts as a
    change of user."""
    t.open()
    t.load(after="analytics.track('Anonymous')")
    t.observe("anonymous", events=1)
    t.call("() => analytics.user().id('')")
    t.observe("emptied")
    t.call("() => { analytics.identify('u-2', {plan: 'pro'}); analytics.track('As U2'); }")
    t.observe("identified", events=2)


@scenario(
    # The page's cookie has no domain, so it comes first in document.cookie. analytics-next
    # keeps it (localStorage wins for the user id, so identify still works); pyajs, which
    # reads the cookie first, removes it once it would hide the id pyajs writes.
    HOST_ONLY_SHADOW.at("*.cookies.ajs_user_id@" + harness.HOST, next=present, pyajs=absent),
)
def empty_user_id_cookie_from_page(t):
    """The page itself wrote an empty ``ajs_user_id`` cookie before loading."""
    t.open()
    t.call("() => { document.cookie = 'ajs_user_id=; path=/'; }")
    t.load(after="analytics.track('Anonymous')")
    t.observe("loaded", events=1)
    t.call("() => { analytics.identify('u-1', {plan: 'pro'}); analytics.track('As U1'); }")
    t.observe("identified", events=2)


@scenario()
def options_traits_and_context_traits(t):
    """``options.traits`` and ``options.context.traits`` land in ``context.traits``; stored
    traits are never copied there."""
    t.open()
    t.load(after="analytics.identify('u-1', {plan: 'pro'})")
    t.observe("identified", events=1)
    t.call("""() => {
        analytics.track('A', {}, {traits: {t: 1}});
        analytics.track('B', {}, {context: {traits: {c: 2}}});
        analytics.page('Docs', {}, {traits: {p: 3}});
        analytics.identify('u-1', {more: true}, {context: {traits: {ctx: 4}}});
    }""")
    t.observe("with options", events=4)


@scenario()
def traits_clearing(t):
    """``user().traits({})`` / ``traits(null)`` clear, ``traits(obj)`` replaces; the same
    for the group."""
    t.open()
    t.load(after="analytics.identify('u-1', {a: 1, b: 2}); analytics.group('g-1', {n: 1})")
    t.observe("identified", events=2)
    t.call("() => { analytics.user().traits({}); analytics.group().traits(null); }")
    t.observe("cleared")
    t.call("() => { analytics.identify('u-1', {c: 3}); analytics.user().traits({d: 4}); }")
    t.observe("replaced", events=1)
    t.call("() => analytics.user().traits(null)")
    t.reload()
    t.observe("reloaded")


@scenario()
def context_ip(t):
    """``context.ip`` given as ``options.context.ip`` or ``options.ip``, and other option
    keys, land in ``context``."""
    t.open()
    t.load()
    t.call("""() => {
        analytics.identify('u-1', {}, {context: {ip: '0.0.0.0'}});
        analytics.track('A', {}, {context: {ip: '1.2.3.4'}});
        analytics.track('B', {}, {ip: '5.6.7.8', foo: 'bar'});
        analytics.page('Home', {}, {context: {ip: '9.9.9.9', locale: 'fr-FR'}});
    }""")
    t.observe("sent", events=4)


# ==========================================================================================
# The anonymous id
# ==========================================================================================
@scenario()
def set_anonymous_id_before_ready(t):
    """``setAnonymousId`` buffered after a page call still applies to it."""
    t.open()
    t.load(before="analytics.page(); analytics.setAnonymousId('ABC-123-XYZ')")
    t.observe("loaded", events=1)
    t.call("() => analytics.track('After')")
    t.observe("tracked", events=1)


@scenario()
def anonymous_id_overrides(t):
    """The three ways to set the anonymous id after load: ``setAnonymousId``,
    ``user().anonymousId(id)`` and ``options.anonymousId``; each persists."""
    t.open()
    t.load()
    t.call("() => { analytics.setAnonymousId('set-1'); analytics.track('One'); }")
    t.observe("setAnonymousId", events=1, page=t.call("() => analytics.setAnonymousId()"))
    t.call("() => { analytics.user().anonymousId('user-2'); analytics.track('Two'); }")
    t.observe("user().anonymousId", events=1)
    t.call("() => { analytics.track('Three', {}, {anonymousId: 'opt-3'}); }")
    t.observe("options.anonymousId", events=1)
    t.call("() => analytics.track('Four')")
    t.observe("after", events=1)
    t.reload()
    t.observe("reloaded")


@scenario()
def options_anonymous_id_on_calls(t):
    """``options.anonymousId`` on track, identify and page: on the event, and persisted."""
    t.open()
    t.load()
    t.call("() => analytics.track('T', {}, {anonymousId: 'on-track'})")
    t.observe("track", events=1)
    t.call("() => analytics.identify('u-1', {a: 1}, {anonymousId: 'on-identify'})")
    t.observe("identify", events=1)
    t.call("() => analytics.page('P', {}, {anonymousId: 'on-page'})")
    t.observe("page", events=1)


# ==========================================================================================
# ready, group, alias
# ==========================================================================================
@scenario(
    # analytics-next replays buffered calls grouped by method, in order of first use: the
    # buffered ready callback runs before the buffered identify after it. pyajs replays in
    # call order and runs ready callbacks once every buffered call was made.
    REPLAY.at("late.page", next=[["buffered ready", None], ["late ready", "u-ready"]],
              pyajs=[["buffered ready", "u-ready"], ["late ready", "u-ready"]]),
)
def ready_callbacks(t):
    """``ready(cb)`` buffered before load and called after: both run, once, after the
    buffered calls were replayed."""
    t.open()
    t.load(before="""
        window.__log = [];
        analytics.ready(function () {
            window.__log.push(['buffered ready', analytics.user().id()]);
        });
        analytics.identify('u-ready');
    """)
    t.observe("loaded", events=1)
    t.call("""() => new Promise((resolve) => analytics.ready(function () {
        window.__log.push(['late ready', analytics.user().id()]); resolve();
    }))""")
    t.observe("late", page=t.call("() => window.__log"))


@scenario(
    LAZY_ID.at("ready.cookies.ajs_anonymous_id", next=absent, pyajs=site_cookie(uuid_label)),
    LAZY_ID.at("ready.localStorage.ajs_anonymous_id", next=absent, pyajs=uuid_label),
)
def ready_callback_argument(t):
    """``ready(cb)``: the callback gets one argument (the list of what each plugin's ready
    gave: nothing), runs after ``ready()`` returns even when already ready, and ``ready()``
    answers a Promise of that argument."""
    describe = """(args) => ({count: args.length, list: Array.isArray(args[0]),
        empty: Array.isArray(args[0]) && args[0].every((v) => v === undefined)})"""
    t.open()
    t.load(before="window.__describe = %s; window.__buffered = [];"
                  "analytics.ready(function () {"
                  " window.__buffered.push(window.__describe(arguments)); })" % describe)
    page = t.call("""async () => {
        let inside = true, seen = null;
        const answer = analytics.ready(function () {
            seen = Object.assign(window.__describe(arguments), {insideReadyCall: inside});
        });
        inside = false;
        const res = await answer;
        return {buffered: window.__buffered, late: seen, promise: answer instanceof Promise,
                resolvedToList: Array.isArray(res)};
    }""")
    t.observe("ready", page=page)


@scenario()
def group_persistence(t):
    """The group id and traits persist; traits merge for the same group and are replaced
    for another one; events carry no group id."""
    t.open()
    t.load(after="analytics.group('g-1', {name: 'Acme', size: 10})")
    t.observe("grouped", events=1)
    t.call("() => { analytics.group({size: 12}); analytics.track('In Group'); }")
    t.observe("merged", events=2)
    t.reload()
    t.observe("reloaded")
    t.call("() => analytics.group('g-2', {name: 'Beta'})")
    t.observe("other group", events=1)


@scenario()
def alias_anonymous(t):
    """``alias(to)`` and ``alias(to, from)`` for an anonymous visitor."""
    t.open()
    t.load()
    t.call("() => { analytics.alias('new-id'); analytics.alias('to-id', 'from-id'); }")
    t.observe("aliased", events=2)


@scenario(
    # analytics-next stamps the stored user id over the alias target.
    ALIAS.at("aliased.events[*].userId", next="u-1", pyajs=lambda v: v in ("new-id", "to-id")),
)
def alias_identified(t):
    """``alias`` after ``identify``: the target must reach the server."""
    t.open()
    t.load(after="analytics.identify('u-1')")
    t.observe("identified", events=1)
    t.call("() => { analytics.alias('new-id'); analytics.alias('to-id', 'from-id'); }")
    t.observe("aliased", events=2)


# ==========================================================================================
# The query-string API
# ==========================================================================================
QUERY = ("?ajs_aid=qa-anon&ajs_uid=qu-user&ajs_trait_name=Bob%20S&ajs_trait_x=1"
         "&ajs_event=Clicked+Thing&ajs_prop_color=red")


@scenario(http=True)
def query_string(t):
    """``ajs_aid``, ``ajs_uid`` + ``ajs_trait_*``, ``ajs_event`` + ``ajs_prop_*``, before
    the page's buffered calls."""
    t.open(QUERY)
    t.load(before="analytics.track('Buffered')")
    t.observe("loaded", events=3)


@scenario()
def query_string_in_hash(t):
    """With no search, the part of the hash after ``?`` is read."""
    t.open("#/account?ajs_uid=h-user&ajs_trait_plan=pro&ajs_event=Opened")
    t.load()
    t.observe("loaded", events=2)


@scenario()
def query_string_edge_cases(t):
    """Empty values, repeated keys, a second ``=``, a malformed escape, ``+``."""
    t.open("?ajs_aid=&ajs_uid=u%ZZ+x&ajs_trait_a=1&ajs_trait_a=2&ajs_trait_b=x=y"
           "&ajs_event=Sale+50%25&ajs_prop_p=%E2%82%AC+9")
    t.load()
    t.observe("loaded", events=2)


@scenario()
def query_string_disabled(t):
    """``useQueryString: false``."""
    t.open(QUERY)
    t.load(options={"useQueryString": False}, after="analytics.track('Own')")
    t.observe("loaded", events=1)


@scenario(
    QUERY_PATTERNS.at("*.page", next="RegExp", pyajs="string"),
)
def query_string_restricted(t):
    """``useQueryString: {aid, uid}`` restricts the ids: analytics-next takes RegExps,
    pyajs pattern strings (its options cross into Python as JSON)."""
    patterns = t.per_lib(next="{aid: /^[a-z]+$/, uid: /^u-[0-9]+$/}",
                         pyajs="{aid: '^[a-z]+$', uid: '^u-[0-9]+$'}")
    kind = "() => window.__p.aid instanceof RegExp ? 'RegExp' : typeof window.__p.aid"
    for label, query, events in (("aid refused", "?ajs_aid=ABC-1&ajs_uid=u-12&ajs_event=E", 2),
                                 ("uid refused", "?ajs_aid=abc&ajs_uid=admin&ajs_event=E", 1)):
        t.open(query)
        t.call("() => { window.__p = %s; }" % patterns)
        t.load(options_js="{useQueryString: window.__p}")
        t.observe(label, events=events, page=t.call(kind))


@scenario(
    # analytics-next names a campaign field by cutting the key's first 4 characters, wherever
    # utm_ is; pyajs takes the text after utm_.
    UTM_INSIDE.at("loaded.events[*].context.campaign.m_medium", next="mail", pyajs=absent),
    UTM_INSIDE.at("loaded.events[*].context.campaign.medium", next=absent, pyajs="mail"),
)
def campaign_parameters(t):
    """``utm_*`` parameters become ``context.campaign``; a query string without them gives
    an empty campaign."""
    t.open("?utm_source=news&utm_campaign=spring+sale&utm_term=50%25+off&x_utm_medium=mail")
    t.load(after="analytics.track('Landed'); analytics.page()")
    t.observe("loaded", events=2)
    t.open("?ref=home")
    t.load(after="analytics.track('Plain')")
    t.observe("no utm", events=1)


# ==========================================================================================
# Cookies written by other versions or by the page
# ==========================================================================================
@scenario(http=True)
def legacy_quoted_cookies(t):
    """Cookies in Analytics.js 1.0's format (URL-encoded JSON) are read."""
    t.open()
    t.call("""() => {
        const SITE = 'domain=shop.test; path=/; max-age=8640000';  // as written 265 days ago
        document.cookie = 'ajs_anonymous_id=%22legacy-anon%22; ' + SITE;
        document.cookie = 'ajs_user_id=%22legacy-user%22; ' + SITE;
        document.cookie = 'ajs_group_id=%22legacy-group%22; ' + SITE;
    }""")
    t.load(after="analytics.track('Legacy')")
    t.observe("loaded", events=1)


@scenario(
    # analytics-next keeps the legacy cookies and applies ajs_user again on every page (its
    # traits replace the ones set since), to the user and to the group; it answers _sio's
    # anonymous id on each read without storing it. pyajs takes them over once, where
    # nothing is stored, into the user only, and removes them.
    LEGACY_COOKIES.at("*.cookies._sio", next=present, pyajs=absent),
    LEGACY_COOKIES.at("*.cookies.ajs_user", next=present, pyajs=absent),
    LEGACY_COOKIES.at("*.cookies.ajs_anonymous_id", next=absent,
                      pyajs=site_cookie(lambda v: v == "legacy-anon")),
    LEGACY_COOKIES.at("*.localStorage.ajs_anonymous_id", next=None, pyajs="legacy-anon"),
    LEGACY_COOKIES.at("*.cookies.ajs_group_id", next=present, pyajs=absent),
    LEGACY_COOKIES.at("*.localStorage.ajs_group_id", next="legacy-user", pyajs=absent),
    LEGACY_COOKIES.at("*.localStorage.ajs_group_properties", next=present, pyajs=absent),
    LEGACY_COOKIES.at("*.reads.groupId", next="legacy-user", pyajs=None),
    LEGACY_COOKIES.at("*.reads.groupTraits.*", next=present, pyajs=absent),
    LEGACY_COOKIES.at("reloaded.*.seen", next=absent, pyajs=2),
    http=True,
)
def analytics_js_1_cookies(t):
    """A visitor from the site's Analytics.js 1.0 days: ``_sio`` (anonymous id and session)
    and ``ajs_user`` (user id and traits, URL-encoded JSON)."""
    t.open()
    t.call("""() => {
        const SITE = 'domain=shop.test; path=/; max-age=8640000';
        document.cookie = '_sio=legacy-anon----1700000000000; ' + SITE;
        document.cookie = 'ajs_user=' + encodeURIComponent(JSON.stringify(
            {id: 'legacy-user', traits: {name: 'Ann', plan: 'pro'}})) + '; ' + SITE;
    }""")
    t.load(after="analytics.track('Back')")
    t.observe("loaded", events=1)
    t.call("() => analytics.identify({seen: 2})")
    t.observe("identified", events=1)
    t.reload(after="analytics.track('Again')")
    t.observe("reloaded", events=1)


@scenario()
def numeric_ids_in_local_storage(t):
    """Analytics.js 1.0 wrote numeric ids as JSON numbers in localStorage."""
    t.open()
    t.call("""() => {
        localStorage.setItem('ajs_user_id', '12345');
        localStorage.setItem('ajs_group_id', '678');
    }""")
    t.load(after="analytics.track('Numeric')")
    t.observe("loaded", events=1)


@scenario()
def unquoted_cookies(t):
    """Raw cookie values (analytics-next's format, and a number) are read."""
    t.open()
    t.call("""() => {
        const SITE = 'domain=shop.test; path=/; max-age=8640000';
        document.cookie = 'ajs_anonymous_id=raw-anon; ' + SITE;
        document.cookie = 'ajs_user_id=raw-user; ' + SITE;
        document.cookie = 'ajs_group_id=12345; ' + SITE;
    }""")
    t.load(after="analytics.track('Raw')")
    t.observe("loaded", events=1)


@scenario(
    # analytics-next 1.84.3: the cookie wins for the anonymous id, localStorage for the
    # user and group ids; pyajs: the cookie wins for every id.
    ID_READ.at("loaded.cookies.ajs_user_id.value", next="ls-user", pyajs="cookie-user"),
    ID_READ.at("loaded.localStorage.ajs_user_id", next="ls-user", pyajs="cookie-user"),
    ID_READ.at("loaded.reads.userId", next="ls-user", pyajs="cookie-user"),
    ID_READ.at("loaded.reads.groupId", next="ls-group", pyajs="cookie-group"),
    ID_READ.at("loaded.events[0].userId", next="ls-user", pyajs="cookie-user"),
)
def cookie_and_local_storage_disagree(t):
    """Cookie and localStorage hold different ids."""
    t.open()
    t.call("""() => {
        const SITE = 'domain=shop.test; path=/; max-age=8640000';
        document.cookie = 'ajs_anonymous_id=cookie-anon; ' + SITE;
        document.cookie = 'ajs_user_id=cookie-user; ' + SITE;
        document.cookie = 'ajs_group_id=cookie-group; ' + SITE;
        localStorage.setItem('ajs_anonymous_id', '"ls-anon"');
        localStorage.setItem('ajs_user_id', '"ls-user"');
        localStorage.setItem('ajs_group_id', '"ls-group"');
    }""")
    t.load(after="analytics.track('Which')")
    t.observe("loaded", events=1)


# ==========================================================================================
# What the browser says of itself
# ==========================================================================================
@scenario(http=True)
def user_agent_data(t):
    """``context.userAgentData`` (a secure context only): ``{brands, mobile, platform}``,
    or the high-entropy values ``highEntropyValuesClientHints`` lists."""
    t.open()
    t.load(after="analytics.track('Low Entropy'); analytics.page()")
    t.observe("default", events=2)
    t.open()
    t.load(options={"highEntropyValuesClientHints": ["platformVersion", "architecture",
                                                      "model", "uaFullVersion"]},
           after="analytics.track('High Entropy')")
    t.observe("high entropy", events=1)


# ==========================================================================================
# Broken storage
# ==========================================================================================
SET_ITEM_THROWS = """
  Storage.prototype.setItem = function () {
    throw new DOMException('full', 'QuotaExceededError');
  };
"""
STORAGE_GETTER_THROWS = """
  Object.defineProperty(window, 'localStorage', {
    get() { throw new DOMException('denied', 'SecurityError'); }});
"""


@scenario(
    # analytics-next fails to load ("Failed to load Analytics.js") and sends nothing;
    # pyajs starts on cookies and memory.
    STORAGE_THROWS.at("loaded.ready", next=False, pyajs=True),
    STORAGE_THROWS.at("loaded.reads", next=absent, pyajs=present),
    STORAGE_THROWS.at("loaded.cookies.ajs_*", next=absent, pyajs=present),
    STORAGE_THROWS.at("loaded.events[*]", next=absent, pyajs=present),
    # its failure report goes to Segment's metrics host (refused by the browser here)
    foreign={"next": ["https://api.segment.io/v1/m"]},
)
def local_storage_set_item_throws(t):
    """``localStorage.setItem`` throws (storage full, a privacy mode)."""
    t.context.add_init_script(SET_ITEM_THROWS)
    t.open()
    t.load(wait=False, after="analytics.identify('u-1', {plan: 'pro'}); analytics.track('T')")
    t.ready_or_failed("Failed to load Analytics.js")
    t.observe("loaded", events=t.per_lib(next=0, pyajs=2))


@scenario()
def local_storage_getter_throws(t):
    """Reading ``window.localStorage`` itself throws: both run on cookies and memory."""
    t.context.add_init_script(STORAGE_GETTER_THROWS)
    t.open()
    t.load(after="analytics.identify('u-1', {plan: 'pro'}); analytics.track('T')")
    t.observe("loaded", events=2)
    t.reload()
    t.observe("reloaded")


# ==========================================================================================
# Calls made before the library is ready, and at the same moment
# ==========================================================================================
@scenario(
    # analytics-next replays buffered calls grouped by method and fills the user id at send
    # time, so 'Before' carries the user identified after it; pyajs keeps the call order
    # and stamps the identity when the call was made.
    REPLAY.at("loaded.events[*].userId", next="u-1", pyajs=None),
)
def buffered_calls(t):
    """Calls made before load, interleaving track and identify."""
    t.open()
    t.load(before="analytics.track('Before'); analytics.identify('u-1'); "
                  "analytics.track('After'); analytics.page('Home')")
    t.observe("loaded", events=4)


@scenario(
    STAMPED.at("sent.events[*].userId", next="u-1", pyajs=None),
)
def track_then_identify_in_one_task(t):
    """``track`` then ``identify`` in the same task, after load."""
    t.open()
    t.load()
    t.call("() => { analytics.track('Before Login'); analytics.identify('u-1'); }")
    t.observe("sent", events=2)


# ==========================================================================================
# A site migrating in either direction loses nobody
# ==========================================================================================
def _visit_then_switch(t, first):
    t.open(lib=first)
    t.load(after="analytics.track('First Visit'); " + IDENTIFY_AND_GROUP)
    before = t.observe("first visit (%s)" % first, events=3)
    t.open()
    t.load(after="analytics.track('Second Visit')")
    after = t.observe("second visit", events=1)
    # and, whichever library comes second, nobody is lost
    assert after["reads"] == before["reads"]
    assert after["events"][0]["anonymousId"] == before["reads"]["anonymousId"]
    assert after["events"][0]["userId"] == "u-1"


@scenario()
def migrate_from_next(t):
    """First seen by analytics-next, then by the library under test: same anonymous id,
    user, traits and group."""
    _visit_then_switch(t, "next")


@scenario()
def migrate_from_pyajs(t):
    """First seen by pyajs, then by the library under test."""
    _visit_then_switch(t, "pyajs")


@scenario()
def migrate_anonymous_from_next(t):
    """An anonymous visitor of analytics-next keeps their anonymous id."""
    t.open(lib="next")
    t.load(after="analytics.track('First Visit')")
    before = t.observe("first visit", events=1)
    t.open()
    t.load(after="analytics.track('Second Visit')")
    after = t.observe("second visit", events=1)
    assert after["events"][0]["anonymousId"] == before["events"][0]["anonymousId"]
# ==========================================================================================
# Options and input that pyajs handles differently on purpose
# ==========================================================================================
@scenario(
    BAD_ARGUMENTS.at("called.page", next=0, pyajs=2),
)
def bad_arguments(t):
    """Properties and traits of the wrong type are dropped (``{}``); pyajs also says so."""
    t.open()
    t.load()
    before = len(t.warnings())
    t.call("() => { analytics.identify('u-1', 5); analytics.track('Bad', 'not-an-object'); }")
    t.observe("called", events=2, page=sum(
        "analytics." in w for w in t.warnings()[before:]))


@scenario(
    # analytics-next turns the classic milliseconds into "expires=Invalid Date": session
    # cookies; pyajs reads them as 365 days (with a warning)
    MAXAGE_MS.at("*.cookies.*.expires", next="session", pyajs=365),
)
def cookie_maxage_in_milliseconds(t):
    """``cookie: {maxage: 31536000000}``, the classic analytics.js option."""
    t.open()
    t.load(options={"cookie": {"maxage": 31536000000}},
           after="analytics.identify('u-1'); analytics.group('g-1')")
    t.observe("loaded", events=2)


@scenario(
    # analytics-next answers a Promise of the delivered event's Context; pyajs nothing
    EVENT_ANSWER.at("called.page.answer", next="Promise", pyajs="undefined"),
    # analytics-next never calls back before its 300 ms timeout; pyajs once delivered, which
    # takes less than 300 ms unless the machine is slow: allowed, not required
    timing=[CALLBACK.at("called.page.heldTo300ms", next=True, pyajs=False)],
)
def per_call_callback(t):
    """A callback passed to ``track`` runs once, after delivery."""
    t.open()
    t.load()
    waited, answer = t.call("""() => new Promise((resolve) => {
        const t0 = performance.now();
        window.__calls = 0;
        const answer = analytics.track('With Callback', {}, {}, () => {
            window.__calls += 1;
            resolve([performance.now() - t0,
                     answer instanceof Promise ? 'Promise' : typeof answer]);
        });
    })""")
    t.observe("called", events=1, page={"calls": t.call("() => window.__calls"),
                                         "heldTo300ms": waited >= 300, "answer": answer})


@scenario(
    # analytics-next returns what is stored, whatever its type, and writes it back;
    # pyajs ignores values that cannot be ids or traits (one console warning each)
    CORRUPT.at("*.reads.*", next=present, pyajs=lambda v: v in (None, {})),
    CORRUPT.at("read.cookies.ajs_*", next=present, pyajs=absent),
    CORRUPT.at("read.localStorage.ajs_*", next=present, pyajs=absent),
    LAZY_ID.at("loaded.*.ajs_anonymous_id", next=absent, pyajs=present),
)
def corrupted_stored_values(t):
    """An object where an id belongs, a string where traits belong."""
    t.open()
    t.call("""() => {
        document.cookie = 'ajs_user_id={%22a%22:1}; path=/';
        localStorage.setItem('ajs_user_traits', '"text"');
        localStorage.setItem('ajs_group_id', '[1,2]');
    }""")
    t.load()
    t.observe("loaded")
    t.observe("read")  # storage after the first reads


# ==========================================================================================
# plugins
# ==========================================================================================
REGISTER_PLUGINS = """async () => {
  window.__dest = [];
  window.__errors = [];
  analytics.on('error', (e) => window.__errors.push(e.code || 'error'));
  await analytics.register({
    name: 'Recorder', type: 'destination', version: '1.0.0',
    isLoaded: () => true, load: () => Promise.resolve(),
    track: (ctx) => { window.__dest.push([ctx.event.event, ctx.event.properties]); return ctx; },
  }, {
    name: 'Stamp', type: 'enrichment', version: '1.0.0',
    isLoaded: () => true, load: async () => {},
    track: async (ctx) => { ctx.updateEvent('properties.stamped', true); return ctx; },
  }, {
    name: 'Picky', type: 'before', version: '1.0.0',
    isLoaded: () => true, load: () => Promise.resolve(),
    track: (ctx) => { if (ctx.event.event === 'Bad') throw new Error('not this one'); return ctx; },
  });
}"""


def destination_seen(t, count):
    """What the destination plugin received (sorted, keys too), once it has ``count`` events
    or after 3 s (polled from here: the page's timers are not needed)."""
    deadline = time.monotonic() + 3.0
    while t.call("() => window.__dest.length") < count and time.monotonic() < deadline:
        time.sleep(0.03)
    return t.call("""() => window.__dest.map(([name, props]) => JSON.stringify(
      [name, Object.fromEntries(Object.entries(props || {}).sort())])).sort()""")


@scenario(
    # analytics-next goes on with the event unchanged; pyajs drops it
    SOURCE_NEXT_NULL.at("dropped.events[0]", next=present, pyajs=absent),
    # analytics-next applies destination middleware only to its device-mode destinations
    DESTINATION_MIDDLEWARE.at(
        "middleware.page", next=['["Via Middleware",{"stamped":true}]'],
        pyajs=['["Via Middleware",{"stamped":true,"viaMiddleware":true}]']),
    # analytics-next retries the whole pipeline, then drops the event without a word
    BEFORE_THROWS.at("failed.page", next=[], pyajs=["plugin_failure"]),
)
def plugins(t):
    """Plugins of each type: enrichment, a destination filtered by ``integrations`` (and
    pyajs's own delivery, ``Segment.io``), source and destination middleware, a ``before``
    plugin that throws."""
    t.open()
    t.load()
    t.call(REGISTER_PLUGINS)
    t.call("""() => {
      analytics.track('Good');
      analytics.track('Not Segment', {}, {integrations: {'Segment.io': false}});
      analytics.track('Named', {}, {integrations: {All: false, Recorder: true}});
      analytics.track('Only Segment', {}, {integrations: {All: false}});
    }""")
    t.observe("tracked", events=3, page=destination_seen(t, 3))
    t.call("""() => {
      analytics.addSourceMiddleware(({payload, next}) =>
        next(payload.obj.event === 'Dropped' ? null : payload));
      analytics.track('Dropped');
    }""")
    t.observe("dropped", events=1, timeout=3.0)
    t.call("""() => {
      window.__dest = [];
      analytics.addDestinationMiddleware('recorder', ({payload, next}) => {
        payload.obj.properties.viaMiddleware = true;
        next(payload);
      });
      analytics.track('Via Middleware');
    }""")
    t.observe("middleware", events=1, page=destination_seen(t, 1))
    # (not answering analytics-next's Promise: it settles only once its retries are over)
    t.call("() => { analytics.track('Bad'); }")
    t.observe("failed", page=t.call(
        "() => new Promise((resolve) => setTimeout(() => resolve(window.__errors), 500))"))


# ==========================================================================================
# Storage options
# ==========================================================================================
@scenario()
def storage_stores(t):
    """``storage: {stores: ['cookie', 'memory']}``: ids in cookies only, traits for the page
    only; the next page keeps the ids and loses the traits."""
    options = {"storage": {"stores": ["cookie", "memory"]}}
    t.open()
    t.load(options=options, after=IDENTIFY_AND_GROUP)
    t.observe("identified", events=2)
    t.reload(options=options, after="analytics.track('Back')")
    t.observe("reloaded", events=1)


@scenario()
def disable_client_persistence(t):
    """``disableClientPersistence: true``: nothing of the identity in cookies or
    localStorage; the next page is a new visitor."""
    options = {"disableClientPersistence": True}
    t.open()
    t.load(options=options, after=IDENTIFY_AND_GROUP)
    t.observe("identified", events=2)
    t.reload(options=options, after="analytics.track('Back')")
    t.observe("reloaded", events=1)


# ==========================================================================================
# The runner
# ==========================================================================================
def play(browser, sc, lib, server, runtime, site):
    """(normalised observations, whether pyajs ran in the tab)."""
    server.clear()
    tab = Tab(lib, browser, server, runtime)
    try:
        sc.fn(tab)
    finally:
        tab.close()
    assert tab.secure == {site == "secure"}, "%s: isSecureContext %s on the %s site" % (
        tab.describe(), tab.secure, site)
    assert tab.foreign_requests() == sc.foreign.get(lib.name, []), (
        "%s: requests to other origins" % tab.describe())
    assert tab.page_errors == [], "%s: uncaught page errors %s" % (
        tab.describe(), tab.page_errors)
    if tab.loaded_pyajs:  # and it ran on the runtime asked for
        assert tab.runtimes_fetched() == {runtime}, "%s's tab: pyajs fetched %s, not %r" % (
            lib, sorted(tab.runtimes_fetched()), runtime)
    return harness.normalise(tab.observations), tab.loaded_pyajs


# (scenario, site) → analytics-next's run, when it does not depend on the runtime (it never
# loaded pyajs): played once, compared with each runtime's
NEXT_RUNS = {}


def next_run(sc, runtime, site, chromium, server):
    if (sc.name, site) in NEXT_RUNS:
        return NEXT_RUNS[sc.name, site]
    run, loaded_pyajs = chromium.run(play, sc, NEXT, server, runtime, site, site=site)
    if not loaded_pyajs:
        NEXT_RUNS[sc.name, site] = run
    return run


class OpenDifferenceError(AssertionError):
    """A scenario marked open still shows an unexplained difference (its expected failure)."""


def _case(sc, runtime, site):
    marks = ()
    if runtime in sc.open_reason:
        # xfails only on the open difference itself (any other failure fails), and fails
        # once the difference is gone (strict), so the mark is removed with the fix
        marks = pytest.mark.xfail(reason=sc.open_reason[runtime], raises=OpenDifferenceError,
                                  strict=True)
    name = "%s-%s" % (sc.name, runtime) + ("" if site == "secure" else "-" + site)
    return pytest.param(sc, runtime, site, marks=marks, id=name)


@pytest.mark.parametrize("sc, runtime, site", [
    _case(sc, rt, site) for site in SITES for sc in SCENARIOS for rt in RUNTIMES
    if site == "secure" or sc.http])
def test_scenario(sc, runtime, site, conf_chromium, conf_server):
    runs = {"next": next_run(sc, runtime, site, conf_chromium, conf_server),
            "pyajs": conf_chromium.run(play, sc, PYAJS, conf_server, runtime, site,
                                       site=site)[0]}
    if os.environ.get("PYAJS_CONFORMANCE_DUMP"):  # a folder: each run's observations
        out = Path(os.environ["PYAJS_CONFORMANCE_DUMP"])
        out.mkdir(parents=True, exist_ok=True)
        (out / ("%s-%s-%s.json" % (sc.name, runtime, site))).write_text(
            json.dumps(runs, indent=1))
    diffs = harness.diff(runs["next"], runs["pyajs"])
    unexplained, unmatched, rows = harness.classify(diffs, sc.expected, ALWAYS + sc.timing)
    status = "open" if unexplained else (
        "deliberately different" if sc.expected or rows - ALWAYS_ROWS else "identical")
    RESULTS[sc.name, runtime, site] = status
    if site == "secure":  # the whole suite
        MATCHED_ROWS[runtime].update(rows)
    report = "\n".join(["unexplained differences:"] + ["  %r" % d for d in unexplained] +
                       ["declared but not seen:"] + ["  %r" % e for e in unmatched])
    if runtime in sc.open_reason and unexplained:
        raise OpenDifferenceError("%s\n%s" % (sc.open_reason[runtime], report))
    assert not unexplained and not unmatched, report


# ==========================================================================================
# The README's table and the suite agree
# ==========================================================================================
def readme_rows():
    """The first cell of each row of the README's table of deliberate differences."""
    section = README.read_text().split("## Where pyajs deliberately differs", 1)[1]
    section = section.split("\n## ", 1)[0]
    return [line[2:].split(" | ")[0] for line in section.splitlines()
            if line.startswith("| ") and not line.startswith(("| behaviour |", "| --- |"))]


def declared_rows():
    rows = {e.deliberate.row for sc in SCENARIOS for e in sc.expected + sc.timing}
    rows.update(e.deliberate.row for e in ALWAYS)
    rows.update(d.row for d in NORMALISED.values())
    return rows


def test_every_difference_the_suite_allows_is_in_the_readme():
    assert sorted(declared_rows() - set(readme_rows())) == []


def test_every_readme_difference_is_asserted_by_a_scenario():
    assert sorted(set(readme_rows()) - declared_rows()) == []


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_readme_difference_was_seen_in_this_run(runtime):
    """Run after the scenarios (file order): each row showed up at least once on each
    runtime, in the whole (secure-context) run; except the rows whose difference shows only
    when timing allows."""
    if not {(sc.name, runtime, "secure") for sc in SCENARIOS} <= set(RESULTS):
        pytest.skip("needs every scenario of the suite on %s" % runtime)
    seen = MATCHED_ROWS[runtime] | {NORMALISED[k].row for k in harness.NORMALISED_SEEN}
    timing_only = {e.deliberate.row for sc in SCENARIOS for e in sc.timing} - {
        e.deliberate.row for sc in SCENARIOS for e in sc.expected}
    assert sorted(set(readme_rows()) - seen - timing_only) == []
