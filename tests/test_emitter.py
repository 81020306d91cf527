"""pyajs.emitter: on / once / off / emit."""

from pyajs.emitter import Emitter


def make():
    warnings = []
    return Emitter(warnings.append), warnings


def test_on_receives_every_emit_with_arguments():
    e, _ = make()
    got = []
    e.on("track", lambda *a: got.append(a))
    e.emit("track", "E", {"a": 1})
    e.emit("track")
    assert got == [("E", {"a": 1}), ()]


def test_listeners_run_in_order_and_only_for_their_event():
    e, _ = make()
    got = []
    e.on("a", lambda: got.append(1))
    e.on("a", lambda: got.append(2))
    e.on("b", lambda: got.append("b"))
    e.emit("a")
    assert got == [1, 2]


def test_once_runs_once():
    e, _ = make()
    got = []
    e.once("x", got.append)
    e.on("x", lambda v: got.append(("on", v)))
    e.emit("x", 1)
    e.emit("x", 2)
    assert got == [1, ("on", 1), ("on", 2)]


def test_off_one_listener_and_all():
    e, _ = make()
    got = []

    def a(*_):
        got.append("a")

    def b(*_):
        got.append("b")

    e.on("x", a)
    e.on("x", b)
    e.off("x", a)
    e.emit("x")
    assert got == ["b"]
    e.on("x", a)
    e.off("x")
    e.emit("x")
    assert got == ["b"]
    e.off("unknown")
    e.off("unknown", a)


def test_emit_without_listeners_is_fine():
    e, warnings = make()
    e.emit("nothing", 1)
    assert warnings == []


def test_raising_listener_warns_and_others_still_run():
    e, warnings = make()
    got = []

    def bad(*_):
        raise RuntimeError("boom")

    e.on("track", bad)
    e.on("track", got.append)
    e.emit("track", "E")
    assert got == ["E"]
    assert len(warnings) == 1
    assert "'track'" in warnings[0] and "RuntimeError" in warnings[0] and "boom" in warnings[0]


def test_listener_added_during_emit_runs_next_time():
    e, _ = make()
    got = []

    def first():
        got.append(1)
        e.on("x", lambda: got.append(2))

    e.once("x", first)
    e.emit("x")
    assert got == [1]
    e.emit("x")
    assert got == [1, 2]
