"""Delivery end to end: Analytics + PersistedQueue + Dispatcher on FakePlatform (a 5xx storm,
a reload that resends, a refused event, callbacks)."""

from collections import Counter

from fakes import FakePlatform
from pyajs.analytics import Analytics

Q = "pyajs:q:WK:"
TAB = "pyajs:tab:WK:"


def make(options=None, **platform_kw):
    platform = FakePlatform(**platform_kw)
    a = Analytics("WK", platform, options)
    a.start_delivery()
    return a, platform


def reload(platform, options=None):
    """The same browser (cookies, localStorage), a new page a moment later."""
    new = FakePlatform(hostname=platform.hostname, https=platform.https, jar=platform.jar,
                       local_storage=platform.local_storage, now_ms=platform.now + 1000)
    a = Analytics("WK", new, options)
    a.start_delivery()
    return a, new


def queued(platform):
    return sorted(k[len(Q):] for k in platform.local_storage.data if k.startswith(Q))


def message_ids(request):
    body = request.body
    return [e["messageId"] for e in body["batch"]] if "batch" in body else [body["messageId"]]


def test_a_5xx_storm_delivers_every_event_once():
    a, p = make()
    got, calls, errors = [], Counter(), []
    a.on("track", lambda event, *_: got.append(event))
    a.on("error", errors.append)
    events = [a.track("E%d" % n, {"n": n}, callback=lambda ev: calls.update([ev["event"]]))
              for n in range(5)]
    mids = [e["messageId"] for e in events]
    assert queued(p) == sorted(mids)
    storm = 12
    answered, acked = 0, Counter()
    for _ in range(100):
        if not p.pending() and not a.queue.pending():
            break
        for request in p.pending():
            answered += 1
            if answered <= storm:
                request.respond(503)
            else:
                request.respond(200)
                acked.update(message_ids(request))
        p.advance(61000)
    assert answered > storm
    assert acked == Counter(mids)  # each acknowledged once
    assert queued(p) == [] and len(a.queue) == 0
    assert sorted(got) == ["E%d" % n for n in range(5)]
    assert calls == Counter("E%d" % n for n in range(5))
    assert errors == [] and p.warnings == []
    # every try of an event carried its first messageId and timestamp
    for request in p.requests:
        ev = events[mids.index(request.body["messageId"])]
        assert request.body["timestamp"] == ev["timestamp"]


def test_a_5xx_storm_in_batches():
    a, p = make({"deliveryStrategy": {"strategy": "batching",
                                      "config": {"size": 3, "timeout": 1000}}})
    mids = [a.track("E%d" % n)["messageId"] for n in range(7)]
    answered, acked = 0, Counter()
    for _ in range(100):
        if not p.pending() and not a.queue.pending():
            break
        for request in p.pending():
            assert request.url == "https://api.segment.io/v1/batch"
            answered += 1
            if answered <= 4:
                request.respond(502)
            else:
                request.respond(200)
                acked.update(message_ids(request))
        p.advance(61000)
    assert acked == Counter(mids) and queued(p) == [] and p.warnings == []


def test_a_reload_resends_unacknowledged_events_with_the_same_message_id():
    a1, p1 = make()
    tab1 = a1.queue.tab_id
    assert p1.stored(TAB + tab1) == str(p1.now)
    events = [a1.track("E%d" % n) for n in range(3)]
    mids = [e["messageId"] for e in events]
    p1.requests[0].respond(200)  # the first made it
    p1.requests[1].respond(0, None, "TypeError: Failed to fetch")  # the second failed once
    a1.page_event("pagehide")  # the third is still on its way when the page goes
    # the second waits out its backoff in storage (for the next page); the third is still
    # in flight with keepalive, so it is not sent twice
    assert p1.requests[3:] == []
    assert p1.stored(TAB + tab1) is None
    assert queued(p1) == sorted(mids[1:])  # nothing confirmed: both stay stored

    a2, p2 = reload(p1)  # the old page's requests never answer, its timers never run
    assert p2.requests == []  # claimed, not yet sent: the claim settles first
    p2.advance(100)
    resent = {r.body["messageId"]: r for r in p2.requests}
    assert sorted(resent) == sorted(mids[1:])
    for ev in events[1:]:
        body = dict(resent[ev["messageId"]].body)
        assert body.pop("sentAt") == "2023-11-14T22:13:21.100Z"
        assert body == ev
    assert resent[mids[1]].headers["X-Retry-Count"] == "1"
    assert "X-Retry-Count" not in resent[mids[2]].headers
    for k in queued(p2):
        assert p2.stored(Q + k).startswith('{"o":"%s",' % a2.queue.tab_id)
    p2.respond_all(200)
    assert queued(p2) == [] and p2.warnings == []


def test_a_crashed_page_events_are_taken_once_its_heartbeat_is_stale():
    a1, p1 = make()
    ev = a1.track("E")
    a2, p2 = reload(p1)  # a second tab; the first stops (frozen), its request hangs
    p2.advance(5000)
    assert p2.requests == []  # the first tab's heartbeat is fresh
    p2.advance(30000)  # no heartbeat from the first tab for over 30 s
    req, = p2.requests
    assert req.body["messageId"] == ev["messageId"]
    # the first tab wakes up; its request fails: the event is the second tab's now
    p1.now = p2.now
    p1.requests[0].respond(0, None, "TypeError: Failed to fetch")
    assert p1.stored(Q + ev["messageId"]).startswith('{"o":"%s",' % a2.queue.tab_id)
    assert len(a1.queue) == 0
    for _ in range(600):  # both tabs live on
        p1.advance(1000)
        p2.advance(1000)
    assert len(p1.requests) == 1 and len(p2.requests) == 1
    req.respond(200)
    assert queued(p2) == []
    assert [r.body["messageId"] for r in p2.requests] == [ev["messageId"]]


def test_a_400_emits_an_error_event_and_warns():
    a, p = make()
    errors, tracked = [], []
    a.on("error", errors.append)
    a.on("track", lambda *args: tracked.append(args))
    ev = a.track("Bad", {"x": 1})
    p.requests[0].respond(400)
    err, = errors
    assert err["code"] == "delivery_failure"
    assert err["reason"] == "the collector refused it: HTTP 400"
    assert err["event"] == ev
    warning, = p.warnings
    assert repr(ev["messageId"]) in warning and "HTTP 400" in warning
    assert tracked == [] and queued(p) == []
    p.advance(600000)
    assert len(p.requests) == 1


def test_callbacks_run_once_after_retries():
    a, p = make()
    calls = []
    a.track("E", callback=calls.append)
    p.requests[0].respond(503)
    p.advance(400)  # before the 1 s callback timeout; the retry is due in 450..550 ms
    p.advance(200)
    assert calls == [] and len(p.requests) == 2
    p.requests[1].respond(200)
    assert len(calls) == 1 and calls[0]["event"] == "E"
    p.advance(600000)
    assert len(calls) == 1


def test_callback_after_the_timeout_runs_once_even_when_delivered_later():
    a, p = make()
    calls = []
    a.identify("u1", callback=calls.append)
    p.requests[0].respond(500)
    p.advance(1000)
    assert len(calls) == 1
    p.respond_all(200)
    assert len(calls) == 1 and queued(p) == []


def test_callback_runs_once_when_the_event_is_dropped_after_its_attempts():
    a, p = make({"httpConfig": {"backoffConfig": {"maxRetryCount": 3}}})
    calls, errors = [], []
    a.on("error", errors.append)
    a.track("E", callback=calls.append)
    for _ in range(3):
        p.respond_all(503)
        p.advance(2000)  # past the retry, and (the first time) the callback timeout
    assert len(p.requests) == 3
    assert len(calls) == 1 and len(errors) == 1
    assert "3 attempts" in errors[0]["reason"]
    assert queued(p) == []
    p.advance(600000)
    assert len(calls) == 1 and len(p.requests) == 3


def test_queue_bound_drops_the_oldest_with_an_error_event_and_its_callback():
    a, p = make({"queue": {"maxEvents": 2}})
    p.online = False  # nothing leaves: the queue fills up
    errors, called = [], []
    a.on("error", errors.append)
    first = a.track("First", callback=called.append)
    a.track("Second")
    a.track("Third")
    assert [e["event"]["messageId"] for e in errors] == [first["messageId"]]
    assert errors[0]["reason"] == "the queue was full"
    assert [c["event"] for c in called] == ["First"]
    assert any("dropped the oldest" in w for w in p.warnings)
    assert len(queued(p)) == 2
    p.online = True
    a.page_event("online")
    assert sorted(r.body["event"] for r in p.requests) == ["Second", "Third"]
