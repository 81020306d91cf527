"""pyajs.queue: the persisted queue, checked by the exact localStorage entries it writes,
its bounds and warnings, and how two tabs share (and never both take) stored events."""

import json

import pytest
from fakes import MemoryLocalStorage
from pyajs.codec import dumps
from pyajs.queue import MAX_EVENT_BYTES, STALE_MS, PersistedQueue

NOW = 1700000000000
Q = "pyajs:q:WK:"
TAB = "pyajs:tab:WK:"


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


def event(n, **extra):
    ev = {"type": "track", "event": "E%d" % n, "properties": {}, "messageId": "m%d" % n,
          "timestamp": "2023-11-14T22:13:20.000Z", "writeKey": "WK"}
    ev.update(extra)
    return ev


def make(shelf=None, tab="t1", clock=None, **kw):
    shelf = MemoryLocalStorage() if shelf is None else shelf
    warnings = []
    q = PersistedQueue(shelf, "WK", tab_id=tab, clock=clock or Clock(), warn=warnings.append,
                       **kw)
    return q, shelf, warnings


def stored(owner, attempts, ev):
    return '{"o":"%s","a":%d,"e":%s}' % (owner, attempts, dumps(ev))


def size(ev):
    return len(dumps(ev).encode("utf-8"))


def queue_keys(shelf):
    return sorted(k for k in shelf.data if k.startswith(Q))


def orphan(shelf, n, owner="t0", attempts=0, **extra):
    """An event left in storage by another page."""
    ev = event(n, **extra)
    shelf.data[Q + ev["messageId"]] = stored(owner, attempts, ev)
    return ev


# -- add / ack --------------------------------------------------------------------------------

def test_add_writes_one_entry_owner_first():
    q, shelf, warnings = make()
    ev = event(1, properties={"sku": "A-1", "name": "café"})
    entry = q.add(ev)
    assert shelf.data == {
        "pyajs:q:WK:m1": '{"o":"t1","a":0,"e":{"type":"track","event":"E1","properties":'
                         '{"sku":"A-1","name":"café"},"messageId":"m1",'
                         '"timestamp":"2023-11-14T22:13:20.000Z","writeKey":"WK"}}'}
    assert (entry.id, entry.event, entry.attempts, entry.persisted) == ("m1", ev, 0, True)
    assert entry.size == size(ev) == len(dumps(ev)) + 1  # é is two bytes
    assert q.pending() == [entry] and len(q) == 1 and q.bytes == entry.size
    assert warnings == []


def test_add_keeps_order_and_ack_removes_only_that_entry():
    q, shelf, _ = make()
    e1, e2, e3 = q.add(event(1)), q.add(event(2)), q.add(event(3))
    assert [e.id for e in q.pending()] == ["m1", "m2", "m3"]
    q.ack(e2)
    assert [e.id for e in q.pending()] == ["m1", "m3"]
    assert queue_keys(shelf) == [Q + "m1", Q + "m3"]
    assert q.bytes == e1.size + e3.size
    q.ack(e1)
    q.ack(e3)
    assert shelf.data == {} and len(q) == 0 and q.bytes == 0
    q.ack(e3)  # twice: nothing happens
    assert len(q) == 0 and q.bytes == 0


# -- bounds -------------------------------------------------------------------------------------

def test_max_events_drops_the_oldest_with_a_warning_naming_it():
    q, shelf, warnings = make(max_events=2)
    q.add(event(1))
    q.add(event(2))
    assert warnings == []
    q.add(event(3))
    assert [e.id for e in q.pending()] == ["m2", "m3"]
    assert queue_keys(shelf) == [Q + "m2", Q + "m3"]
    assert len(warnings) == 1
    assert "full" in warnings[0] and "'m1'" in warnings[0] and "track" in warnings[0]
    q.add(event(4))
    assert queue_keys(shelf) == [Q + "m3", Q + "m4"]
    assert "'m2'" in warnings[1]


def test_max_bytes_drops_the_oldest_until_the_new_event_fits():
    one = size(event(1))
    q, shelf, warnings = make(max_bytes=3 * one)
    for n in (1, 2, 3):
        q.add(event(n))
    assert warnings == [] and q.bytes == 3 * one
    q.add(event(4, event="E4-longer"))  # needs room for more than one event's bytes
    assert [e.id for e in q.pending()] == ["m3", "m4"]
    assert queue_keys(shelf) == [Q + "m3", Q + "m4"]
    assert len(warnings) == 2
    assert "'m1'" in warnings[0] and "'m2'" in warnings[1]
    assert q.bytes <= 3 * one


def test_event_over_32_kb_in_utf8_bytes_is_refused_and_the_queue_goes_on():
    base = size(event(1, properties={"t": ""}))
    # 'é' is 2 bytes: under 32 K characters, over 32 KB
    text = "é" * ((MAX_EVENT_BYTES - base) // 2 + 1)
    big = event(1, properties={"t": text})
    assert len(dumps(big)) <= MAX_EVENT_BYTES < size(big)
    q, shelf, warnings = make()
    assert q.add(big) is None
    assert len(warnings) == 1 and "32 KB" in warnings[0] and "E1" in warnings[0]
    assert shelf.data == {} and len(q) == 0 and q.bytes == 0
    entry = q.add(event(2))
    assert entry is not None and queue_keys(shelf) == [Q + "m2"]
    assert len(warnings) == 1


def test_event_of_exactly_32_kb_is_accepted():
    base = size(event(1, properties={"t": ""}))
    ok = event(1, properties={"t": "x" * (MAX_EVENT_BYTES - base)})
    over = event(2, properties={"t": "x" * (MAX_EVENT_BYTES - base + 1)})
    assert size(ok) == MAX_EVENT_BYTES
    q, shelf, warnings = make()
    assert q.add(ok) is not None
    assert q.add(over) is None
    assert queue_keys(shelf) == [Q + "m1"] and len(warnings) == 1


# -- storage that fails -------------------------------------------------------------------------

def test_full_storage_keeps_events_in_memory_with_one_warning():
    q, shelf, warnings = make()
    shelf.data["site:cart"] = "[1,2]"
    shelf.full = True
    e1 = q.add(event(1))
    e2 = q.add(event(2))
    assert [e.id for e in q.pending()] == ["m1", "m2"]
    assert (e1.persisted, e2.persisted) == (False, False)
    assert shelf.data == {"site:cart": "[1,2]"}
    assert len(warnings) == 1
    assert "QuotaExceededError" in warnings[0] and "memory" in warnings[0]
    e1.attempts = 2
    q.save_attempts(e1)  # not persisted: not tried again, no second warning
    assert q.still_mine(e1) is True
    q.ack(e1)
    q.ack(e2)
    assert len(q) == 0 and len(warnings) == 1


def test_storage_failing_later_keeps_the_old_entry_and_warns_once():
    q, shelf, warnings = make()
    e1 = q.add(event(1))
    shelf.full = True
    e1.attempts = 1
    q.save_attempts(e1)
    q.save_attempts(e1)
    e2 = q.add(event(2))
    assert shelf.data == {Q + "m1": stored("t1", 0, event(1))}
    assert e2.persisted is False and len(warnings) == 1
    shelf.full = False
    q.ack(e1)  # removing still works on a full storage
    assert shelf.data == {}


def test_broken_storage_never_raises():
    q, shelf, warnings = make()
    shelf.broken = True
    entry = q.add(event(1))
    assert entry is not None and len(q) == 1 and len(warnings) == 1
    q.heartbeat()
    q.release()
    assert q.claim_orphans() == []
    assert q.still_mine(entry) is True
    q.ack(entry)
    assert len(q) == 0 and len(warnings) == 1


def test_no_storage_at_all():
    warnings = []
    q = PersistedQueue(None, "WK", "t1", Clock(), warnings.append)
    entry = q.add(event(1))
    assert entry.persisted is False and q.still_mine(entry)
    q.heartbeat()
    assert q.claim_orphans() == []
    q.ack(entry)
    assert len(q) == 0 and warnings == []


def test_the_sites_own_keys_are_never_removed():
    shelf = MemoryLocalStorage()
    site = {"site:cart": "[1,2]", "ajs_user_id": '"u1"', "pyajs:q:OTHER:m9": "not json",
            "pyajs:tab:OTHER:t9": "1", "pyajs:qx": "x", "pyajs:q:WKX:m1": "{}"}
    shelf.data.update(site)
    shelf.data[Q + "bad"] = "{corrupt"
    orphan(shelf, 5)
    q, _, warnings = make(shelf, max_events=2)
    for n in range(1, 5):  # drops the oldest twice
        q.add(event(n))
    q.claim_orphans()  # takes m5, removes the corrupt entry
    shelf.full = True
    q.add(event(6))  # full: memory only
    shelf.full = False
    q.release()
    for e in q.pending():
        q.ack(e)
    left = {k: v for k, v in shelf.data.items() if not k.startswith(Q)}
    assert left == site
    assert len(warnings) == 2 + 1 + 1 + 1  # two drops, one corrupt, one full, one drop


# -- attempts and ownership ------------------------------------------------------------------

def test_save_attempts_persists_the_count():
    q, shelf, _ = make()
    entry = q.add(event(1))
    entry.attempts = 3
    q.save_attempts(entry)
    assert shelf.data[Q + "m1"] == stored("t1", 3, event(1))
    assert json.loads(shelf.data[Q + "m1"])["a"] == 3


def test_save_attempts_does_not_take_back_another_tabs_claim():
    q, shelf, _ = make()
    entry = q.add(event(1))
    shelf.data[Q + "m1"] = stored("t2", 0, event(1))  # t1 looked dead: t2 claimed it
    entry.attempts = 1
    q.save_attempts(entry)
    assert shelf.data[Q + "m1"] == stored("t2", 0, event(1))
    assert len(q) == 0 and q.bytes == 0


def test_still_mine_false_after_another_tab_rewrote_the_owner():
    q, shelf, _ = make()
    e1 = q.add(event(1))
    e2 = q.add(event(2))
    assert q.still_mine(e1) is True
    shelf.data[Q + "m1"] = stored("t2", 0, event(1))
    assert q.still_mine(e1) is False
    assert [e.id for e in q.pending()] == ["m2"] and q.bytes == e2.size
    assert shelf.data[Q + "m1"] == stored("t2", 0, event(1))  # the other tab's, untouched
    assert q.still_mine(e2) is True


def test_still_mine_is_not_fooled_by_a_tab_id_prefix():
    q, shelf, _ = make(tab="t1")
    entry = q.add(event(1))
    shelf.data[Q + "m1"] = stored("t10", 0, event(1))
    assert q.still_mine(entry) is False


# -- tabs -------------------------------------------------------------------------------------

def test_heartbeat_and_release():
    clock = Clock()
    q, shelf, _ = make(clock=clock)
    q.heartbeat()
    assert shelf.data == {TAB + "t1": str(NOW)}
    clock.now += 5000
    q.heartbeat()
    assert shelf.data == {TAB + "t1": str(NOW + 5000)}
    q.release()
    assert shelf.data == {}


def test_claim_orphans_of_a_missing_heartbeat_then_adopt():
    q, shelf, warnings = make()
    ev = orphan(shelf, 1, owner="t0", attempts=4)
    assert q.claim_orphans() == ["m1"]
    assert shelf.data[Q + "m1"] == stored("t1", 4, ev)
    assert len(q) == 0  # only after adopt
    adopted = q.adopt(["m1"])
    assert [(e.id, e.event, e.attempts, e.persisted) for e in adopted] == [("m1", ev, 4, True)]
    assert q.pending() == adopted
    assert q.claim_orphans() == []  # already ours
    assert warnings == []


def test_claim_orphans_of_a_stale_heartbeat_but_not_a_live_one():
    clock = Clock()
    q, shelf, _ = make(clock=clock)
    shelf.data[TAB + "stale"] = str(NOW - STALE_MS - 1)
    shelf.data[TAB + "live"] = str(NOW - STALE_MS + 1)
    stale = orphan(shelf, 1, owner="stale")
    live = orphan(shelf, 2, owner="live")
    assert q.claim_orphans() == ["m1"]
    assert shelf.data[Q + "m1"] == stored("t1", 0, stale)
    assert shelf.data[Q + "m2"] == stored("live", 0, live)
    assert TAB + "stale" not in shelf.data  # a dead tab's heartbeat is cleared
    assert shelf.data[TAB + "live"] == str(NOW - STALE_MS + 1)
    clock.now += 2
    assert q.claim_orphans() == ["m2"]  # now stale too


def test_adopt_skips_what_another_tab_claimed_since():
    q, shelf, _ = make()
    orphan(shelf, 1)
    orphan(shelf, 2)
    claimed = q.claim_orphans()
    assert sorted(claimed) == ["m1", "m2"]
    shelf.data[Q + "m1"] = stored("t2", 0, event(1))
    del shelf.data[Q + "m2"]  # sent and acknowledged elsewhere
    assert q.adopt(claimed) == [] and len(q) == 0


class RacingStorage(MemoryLocalStorage):
    """Runs ``hook`` once, right after the first read of a queue entry: another tab acting
    between this tab's read and its write."""

    def __init__(self):
        super().__init__()
        self.hook = None

    def getItem(self, key):  # noqa: N802
        value = super().getItem(key)
        if self.hook is not None and key.startswith(Q):
            hook, self.hook = self.hook, None
            hook()
        return value


@pytest.mark.parametrize("order", ["a-then-b", "b-then-a", "interleaved", "no-heartbeats"])
def test_two_tabs_claiming_the_same_orphans_adopt_each_exactly_once(order):
    shelf = RacingStorage()
    clock = Clock()
    evs = [orphan(shelf, n, owner="gone", attempts=n) for n in range(1, 6)]
    qa, _, wa = make(shelf, tab="ta", clock=clock)
    qb, _, wb = make(shelf, tab="tb", clock=clock)
    if order != "no-heartbeats":
        qa.heartbeat()
        qb.heartbeat()
    claims = {}
    if order == "b-then-a":
        claims["b"] = qb.claim_orphans()
        claims["a"] = qa.claim_orphans()
    else:
        if order == "interleaved":  # B claims everything while A is in the middle
            shelf.hook = lambda: claims.setdefault("b", qb.claim_orphans())
        claims["a"] = qa.claim_orphans()
        if "b" not in claims:
            claims["b"] = qb.claim_orphans()
    clock.now += 100
    adopted_a = qa.adopt(claims["a"])
    adopted_b = qb.adopt(claims["b"])
    ids = sorted(e.id for e in adopted_a + adopted_b)
    assert ids == ["m1", "m2", "m3", "m4", "m5"]
    for e in adopted_a + adopted_b:
        assert e.event == evs[int(e.id[1:]) - 1] and e.attempts == int(e.id[1:])
    for e in adopted_a:
        assert shelf.data[Q + e.id].startswith('{"o":"ta",')
    for e in adopted_b:
        assert shelf.data[Q + e.id].startswith('{"o":"tb",')
    if order == "interleaved":
        assert adopted_a and adopted_b  # a real race: both won some
    # neither claims the other's events again while both are alive
    qa.heartbeat()
    qb.heartbeat()
    assert qa.claim_orphans() == [] and qb.claim_orphans() == []
    assert wa == [] and wb == []


def test_corrupt_stored_entries_are_removed_with_one_warning():
    shelf = MemoryLocalStorage()
    shelf.data.update({
        Q + "bad1": "not json",
        Q + "bad2": '{"o":"t0","a":0,"e":"text"}',
        Q + "bad3": '{"o":"t0","a":0,"e":{"no":"type"}}',
        Q + "bad4": "[1,2]",
    })
    good = orphan(shelf, 1)
    shelf.data[Q + "m2"] = '{"o":"t0","a":"x","e":%s}' % dumps(event(2))  # bad count: 0
    q, _, warnings = make(shelf)
    assert sorted(q.claim_orphans()) == ["m1", "m2"]
    assert queue_keys(shelf) == [Q + "m1", Q + "m2"]
    assert len(warnings) == 1 and "corrupt" in warnings[0]
    adopted = q.adopt(["m1", "m2"])
    assert [(e.id, e.attempts) for e in adopted] == [("m1", 0), ("m2", 0)]
    assert adopted[0].event == good


# -- a reload ----------------------------------------------------------------------------------

def test_reload_a_second_page_adopts_the_unacknowledged_events():
    shelf = MemoryLocalStorage()
    clock = Clock()
    qa, _, _ = make(shelf, tab="ta", clock=clock)
    qa.heartbeat()
    evs = [event(n, properties={"n": n, "text": "漢字"}) for n in (1, 2, 3)]
    entries = [qa.add(ev) for ev in evs]
    entries[1].attempts = 2
    qa.save_attempts(entries[1])
    qa.release()
    clock.now += 1000
    qb, _, warnings = make(shelf, tab="tb", clock=clock)
    qb.heartbeat()
    claimed = qb.claim_orphans()
    assert sorted(claimed) == ["m1", "m2", "m3"]
    clock.now += 100
    adopted = sorted(qb.adopt(claimed), key=lambda e: e.id)
    assert [(e.id, e.event, e.attempts) for e in adopted] == [
        ("m1", evs[0], 0), ("m2", evs[1], 2), ("m3", evs[2], 0)]
    assert [e.event["messageId"] for e in adopted] == ["m1", "m2", "m3"]
    for e, ev in zip(adopted, evs, strict=True):
        assert shelf.data[Q + e.id] == stored("tb", e.attempts, ev)
    # sizes count UTF-8 bytes of the event, as add does: the same bounds and budgets
    assert [e.size for e in adopted] == [x.size for x in entries]
    assert qb.bytes == qa.bytes
    assert warnings == []
    for e in adopted:
        qb.ack(e)
    assert queue_keys(shelf) == []


class BatchShelf(MemoryLocalStorage):
    """A shelf that takes many writes and removals per call, as the browser's does."""

    def __init__(self):
        super().__init__()
        self.calls = []
        self.fail_remove_many = False

    def put_wrapped(self, head, tail, pairs):
        self.calls.append(("put_wrapped", len(pairs)))
        for key, value in pairs:
            self.setItem(key, head + value + tail)

    def put_many(self, pairs):
        self.calls.append(("put_many", len(pairs)))
        for key, value in pairs:
            self.setItem(key, value)

    def remove_many(self, keys):
        self.calls.append(("remove_many", len(keys)))
        if self.fail_remove_many:
            raise RuntimeError("SecurityError")
        for key in keys:
            self.removeItem(key)


def test_persist_writes_new_events_wrapped_in_one_call_and_retries_whole():
    q, shelf, _ = make(BatchShelf())
    entries = [q.add(event(n), defer=True) for n in range(3)]
    q.persist()
    assert shelf.calls == [("put_wrapped", 3)]
    assert {k: v for k, v in shelf.data.items() if k.startswith(Q)} == {
        Q + "m%d" % n: stored("t1", 0, event(n)) for n in range(3)}
    assert all(e.persisted for e in entries)
    # an entry with attempts (adopted from an earlier page) goes as whole texts
    entries[0].attempts = 2
    q._staged = [entries[0]]
    q.persist()
    assert shelf.calls[-1] == ("put_many", 1)
    assert shelf.data[Q + "m0"] == stored("t1", 2, event(0))


@pytest.mark.parametrize("fail", [False, True])
def test_ack_many_removes_a_batch_in_one_call_or_one_by_one(fail):
    q, shelf, _ = make(BatchShelf())
    entries = [q.add(event(n)) for n in range(4)]
    shelf.fail_remove_many = fail
    q.ack_many(entries[:3])
    assert shelf.calls == [("remove_many", 3)]
    assert [k for k in shelf.data if k.startswith(Q)] == [Q + "m3"]
    assert len(q) == 1 and q.bytes == entries[3].size
    q.ack_many(entries[3:])  # a single entry: a plain removeItem
    assert shelf.calls == [("remove_many", 3)] and len(q) == 0
