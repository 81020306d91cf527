"""pyajs.dispatcher: retries, backoff, Retry-After, batching, offline and page exits,
against FakePlatform (requests stay open until answered; time moves only with the clock)."""

import pytest
from fakes import FakePlatform
from pyajs.clock import iso_utc
from pyajs.codec import dumps
from pyajs.delivery import Endpoint
from pyajs.dispatcher import (
    BATCH_CUT_BYTES,
    MAX_BATCH_BYTES,
    Dispatcher,
    backoff_ms,
    is_retryable,
    retry_after_ms,
)
from pyajs.queue import PersistedQueue

Q = "pyajs:q:WK:"
TS = "2023-11-14T22:13:20.000Z"
KB64 = 64 * 1024


def event(n, **extra):
    ev = {"type": "track", "event": "E%d" % n, "properties": {}, "messageId": "m%d" % n,
          "timestamp": TS, "writeKey": "WK"}
    ev.update(extra)
    return ev


def padded(n, nbytes, char="x"):
    """An event of about ``nbytes`` UTF-8 bytes."""
    per = len(char.encode("utf-8"))
    return event(n, properties={"pad": char * (nbytes // per)})


class Setup:
    def __init__(self, strategy="standard", platform=None, tab="t1", **kw):
        self.p = platform or FakePlatform()
        self.q = PersistedQueue(self.p.queue_shelf, "WK", tab, self.p.now_ms, self.p.warn)
        self.finals = []
        kw.setdefault("jitter", 0)
        self.d = Dispatcher(self.q, Endpoint("api.segment.io/v1"), "WK", self.p, self.p.warn,
                            self.on_final, strategy=strategy, **kw)

    def on_final(self, entry, ok, status, reason):
        self.finals.append((entry.id, ok, status, reason))

    def add(self, *events):
        entries = []
        for ev in events:
            entry = self.q.add(ev)
            entries.append(entry)
            self.d.add(entry)
        return entries[0] if len(entries) == 1 else entries

    def stored(self):
        return sorted(k[len(Q):] for k in self.p.local_storage.data if k.startswith(Q))

    def open_timers(self):
        return [t for t in self.p.timers if not t.fired]


def ids(request):
    body = request.body
    return [e["messageId"] for e in body["batch"]] if "batch" in body else [body["messageId"]]


# -- pure helpers -------------------------------------------------------------------------------

RETRY = [0, 408, 410, 429, 460, 500, 502, 503, 504]
FINAL = [501, 505, 511, 400, 401, 403, 404, 413, 422]


@pytest.mark.parametrize("status", RETRY + FINAL)
def test_is_retryable(status):
    assert is_retryable(status) is (status in RETRY)


def test_backoff_growth_and_cap_without_jitter():
    mid = lambda: 0.5  # noqa: E731 - jitter term is zero
    assert [backoff_ms(a, rand=mid) for a in range(1, 10)] == [
        500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]
    assert backoff_ms(30, rand=mid) == 60000
    assert backoff_ms(1, base_ms=200, max_ms=1000, rand=mid) == 200
    assert backoff_ms(4, base_ms=200, max_ms=1000, rand=mid) == 1000


def test_backoff_jitter_bounds():
    assert backoff_ms(1, rand=lambda: 0.0) == 450
    assert backoff_ms(1, rand=lambda: 0.999999) == 549
    assert backoff_ms(3, jitter=0.5, rand=lambda: 0.0) == 1000
    assert backoff_ms(3, jitter=0, rand=lambda: 0.9) == 2000
    for _ in range(200):
        assert 450 <= backoff_ms(1) <= 550
        assert 3600 <= backoff_ms(4) <= 4400


def test_backoff_never_passes_the_cap():
    assert backoff_ms(20, rand=lambda: 0.0) == 54000
    assert backoff_ms(20, rand=lambda: 0.999999) <= 60000
    for _ in range(200):
        assert 54000 <= backoff_ms(12) <= 60000


@pytest.mark.parametrize("header,ms", [
    (None, None), ("2", 2000), (" 2.5 ", 2500), ("0", 0), (7, 7000), ("300", 300000),
    ("301", 300000), ("86400", 300000), ("-1", None), ("", None), ("soon", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("nan", None), ("inf", 300000),
])
def test_retry_after_ms(header, ms):
    assert retry_after_ms(header) == ms


def test_retry_after_cap_is_a_parameter():
    assert retry_after_ms("100", cap_s=10) == 10000


# -- standard strategy ----------------------------------------------------------------------------

def test_standard_one_request_per_event():
    s = Setup()
    s.add(event(1), event(2, type="page", name="P"))
    r1, r2 = s.p.requests
    assert r1.url == "https://api.segment.io/v1/t" and r2.url == "https://api.segment.io/v1/p"
    assert r1.headers == {"Content-Type": "text/plain", "Authorization": "Basic V0s6"}
    assert r1.body == dict(event(1), sentAt=TS)
    assert s.stored() == ["m1", "m2"]
    r1.respond(200)
    assert s.stored() == ["m2"] and s.finals == [("m1", True, 200, None)]
    r2.respond(204)
    assert s.stored() == [] and len(s.q) == 0 and s.p.warnings == []


@pytest.mark.parametrize("status", RETRY)
def test_retry_statuses_are_tried_again_after_backoff(status):
    s = Setup()
    entry = s.add(event(1))
    s.p.requests[0].respond(status, None, "TypeError: Failed to fetch" if status == 0 else None)
    assert s.finals == [] and s.p.warnings == []
    assert s.q.pending() == [entry] and entry.attempts == 1 and not entry.in_flight
    assert s.p.stored(Q + "m1") == '{"o":"t1","a":1,"e":%s}' % dumps(event(1))
    timer, = s.open_timers()
    assert timer.ms == 500
    s.p.advance(499)
    assert len(s.p.requests) == 1
    s.p.advance(1)
    assert len(s.p.requests) == 2
    assert s.p.requests[1].headers["X-Retry-Count"] == "1"
    s.p.requests[1].respond(200)
    assert s.finals == [("m1", True, 200, None)] and s.stored() == []


@pytest.mark.parametrize("status", FINAL)
def test_final_statuses_drop_the_event_with_a_warning(status):
    s = Setup()
    s.add(event(1))
    s.p.requests[0].respond(status)
    assert s.stored() == [] and len(s.q) == 0
    reason = "the collector refused it: HTTP %d" % status
    assert s.finals == [("m1", False, status, reason)]
    warning, = s.p.warnings
    assert "'m1'" in warning and "HTTP %d" % status in warning
    assert s.open_timers() == []
    s.p.advance(600000)
    assert len(s.p.requests) == 1


def test_429_with_retry_after_waits_and_does_not_use_an_attempt():
    s = Setup()
    entry = s.add(event(1))
    s.p.requests[0].respond(429, "2")
    assert entry.attempts == 0 and entry.rate_limited == 1
    assert s.p.stored(Q + "m1") == '{"o":"t1","a":0,"e":%s}' % dumps(event(1))
    timer, = s.open_timers()
    assert timer.ms >= 2000
    s.p.advance(1999)
    assert len(s.p.requests) == 1
    s.p.advance(1)
    assert len(s.p.requests) == 2
    assert s.p.requests[1].headers["X-Retry-Count"] == "1"
    s.p.requests[1].respond(200)
    assert s.finals == [("m1", True, 200, None)] and s.p.warnings == []


def test_429_retry_after_is_capped_at_300_s():
    s = Setup()
    s.add(event(1))
    s.p.requests[0].respond(429, "3600")
    timer, = s.open_timers()
    assert timer.ms == 300000
    s.p.advance(299999)
    assert len(s.p.requests) == 1
    s.p.advance(1)
    assert len(s.p.requests) == 2


def test_rate_limits_do_not_count_towards_the_attempts():
    s = Setup(max_attempts=3)
    entry = s.add(event(1))
    for _ in range(3):
        s.p.requests[-1].respond(429, "1")
        s.p.advance(1000)
    assert len(s.p.requests) == 4 and entry.attempts == 0 and s.finals == []
    s.p.requests[-1].respond(500)
    assert entry.attempts == 1 and s.finals == []
    s.p.advance(500)
    assert s.p.requests[-1].headers["X-Retry-Count"] == "4"


def test_ten_attempts_then_dropped_with_a_warning():
    s = Setup(jitter=0.1)
    s.add(event(1))
    for n in range(10):
        assert len(s.p.requests) == n + 1
        s.p.requests[-1].respond(503)
        s.p.advance(66000)
    assert len(s.p.requests) == 10
    assert s.stored() == [] and len(s.q) == 0
    (mid, ok, status, reason), = s.finals
    assert (mid, ok, status) == ("m1", False, 503)
    assert "10 attempts" in reason and "HTTP 503" in reason
    warning, = s.p.warnings
    assert "'m1'" in warning and "10 attempts" in warning
    s.p.advance(600000)
    assert len(s.p.requests) == 10


def test_retries_carry_the_count_the_same_ids_and_a_new_sent_at():
    s = Setup()
    s.add(event(1))
    for _ in range(3):
        s.p.requests[-1].respond(0, None, "TypeError: Failed to fetch")
        s.p.advance(60000)
    reqs = s.p.requests
    assert len(reqs) == 4
    assert "X-Retry-Count" not in reqs[0].headers
    assert [r.headers.get("X-Retry-Count") for r in reqs] == [None, "1", "2", "3"]
    assert {r.body["messageId"] for r in reqs} == {"m1"}
    assert {r.body["timestamp"] for r in reqs} == {TS}
    sent = [r.body["sentAt"] for r in reqs]
    assert sent[0] == TS and len(set(sent)) == 4
    assert sent[1] == iso_utc(1700000000000 + 500)
    for r in reqs:
        body = dict(r.body)
        del body["sentAt"]
        assert body == event(1)


def test_offline_sends_nothing_until_online_and_flush():
    s = Setup()
    s.p.online = False
    s.add(event(1), event(2), event(3))
    s.p.advance(600000)
    assert s.p.requests == [] and s.stored() == ["m1", "m2", "m3"]
    s.p.online = True
    s.d.flush()
    assert [ids(r) for r in s.p.requests] == [["m1"], ["m2"], ["m3"]]
    s.p.respond_all(200)
    assert s.stored() == [] and [f[1] for f in s.finals] == [True] * 3


def test_offline_holds_retries_too():
    s = Setup()
    s.add(event(1))
    s.p.online = False
    s.p.requests[0].respond(0, None, "TypeError: Failed to fetch")
    s.p.advance(600000)
    assert len(s.p.requests) == 1
    s.d.page_hidden()
    assert len(s.p.requests) == 1
    s.p.online = True
    s.d.flush()
    assert len(s.p.requests) == 2 and s.p.requests[1].headers["X-Retry-Count"] == "1"


def test_other_tabs_claim_is_not_sent():
    s = Setup()
    s.p.online = False
    s.add(event(1), event(2))
    s.p.local_storage.data[Q + "m1"] = '{"o":"t2","a":0,"e":%s}' % dumps(event(1))
    s.p.online = True
    s.d.flush()
    assert [ids(r) for r in s.p.requests] == [["m2"]]
    assert [e.id for e in s.q.pending()] == ["m2"]


# -- batching strategy -----------------------------------------------------------------------------

def test_batch_sent_when_the_size_is_reached():
    s = Setup("batching", batch_size=3)
    s.add(event(1), event(2))
    assert s.p.requests == []
    s.add(event(3))
    req, = s.p.requests
    assert req.url == "https://api.segment.io/v1/batch"
    assert req.headers == {"Content-Type": "text/plain", "Authorization": "Basic V0s6"}
    assert req.body == {"batch": [event(1), event(2), event(3)], "writeKey": "WK", "sentAt": TS}
    assert req.keepalive is False
    req.respond(200)
    assert s.stored() == [] and [f[:3] for f in s.finals] == [
        ("m1", True, 200), ("m2", True, 200), ("m3", True, 200)]


def test_batch_sent_when_the_timeout_passes():
    s = Setup("batching", batch_size=10, batch_timeout_ms=5000)
    s.add(event(1))
    s.p.advance(1000)
    s.add(event(2))
    assert s.p.requests == []
    s.p.advance(3999)
    assert s.p.requests == []
    s.p.advance(1)
    req, = s.p.requests
    assert ids(req) == ["m1", "m2"]
    assert req.body["sentAt"] == iso_utc(1700000005000)
    req.respond(200)
    s.p.advance(60000)
    assert len(s.p.requests) == 1 and s.stored() == []


def test_batches_are_cut_under_450_kb():
    s = Setup("batching", batch_size=100, batch_timeout_ms=5000)
    events = [padded(n, 30000) for n in range(1, 21)]
    s.add(*events)
    s.p.advance(5000)
    reqs = s.p.requests
    assert len(reqs) == 2
    assert [m for r in reqs for m in ids(r)] == ["m%d" % n for n in range(1, 21)]
    for r in reqs:
        assert sum(len(dumps(e).encode("utf-8")) for e in r.body["batch"]) <= BATCH_CUT_BYTES
        assert len(r.text.encode("utf-8")) < MAX_BATCH_BYTES
    assert len(ids(reqs[0])) == 15  # as many as fit


def test_non_ascii_batches_are_cut_by_bytes():
    s = Setup("batching", batch_size=100, batch_timeout_ms=5000)
    s.add(*[padded(n, 30000, "漢") for n in range(1, 21)])
    s.p.advance(5000)
    assert len(s.p.requests) == 2
    for r in s.p.requests:
        assert len(r.text.encode("utf-8")) < MAX_BATCH_BYTES


def test_a_failed_batch_retries_all_of_its_events():
    s = Setup("batching", batch_size=3, batch_timeout_ms=5000)
    entries = s.add(event(1), event(2), event(3))
    s.p.requests[0].respond(503)
    assert [e.attempts for e in entries] == [1, 1, 1] and s.finals == []
    for n in (1, 2, 3):
        assert s.p.stored(Q + "m%d" % n) == '{"o":"t1","a":1,"e":%s}' % dumps(event(n))
    s.p.advance(500)
    retry, = s.p.requests[1:]
    assert ids(retry) == ["m1", "m2", "m3"]
    assert retry.headers["X-Retry-Count"] == "1"
    assert retry.body["batch"] == [event(1), event(2), event(3)]
    retry.respond(200)
    assert s.stored() == [] and len(s.finals) == 3 and all(f[1] for f in s.finals)


def test_a_refused_batch_drops_all_of_its_events():
    s = Setup("batching", batch_size=2)
    s.add(event(1), event(2))
    s.p.requests[0].respond(400)
    assert s.stored() == [] and [f[:3] for f in s.finals] == [
        ("m1", False, 400), ("m2", False, 400)]
    assert len(s.p.warnings) == 2


# -- page exits -----------------------------------------------------------------------------------

def test_page_hidden_sends_pending_with_keepalive_within_the_budget():
    s = Setup("batching", batch_size=100)
    s.add(*[padded(n, 5000) for n in range(1, 31)])  # 150 KB waiting for the batch
    assert s.p.requests == []
    s.d.page_hidden()
    reqs = s.p.requests
    assert reqs and all(r.keepalive for r in reqs)
    assert {r.url for r in reqs} == {"https://api.segment.io/v1/batch"}
    assert sum(len(r.text.encode("utf-8")) for r in reqs) < KB64
    sent = [m for r in reqs for m in ids(r)]
    assert sent == ["m%d" % n for n in range(1, len(sent) + 1)] and 5 < len(sent) < 30
    assert len(reqs) > 1  # more than one chunk
    left = [e for e in s.q.pending() if not e.in_flight]
    assert [e.id for e in left] == ["m%d" % n for n in range(len(sent) + 1, 31)]
    assert len(s.stored()) == 30  # nothing acknowledged yet: all still persisted
    s.p.respond_all(200)
    assert len(s.stored()) == 30 - len(sent)


def test_page_hidden_counts_keepalive_requests_already_in_flight():
    s = Setup()
    s.add(*[padded(n, 5000) for n in range(1, 21)])
    before = [r for r in s.p.requests if r.keepalive]
    assert before and s.p.keepalive_bytes() < KB64
    s.d.page_hidden()
    assert s.p.keepalive_bytes() < KB64
    # events already on their way with keepalive are not sent again
    first = {m for r in before for m in ids(r)}
    again = {m for r in s.p.requests if r not in before for m in ids(r)}
    assert not first & again


def test_page_hidden_budget_counts_utf8_bytes_of_adopted_events():
    p = FakePlatform()
    old = Setup(platform=p, tab="old")
    old.p.online = False
    old.add(*[padded(n, 9000, "漢") for n in range(1, 11)])  # 90 KB, 30 K characters
    old.q.release()
    s = Setup("batching", platform=FakePlatform(local_storage=p.local_storage), tab="new")
    s.p.online = True
    adopted = s.q.adopt(s.q.claim_orphans())
    assert len(adopted) == 10
    s.d.page_hidden()
    assert s.p.requests and s.p.keepalive_bytes() < KB64


def test_page_hidden_offline_sends_nothing():
    s = Setup("batching")
    s.add(event(1))
    s.p.online = False
    s.d.page_hidden()
    assert s.p.requests == []


@pytest.mark.parametrize("first", ["keepalive-copy", "original"])
def test_event_settled_twice_is_acked_once_and_not_resurrected(first):
    s = Setup("batching", batch_size=2)
    s.add(event(1), event(2))
    original, = s.p.requests
    assert original.keepalive is False
    s.d.page_hidden()  # the page may go: the batch again, with keepalive
    original_, copy = s.p.requests
    assert copy.keepalive is True and ids(copy) == ["m1", "m2"]
    if first == "keepalive-copy":
        copy.respond(200)
        original.respond(0, None, "AbortError: the page went away")
    else:
        original.respond(0, None, "AbortError: the page went away")
        assert s.stored() == ["m1", "m2"]
        copy.respond(200)
    assert s.stored() == [] and len(s.q) == 0
    assert [f[:2] for f in s.finals] == [("m1", True), ("m2", True)]
    s.p.advance(600000)
    assert len(s.p.requests) == 2 and s.stored() == []
    assert s.p.warnings == []


def test_standard_keepalive_requests_stay_within_the_budget_in_utf8_bytes():
    s = Setup()
    s.add(*[padded(n, 6000, "漢") for n in range(1, 16)])  # 2000 characters, 6 KB each
    assert any(r.keepalive for r in s.p.requests)
    assert any(not r.keepalive for r in s.p.requests)
    assert s.p.keepalive_bytes() < KB64
    s.d.page_hidden()
    assert s.p.keepalive_bytes() < KB64
