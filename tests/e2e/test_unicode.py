"""Half an emoji (a lone UTF-16 surrogate) in the page's calls: each event is kept with
U+FFFD in its place and a console warning names the fields, word for word the same on
Pyodide and MicroPython."""

import json

TRACK_WARNING = (
    'pyajs: track "Clicked \ufffd": a lone UTF-16 surrogate (half of a character such as an '
    "emoji) in event, properties.k\ufffd (a key), properties.list[1], properties.title was "
    "replaced with U+FFFD; the event is sent")
IDENTIFY_WARNING = (
    "pyajs: identify: a lone UTF-16 surrogate (half of a character such as an emoji) in "
    "traits.name was replaced with U+FFFD; the event is sent")


def test_lone_surrogates_become_replacement_characters(page):
    page.open()
    page.load()
    page.js("""() => {
      const half = "\\u{1F600}".slice(0, 1);
      analytics.track("Clicked " + half, {title: "Truncated " + half, ["k" + half]: 1,
                                          list: ["a", half], emoji: "\\u{1F600}"});
      analytics.identify("u1", {name: "Zo\\u00eb " + half});
      analytics.track("Clean", {emoji: "\\u{1F600}"});
    }""")
    events = page.server.wait_events(3)
    by_name = {e.get("event") or e["type"]: e for e in events}
    assert sorted(by_name) == ["Clean", "Clicked \ufffd", "identify"]
    clicked = by_name["Clicked \ufffd"]
    assert clicked["properties"] == {"title": "Truncated \ufffd", "k\ufffd": 1,
                                     "list": ["a", "\ufffd"], "emoji": "\U0001f600"}
    assert by_name["identify"]["traits"] == {"name": "Zo\u00eb \ufffd"}
    assert by_name["Clean"]["properties"] == {"emoji": "\U0001f600"}
    assert json.loads(page.storage()["ajs_user_traits"]) == {"name": "Zo\u00eb \ufffd"}
    surrogate_warnings = [w for w in page.warnings() if "surrogate" in w]
    assert surrogate_warnings == [TRACK_WARNING, IDENTIFY_WARNING]
