"""pyajs.ordered: parsed JSON objects rebuilt with the key order of their text (what
MicroPython's dicts lose), checked here under CPython on values whose order was shuffled."""

import json

from pyajs import ordered


def shuffled(value):
    """The same value with every object's keys reversed (as a hash order might put them)."""
    if isinstance(value, dict):
        return {k: shuffled(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [shuffled(v) for v in value]
    return value


def keys_deep(value):
    if isinstance(value, dict):
        return [(k, keys_deep(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [keys_deep(v) for v in value]
    return value


def test_reorder_restores_the_order_of_the_text_at_every_depth():
    text = ('[{"name":"Ann","plan":"pro","email":"a@b.test","address":{"street":"x",'
            '"city":"y"},"tags":[{"z":1,"a":2},"q{\\"}"]},{"k\\"ey":1,"b":{},"a":[]}]')
    value = json.loads(text)
    got = ordered._reorder(shuffled(value), text)
    assert keys_deep(got) == keys_deep(value)
    assert json.dumps(got, separators=(",", ":")) == json.dumps(value, separators=(",", ":"))


def test_reorder_leaves_what_it_cannot_align():
    dup = '{"a":{"x":1},"a":{"y":2}}'  # a repeated key: json.loads kept the last
    value = shuffled(json.loads(dup))
    assert ordered._reorder(value, dup) is value
    assert ordered._reorder("text", '"text"') == "text"
    spaced = ' { "b" : 1 ,\n "a" : [ { "d" : 1 , "c" : 2 } ] } '
    got = ordered._reorder(shuffled(json.loads(spaced)), spaced)
    assert keys_deep(got) == [("b", 1), ("a", [[("d", 1), ("c", 2)]])]


def test_key_orders_with_escapes_and_non_ascii():
    text = '{"é\\\\":1,"b":"}\\\\","\\u00e9x":{"y":[1,{"z":2}]}}'
    assert ordered._key_orders(text) == [["é\\", "b", "éx"], ["y"], ["z"]]


def test_cpython_copy_and_reorder_keep_dicts():
    d = {"b": 1, "a": 2}
    assert list(ordered.copy(d)) == ["b", "a"] and ordered.copy(d) is not d
    assert ordered.reorder(d, '{"a":2,"b":1}') is d  # CPython's json.loads keeps order


def test_plain_deep_makes_plain_dicts_at_every_depth():
    value = ordered.OrderedDict([("b", ordered.OrderedDict([("y", 1)])), ("a", [{"x": 2}])])
    got = ordered._plain_deep(value)
    assert type(got) is dict and type(got["b"]) is dict and got == {"b": {"y": 1}, "a": [{"x": 2}]}
