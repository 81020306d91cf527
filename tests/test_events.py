"""pyajs.events: the event dicts the tracking API receives."""

import copy
import re

import pytest
from pyajs.events import EventFactory, bool_integrations, endpoint_letter

AT = 1700000000123
ENV = {"library": {"name": "pyajs", "version": "0.1.0"}, "userAgent": "UA/1",
       "locale": "en-US", "timezone": "Europe/Paris"}
SNAP = {"u": "https://www.example.test/p?utm_source=s&utm_campaign=c#h", "p": "/p",
        "s": "?utm_source=s&utm_campaign=c", "t": "T", "r": "https://r.test/", "c": None}
PLAIN = {"u": "https://www.example.test/p", "p": "/p", "s": "", "t": "T", "r": "", "c": None}
MID = re.compile(r"^pyajs-1700000000123-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}"
                 r"-[0-9a-f]{12}$")


def factory(integrations=None, env=ENV, clock=lambda: AT):
    return EventFactory("WK", copy.deepcopy(env), integrations, clock=clock)


def build(event_type="track", fields=None, options=None, snapshot=PLAIN, user_id=None,
          anonymous_id="anon-1", at_ms=None, **kw):
    if fields is None:
        fields = {"event": "E", "properties": {"a": 1}}
    return factory(**kw).build(event_type, fields, options or {}, snapshot, user_id,
                               anonymous_id, at_ms)


def test_track_event_fields():
    event = build(snapshot=SNAP, user_id="u1")
    mid = event.pop("messageId")
    assert MID.match(mid)
    assert event == {
        "type": "track", "event": "E", "properties": {"a": 1}, "userId": "u1",
        "anonymousId": "anon-1",
        "context": {
            "library": {"name": "pyajs", "version": "0.1.0"},
            "page": {"path": "/p", "referrer": "https://r.test/",
                     "search": "?utm_source=s&utm_campaign=c", "title": "T",
                     "url": "https://www.example.test/p?utm_source=s&utm_campaign=c"},
            "userAgent": "UA/1", "locale": "en-US", "timezone": "Europe/Paris",
            "campaign": {"source": "s", "name": "c"}},
        "integrations": {}, "timestamp": "2023-11-14T22:13:20.123Z", "writeKey": "WK"}


def test_user_agent_data_goes_on_every_event_when_the_browser_has_it():
    uad = {"brands": [{"brand": "Chromium", "version": "140"}], "mobile": False,
           "platform": "Linux", "platformVersion": "6.1"}
    f = factory(env=dict(ENV, userAgentData=uad))
    for kind in ("track", "page", "identify"):
        event = f.build(kind, {"event": "E"} if kind == "track" else {}, {}, PLAIN, None, "a")
        assert event["context"]["userAgentData"] == uad
    assert "userAgentData" not in build()["context"]  # none: left out (http, Firefox)


def test_anonymous_event_has_explicit_null_user_id():
    event = build()
    assert "userId" in event and event["userId"] is None
    assert "campaign" not in event["context"]


def test_at_ms_sets_timestamp_and_message_id():
    event = build(at_ms=0)
    assert event["timestamp"] == "1970-01-01T00:00:00.000Z"
    assert event["messageId"].startswith("pyajs-0-")


def test_message_ids_differ():
    assert build()["messageId"] != build()["messageId"]


def test_environment_fields_are_optional():
    event = build(env={"library": {"name": "pyajs", "version": "1"}, "timezone": None})
    assert set(event["context"]) == {"library", "page"}


def test_library_is_copied_per_event():
    f = factory()
    e1 = f.build("track", {"event": "E", "properties": {}}, {}, PLAIN, None, "a")
    e1["context"]["library"]["name"] = "changed"
    e2 = f.build("track", {"event": "E", "properties": {}}, {}, PLAIN, None, "a")
    assert e2["context"]["library"]["name"] == "pyajs"


# -- options ----------------------------------------------------------------------------------

def test_load_integrations_become_booleans_and_merge_with_options():
    event = build(integrations={"Segment.io": {"apiKey": "k"}, "Off": 0, "On": True},
                  options={"integrations": {"Off": True, "New": False, "All": False}})
    assert event["integrations"] == {"Segment.io": True, "Off": True, "On": True,
                                     "New": False, "All": False}


def test_non_dict_integrations_are_ignored():
    assert build(options={"integrations": "x"})["integrations"] == {}
    assert build(integrations=[1])["integrations"] == {}


def test_bool_integrations():
    assert bool_integrations({"a": {}, "b": {"k": 1}, "c": False, "d": "x"}) == {
        "a": False, "b": True, "c": False, "d": True}
    assert bool_integrations(None) == {}


def test_top_level_overrides():
    event = build(options={"anonymousId": "opt-anon", "messageId": "my-mid",
                           "timestamp": "2020-01-01T00:00:00.000Z", "userId": "opt-user"})
    assert event["anonymousId"] == "opt-anon"
    assert event["messageId"] == "my-mid"
    assert event["timestamp"] == "2020-01-01T00:00:00.000Z"
    assert event["userId"] == "opt-user"
    for key in ("anonymousId", "messageId", "timestamp", "userId"):
        assert key not in event["context"]


@pytest.mark.parametrize("value,iso", [
    (0, "1970-01-01T00:00:00.000Z"), (1577836800000, "2020-01-01T00:00:00.000Z"),
    (1577836800123.9, "2020-01-01T00:00:00.123Z")])
def test_numeric_timestamp_option_is_written_as_iso(value, iso):
    assert build(options={"timestamp": value})["timestamp"] == iso


def test_stored_user_id_beats_options_user_id():
    assert build(options={"userId": "opt-user"}, user_id="stored")["userId"] == "stored"


def test_alias_user_id_option_applies():
    event = build("alias", {"previousId": "old"}, {"userId": "opt"}, user_id="to")
    assert event["userId"] == "opt"
    assert event["previousId"] == "old"


def test_context_option_is_merged():
    options = {"context": {"ip": "0.0.0.0", "locale": "fr-FR", "traits": {"t": 1},
                           "page": {"title": "Custom"}, "custom": {"x": 1}}}
    before = copy.deepcopy(options)
    ctx = build(options=options)["context"]
    assert ctx["ip"] == "0.0.0.0"
    assert ctx["locale"] == "fr-FR"
    assert ctx["traits"] == {"t": 1}
    assert ctx["custom"] == {"x": 1}
    assert ctx["userAgent"] == "UA/1"
    assert ctx["library"] == {"name": "pyajs", "version": "0.1.0"}
    assert ctx["page"] == {"path": "/p", "referrer": "", "search": "", "title": "Custom",
                           "url": "https://www.example.test/p"}
    assert options == before  # the caller's options are not changed


def test_other_option_keys_land_in_context():
    ctx = build(options={"traits": {"email": "a@b"}, "ip": "1.2.3.4", "foo": "bar",
                         "locale": "de"})["context"]
    assert ctx["traits"] == {"email": "a@b"}
    assert ctx["ip"] == "1.2.3.4"
    assert ctx["foo"] == "bar"
    assert ctx["locale"] == "de"


def test_none_options_are_dropped():
    event = build(options={"ip": None, "anonymousId": None, "context": None,
                           "integrations": None, "timestamp": None})
    assert "ip" not in event["context"]
    assert event["anonymousId"] == "anon-1"
    assert event["timestamp"] == "2023-11-14T22:13:20.123Z"


def test_non_dict_context_option_is_ignored():
    assert build(options={"context": "x"})["context"]["locale"] == "en-US"


def test_option_campaign_overrides_utm():
    ctx = build(snapshot=SNAP, options={"context": {"campaign": {"name": "own"}}})["context"]
    assert ctx["campaign"] == {"name": "own"}


# -- page ------------------------------------------------------------------------------------

def test_page_properties_get_the_page_fields():
    event = build("page", {"category": "Docs", "name": "Install", "properties": {"a": 1}},
                  snapshot=SNAP)
    assert event["category"] == "Docs"
    assert event["name"] == "Install"
    assert event["properties"] == {
        "path": "/p", "referrer": "https://r.test/", "search": "?utm_source=s&utm_campaign=c",
        "title": "T", "url": "https://www.example.test/p?utm_source=s&utm_campaign=c",
        "name": "Install", "category": "Docs", "a": 1}


def test_page_without_name_or_category():
    event = build("page", {"properties": {}})
    assert "name" not in event["properties"] and "category" not in event["properties"]
    assert "name" not in event and "category" not in event


def test_page_property_values_win_and_reach_context_page():
    props = {"title": "Custom", "url": "https://x.test/u", "name": "own"}
    event = build("page", {"name": "Install", "properties": props})
    assert event["properties"]["title"] == "Custom"
    assert event["properties"]["url"] == "https://x.test/u"
    assert event["properties"]["name"] == "own"
    assert event["context"]["page"] == {"path": "/p", "referrer": "", "search": "",
                                        "title": "Custom", "url": "https://x.test/u"}
    assert props == {"title": "Custom", "url": "https://x.test/u", "name": "own"}


def test_options_context_page_wins_over_page_properties():
    event = build("page", {"properties": {"title": "FromProps", "path": "/props"}},
                  {"context": {"page": {"title": "FromOptions"}}})
    assert event["context"]["page"]["title"] == "FromOptions"
    assert event["context"]["page"]["path"] == "/props"
    assert event["properties"]["title"] == "FromProps"


def test_screen_properties_are_not_merged():
    event = build("screen", {"category": "C", "name": "N", "properties": {"a": 1}})
    assert event["properties"] == {"a": 1}
    assert event["name"] == "N" and event["category"] == "C"


def test_identify_group_alias_fields():
    assert build("identify", {"traits": {"a": 1}}, user_id="u1")["traits"] == {"a": 1}
    group = build("group", {"groupId": "g1", "traits": {}})
    assert group["groupId"] == "g1" and group["type"] == "group"
    assert build("alias", {"previousId": "p"}, user_id="n")["previousId"] == "p"


@pytest.mark.parametrize("kind,letter", [("track", "t"), ("page", "p"), ("identify", "i"),
                                         ("group", "g"), ("alias", "a"), ("screen", "s")])
def test_endpoint_letter(kind, letter):
    assert endpoint_letter(kind) == letter


def test_environment_given_as_a_function_is_read_at_the_first_event_only():
    reads = []

    def environment():
        reads.append(1)
        return copy.deepcopy(ENV)

    f = EventFactory("WK", environment, clock=lambda: AT)
    assert reads == []
    first = f.build("track", {"event": "E", "properties": {}}, {}, PLAIN, None, "a")
    second = f.build("track", {"event": "E", "properties": {}}, {}, PLAIN, None, "a")
    assert reads == [1]
    for event in (first, second):
        assert event["context"]["timezone"] == "Europe/Paris"
        assert event["context"]["library"] == {"name": "pyajs", "version": "0.1.0"}
