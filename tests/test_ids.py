"""pyajs.ids: UUID v4 anonymous ids and message ids."""

import os
import re
import uuid

import pytest
from pyajs import ids

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(autouse=True)
def _default_source():
    ids.set_random_source(None)
    yield
    ids.set_random_source(None)


def test_uuid4_format_version_and_variant():
    for _ in range(2000):
        value = ids.uuid4()
        assert UUID4.match(value), value
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == value


def test_uuid4_unique_over_10k():
    values = [ids.uuid4() for _ in range(10000)]
    assert len(set(values)) == 10000


def test_uuid4_uses_all_16_random_bytes():
    ids.set_random_source(lambda n: bytes(range(n)) if n < 256 else bytes(i % 256
                                                                          for i in range(n)))
    # bytes 00..0f with the version nibble and variant bits forced
    assert ids.uuid4() == "00010203-0405-4607-8809-0a0b0c0d0e0f"


def test_set_random_source_is_used_and_bits_are_forced():
    calls = []

    def source(n):
        calls.append(n)
        return b"\xff" * n

    ids.set_random_source(source)
    assert ids.uuid4() == "ffffffff-ffff-4fff-bfff-ffffffffffff"
    ids.set_random_source(lambda n: b"\x00" * n)
    assert ids.uuid4() == "00000000-0000-4000-8000-000000000000"
    assert calls and calls[0] >= 16


def test_set_random_source_discards_the_pool():
    ids.uuid4()  # fills the pool from os.urandom
    ids.set_random_source(lambda n: b"\x00" * n)
    assert ids.uuid4() == "00000000-0000-4000-8000-000000000000"


def test_random_source_is_called_in_blocks():
    calls = []

    def source(n):
        calls.append(n)
        return os.urandom(n)

    ids.set_random_source(source)
    values = [ids.uuid4() for _ in range(100)]
    assert len(set(values)) == 100
    assert len(calls) < 10
    assert sum(calls) >= 1600


def test_random_bytes_lengths():
    assert len(ids.random_bytes(0)) == 0
    assert len(ids.random_bytes(5)) == 5
    assert len(ids.random_bytes(2000)) == 2000


def test_message_id_shape():
    mid = ids.message_id(1700000000123)
    prefix, ms, rest = mid.split("-", 2)
    assert prefix == "pyajs"
    assert ms == "1700000000123"
    assert UUID4.match(rest)
    assert ids.message_id(5) != ids.message_id(5)


def test_uuid_source_batches_are_sliced_in_order():
    made = []

    def source(n):
        batch = ["%08x-0000-4000-8000-%012x" % (len(made), i) for i in range(n)]
        made.append(batch)
        return "".join(batch)

    ids.set_uuid_source(source)
    try:
        got = [ids.uuid4() for _ in range(40)]
    finally:
        ids.set_uuid_source(None)
    assert got == [u for batch in made for u in batch][:40]
    assert len(made) == 2 and all(len(u) == 36 for u in got)
    assert UUID4.match(ids.uuid4())  # back to the random bytes
