"""Lone UTF-16 surrogates (half of an emoji): replaced with U+FFFD wherever they are in an
event, the event kept and a warning naming the fields, the same on CPython (Pyodide) and on
MicroPython 1.27."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import MemoryLocalStorage
from pyajs.queue import PersistedQueue
from pyajs.surrogates import REPLACEMENT, scrub_event, scrub_values, utf8

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "tests" / "micropython" / "surrogates_check.py"
RUNTIME = ROOT / "node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs"

LONE = json.loads(r'"\ud83d"')  # what json.loads makes of JSON.stringify("😀".slice(0, 1))


def test_utf8_refuses_text_with_a_surrogate_only() -> None:
    assert utf8("caf\u00e9 \U0001f600 \ud7ff\ue000") == "caf\u00e9 \U0001f600 \ud7ff\ue000".encode()
    assert utf8("a" + LONE) is None
    assert utf8("\udc00") is None


def test_scrub_event_replaces_lone_surrogates_in_values_keys_and_lists() -> None:
    event = json.loads(r'{"type": "track", "event": "Half \ud83d", "properties": {'
                       r'"ok": "\ud83d\ude00 \u00e9", "k\udfff": {"deep": ["x", "\udc00y"]},'
                       r' "n": 1, "none": null}, "messageId": "m1"}')
    fields = scrub_event(event)
    assert fields == ["event", "properties.k\ufffd (a key)", "properties.k\ufffd.deep[1]"]
    assert event == {"type": "track", "event": "Half \ufffd", "properties": {
        "ok": "\U0001f600 \u00e9", "k\ufffd": {"deep": ["x", "\ufffdy"]}, "n": 1, "none": None},
        "messageId": "m1"}
    assert utf8(json.dumps(event, ensure_ascii=False)) is not None


def test_a_pair_is_joined_silently_and_two_lone_halves_are_two_replacements() -> None:
    pair_as_two = "\ud83d\ude00"  # MicroPython's json.loads leaves an escaped pair so
    event = {"a": pair_as_two, "b": "\ude00\ud83d", "c": "\ud83d\ud83d"}
    assert scrub_event(event) == ["b", "c"]
    assert event == {"a": "\U0001f600", "b": REPLACEMENT * 2, "c": REPLACEMENT * 2}


def test_scrub_copies_instead_of_changing_the_callers_objects() -> None:
    props = {"t": LONE, "clean": {"x": 1}}
    event = {"properties": props, "traits": {"y": "z"}}
    traits = event["traits"]
    scrub_event(event)
    assert props == {"t": LONE, "clean": {"x": 1}}  # the caller's dict is untouched
    assert event["properties"] == {"t": REPLACEMENT, "clean": {"x": 1}}
    assert event["properties"]["clean"] is props["clean"]  # unchanged parts are shared
    assert event["traits"] is traits


def test_scrub_values_names_each_argument() -> None:
    values, found = scrub_values([("userId", "u" + LONE), ("traits", {"n": ["a", LONE]}),
                                  ("other", None)])
    assert values == ["u\ufffd", {"n": ["a", "\ufffd"]}, None]
    assert found == ["traits.n[1]", "userId"]


def test_queue_keeps_the_event_replaced_and_warns_once() -> None:
    shelf = MemoryLocalStorage()
    warnings: list[str] = []
    queue = PersistedQueue(shelf, "WK", tab_id="t1", clock=lambda: 1700000000000,
                           warn=warnings.append)
    event = {"type": "track", "event": "Clicked", "properties": {"title": "Truncated " + LONE},
             "messageId": "m1", "writeKey": "WK"}
    entry = queue.add(event)
    assert entry is not None and json.loads(entry.json)["properties"]["title"] == (
        "Truncated \ufffd")
    assert entry.size == len(entry.json.encode("utf-8"))
    (stored,) = shelf.data.values()
    assert json.loads(stored)["e"]["properties"]["title"] == "Truncated \ufffd"
    assert warnings == ['pyajs: track "Clicked": a lone UTF-16 surrogate (half of a character '
                        'such as an emoji) in properties.title was replaced with U+FFFD; the '
                        'event is sent']
    queue.add({"type": "track", "event": "Fine \U0001f600", "messageId": "m2"})
    assert len(warnings) == 1


def run_check_here() -> dict:
    sys.path.insert(0, str(CHECK.parent))
    try:
        import surrogates_check
    finally:
        sys.path.remove(str(CHECK.parent))
    return json.loads(json.dumps(surrogates_check.sorted_keys(surrogates_check.run())))


def as_dict(pairs):
    return {k: (as_dict(v) if isinstance(v, list) and v and isinstance(v[0], list)
                and len(v[0]) == 2 and isinstance(v[0][0], str) else v) for k, v in pairs}


def test_every_call_keeps_its_event_with_replacements_and_warnings() -> None:
    result = dict(run_check_here())
    events = [dict(e) for e in result["events"]]
    assert [e["type"] for e in events] == ["track", "identify", "page", "screen", "group",
                                          "alias", "track"]
    assert all(e["utf8"] for e in events)
    track = events[0]
    assert track["event"] == "Clicked \ufffd"
    props = as_dict(track["properties"])
    assert props["title"] == "Truncated \ufffd" and props["emoji"] == "\U0001f600"
    assert props["k\ufffd"] == 1 and props["ok"] == "fine \u00e9"
    assert as_dict(events[1]["traits"])["name"] == "Zo\u00eb \ufffd"
    assert events[2]["name"] == "Start \ufffd" and events[3]["name"] == "Home \ufffd"
    assert events[4]["groupId"] == "g\ufffd" and events[5]["userId"] == "user-2\ufffd"
    warnings = result["warnings"]
    assert len(warnings) == 6  # one per call that had one; none for the clean call
    assert re.search(r'track "Clicked \ufffd": .* in context\.campaign\.name, event, '
                     r'properties\.k\ufffd \(a key\), properties\.list\[1\], '
                     r'properties\.list\[2\]\.deep, properties\.title was replaced', warnings[0])
    assert "identify: " in warnings[1] and " in traits.name was" in warnings[1]
    assert " in groupId was" in warnings[4] and " in userId was" in warnings[5]


@pytest.mark.skipif(shutil.which("node") is None or not RUNTIME.exists(),
                    reason="needs Node.js and `npm ci` (scripts/setup.sh installs both)")
def test_micropython_gives_exactly_what_cpython_gives() -> None:
    out = subprocess.run(["node", str(ROOT / "tests/micropython/run.mjs"), str(CHECK)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stdout + out.stderr
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    assert line, out.stdout
    assert json.loads(line[0][len("RESULT "):]) == run_check_here()
