"""``on`` / ``once`` / ``off`` / ``emit``: the event emitter Analytics.js exposes.

A listener that raises is reported with one warning and never stops the others or the call
that emitted.

    >>> e = Emitter(warn=print); e.on("track", lambda *a: print("got", *a)); e.emit("track", "x")
    got x
"""


class Emitter:
    def __init__(self, warn):
        self._listeners = {}
        self._warn = warn

    def on(self, name: str, fn) -> None:
        self._listeners.setdefault(name, []).append([fn, False])

    def once(self, name: str, fn) -> None:
        self._listeners.setdefault(name, []).append([fn, True])

    def off(self, name: str, fn=None) -> None:
        if fn is None:
            self._listeners.pop(name, None)
            return
        entries = self._listeners.get(name, [])
        self._listeners[name] = [e for e in entries if e[0] is not fn and e[0] != fn]

    def emit(self, name: str, *args) -> None:
        entries = self._listeners.get(name)
        if not entries:
            return
        self._listeners[name] = [e for e in entries if not e[1]]
        for fn, _ in entries:
            try:
                fn(*args)
            except Exception as exc:
                self._warn("pyajs: a %r listener raised %s: %s" % (name, type(exc).__name__, exc))
