"""pyajs.arguments: Segment's flexible call forms (reference §4.1)."""

import pytest
from pyajs.arguments import (
    CallError,
    describe,
    resolve_alias,
    resolve_identity,
    resolve_page,
    resolve_track,
)


def cb(*_):
    return None


def cb2(*_):
    return None


P = {"p": 1}
OPTS = {"o": 1}


# -- track -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,expected", [
    (["E"], ("E", {}, {}, None, [])),
    (["E", P], ("E", P, {}, None, [])),
    (["E", P, OPTS], ("E", P, OPTS, None, [])),
    (["E", P, OPTS, cb], ("E", P, OPTS, cb, [])),
    (["E", cb], ("E", {}, {}, cb, [])),
    (["E", P, cb], ("E", P, {}, cb, [])),
    (["E", None, OPTS], ("E", {}, OPTS, None, [])),
    (["E", None, None, cb], ("E", {}, {}, cb, [])),
    ([{"event": "E", "properties": P}], ("E", P, {}, None, [])),
    ([{"event": "E", "properties": P}, OPTS], ("E", P, OPTS, None, [])),
    ([{"event": "E"}, OPTS, cb], ("E", {}, OPTS, cb, [])),
    ([{"event": "E"}, cb], ("E", {}, {}, cb, [])),
])
def test_track_forms(args, expected):
    assert resolve_track(args) == expected


def test_track_callback_is_the_first_function():
    assert resolve_track(["E", cb, cb2])[3] is cb
    assert resolve_track(["E", P, OPTS, cb2])[3] is cb2


@pytest.mark.parametrize("args,props,opts,ignored", [
    (["E", "notobj"], {}, {}, [("properties", "notobj")]),
    (["E", [1, 2]], {}, {}, [("properties", [1, 2])]),
    (["E", 5, OPTS], {}, OPTS, [("properties", 5)]),
    (["E", P, "x"], P, {}, [("options", "x")]),
    (["E", P, 7], P, {}, [("options", 7)]),
    ([{"event": "E"}, "x"], {}, {}, [("options", "x")]),
    ([{"event": "E", "properties": "x"}], {}, {}, [("properties", "x")]),
])
def test_track_ignores_wrong_types(args, props, opts, ignored):
    assert resolve_track(args) == ("E", props, opts, None, ignored)


@pytest.mark.parametrize("args", [
    [], [None], [5], [""], [{}], [{"event": 5}], [{"event": ""}], [P], [cb], [["E"]],
])
def test_track_needs_an_event_name(args):
    with pytest.raises(CallError) as info:
        resolve_track(args)
    assert "track()" in str(info.value)
    assert "event name" in str(info.value)


def test_callerror_is_a_valueerror():
    assert issubclass(CallError, ValueError)


# -- page / screen -------------------------------------------------------------------------------

@pytest.mark.parametrize("args,expected", [
    ([], (None, None, {}, {}, None, [])),
    (["Name"], (None, "Name", {}, {}, None, [])),
    (["Cat", "Name"], ("Cat", "Name", {}, {}, None, [])),
    ([P], (None, None, P, {}, None, [])),
    ([P, OPTS], (None, None, P, OPTS, None, [])),
    (["Name", P], (None, "Name", P, {}, None, [])),
    (["Name", P, OPTS], (None, "Name", P, OPTS, None, [])),
    (["Cat", "Name", P], ("Cat", "Name", P, {}, None, [])),
    (["Cat", "Name", P, OPTS], ("Cat", "Name", P, OPTS, None, [])),
    (["Cat", "Name", P, OPTS, cb], ("Cat", "Name", P, OPTS, cb, [])),
    (["Cat", "Name", None, OPTS], ("Cat", "Name", {}, OPTS, None, [])),
    ([None, None, None, OPTS], (None, None, {}, OPTS, None, [])),
    ([None, None, P], (None, None, P, {}, None, [])),
    ([None, "Name", P], (None, "Name", P, {}, None, [])),
    ([cb], (None, None, {}, {}, cb, [])),
    (["Name", cb], (None, "Name", {}, {}, cb, [])),
    (["Name", P, cb], (None, "Name", P, {}, cb, [])),
    ([P, OPTS, cb], (None, None, P, OPTS, cb, [])),
])
def test_page_forms(args, expected):
    assert resolve_page(args) == expected


def test_page_ignored_arguments():
    assert resolve_page([5])[5] == [("argument", 5)]
    assert resolve_page(["a", "b", "c"])[:2] == ("a", "b")
    assert resolve_page(["a", "b", "c"])[5] == [("argument", "c")]
    assert resolve_page(["Name", [1]])[5] == [("argument", [1])]
    assert resolve_page(["Name", True])[5] == [("argument", True)]


# -- identify / group ----------------------------------------------------------------------------

T = {"t": 1}


@pytest.mark.parametrize("args,expected", [
    ([], (None, {}, {}, None, [])),
    (["u1"], ("u1", {}, {}, None, [])),
    (["u1", T], ("u1", T, {}, None, [])),
    (["u1", T, OPTS], ("u1", T, OPTS, None, [])),
    (["u1", T, OPTS, cb], ("u1", T, OPTS, cb, [])),
    (["u1", cb], ("u1", {}, {}, cb, [])),
    (["u1", T, cb], ("u1", T, {}, cb, [])),
    ([T], (None, T, {}, None, [])),
    ([T, OPTS], (None, T, OPTS, None, [])),
    ([T, OPTS, cb], (None, T, OPTS, cb, [])),
    ([None, T], (None, T, {}, None, [])),
    ([None, T, OPTS], (None, T, OPTS, None, [])),
    (["u1", None, OPTS], ("u1", {}, OPTS, None, [])),
    ([5], ("5", {}, {}, None, [])),
    ([5.0, T], ("5", T, {}, None, [])),
    ([1.5], ("1.5", {}, {}, None, [])),
    ([""], (None, {}, {}, None, [])),
    ([cb], (None, {}, {}, cb, [])),
    ([cb, "u1"], (None, {}, {}, cb, [])),  # a function ends the arguments
])
def test_identity_forms(args, expected):
    assert resolve_identity(args) == expected


@pytest.mark.parametrize("args,expected", [
    (["u1", "x"], ("u1", {}, {}, None, [("traits", "x")])),
    (["u1", T, "x"], ("u1", T, {}, None, [("options", "x")])),
    (["u1", T, OPTS, {"extra": 1}], ("u1", T, OPTS, None, [("argument", {"extra": 1})])),
    ([True], (None, {}, {}, None, [("traits", True)])),
    ([[1]], (None, {}, {}, None, [("traits", [1])])),
])
def test_identity_ignored(args, expected):
    assert resolve_identity(args) == expected


# -- alias ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,expected", [
    (["new"], ("new", None, {}, None, [])),
    (["new", "old"], ("new", "old", {}, None, [])),
    (["new", "old", OPTS], ("new", "old", OPTS, None, [])),
    (["new", "old", OPTS, cb], ("new", "old", OPTS, cb, [])),
    (["new", OPTS], ("new", None, OPTS, None, [])),
    (["new", cb], ("new", None, {}, cb, [])),
    (["new", None, OPTS], ("new", None, OPTS, None, [])),
    ([5], ("5", None, {}, None, [])),
    ([5.0, 7], ("5", "7", {}, None, [])),
    (["new", ""], ("new", None, {}, None, [])),
])
def test_alias_forms(args, expected):
    assert resolve_alias(args) == expected


def test_alias_ignored():
    assert resolve_alias(["new", True])[4] == [("argument", True)]


@pytest.mark.parametrize("args", [[], [None], [""], [OPTS], [cb], [True]])
def test_alias_needs_a_target(args):
    with pytest.raises(CallError) as info:
        resolve_alias(args)
    assert "alias()" in str(info.value)


# -- describe ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,text", [
    (None, "null"), (True, "boolean true"), (False, "boolean false"), (5, "number 5"),
    (1.5, "number 1.5"), ("ab", "string 'ab'"), ([1], "array"), ({}, "object"),
    (cb, "function"), ("x" * 50, "string '" + "x" * 37 + "...'"),
])
def test_describe(value, text):
    assert describe(value) == text
