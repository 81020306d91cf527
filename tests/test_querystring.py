"""pyajs.querystring: the ``ajs_`` parameters of the page's URL as calls (Analytics.js's
query-string API)."""

from pyajs.querystring import decode_value, parse_params, query_calls, query_source


def calls(search, hash_="", option=None):
    warnings = []
    return query_calls(search, hash_, option, warnings.append), warnings


def test_the_three_calls_in_order():
    got, warnings = calls("?ajs_aid=qa-anon&ajs_uid=qu-user&ajs_trait_name=Bob%20S&ajs_trait_x=1"
                          "&ajs_event=Clicked+Thing&ajs_prop_color=red")
    assert got == [("setAnonymousId", ["qa-anon"]),
                   ("identify", ["qu-user", {"name": "Bob S", "x": "1"}]),
                   ("track", ["Clicked Thing", {"color": "red"}])]
    assert warnings == []


def test_nothing_without_ajs_or_when_disabled():
    assert calls("?utm_source=x&uid=3") == ([], [])
    assert calls("") == ([], [])
    assert calls("?ajs_uid=u1", option=False) == ([], [])


def test_traits_only_with_a_user_id_and_properties_only_with_an_event():
    got, _ = calls("?ajs_trait_plan=pro&ajs_prop_color=red")
    assert got == []
    got, _ = calls("?ajs_uid=u1&ajs_prop_color=red")
    assert got == [("identify", ["u1", {}])]
    got, _ = calls("?ajs_event=Opened&ajs_trait_plan=pro")
    assert got == [("track", ["Opened", {}])]


def test_empty_or_valueless_parameters_count_as_absent():
    assert calls("?ajs_aid=&ajs_uid&ajs_event=")[0] == []
    got, _ = calls("?ajs_uid=u1&ajs_trait_a&ajs_trait_b=")
    assert got == [("identify", ["u1", {"b": ""}])]  # no "=": no value; "=": an empty one


def test_the_last_of_a_repeated_key_wins():
    got, _ = calls("?ajs_uid=first&ajs_uid=second&ajs_trait_t=1&ajs_trait_t=2")
    assert got == [("identify", ["second", {"t": "2"}])]


def test_the_hash_is_read_when_there_is_no_search():
    got, _ = calls("", "#/account?ajs_uid=h-user&ajs_trait_plan=pro")
    assert got == [("identify", ["h-user", {"plan": "pro"}])]
    assert calls("", "#ajs_uid=no-question-mark") == ([], [])
    got, _ = calls("?x=1", "#?ajs_uid=ignored")  # a search, even without ajs_, wins
    assert got == []


def test_query_source():
    assert query_source("?a=1", "#?b=2") == "?a=1"
    assert query_source("", "#/r?b=2") == "?b=2"
    assert query_source("", "#a?b?c=3") == "?c=3"  # from the last "?"
    assert query_source("", "#frag") == "#frag"
    assert query_source("", "") == ""


def test_parse_params_keeps_keys_raw_and_drops_text_after_a_second_equals():
    assert parse_params("?ajs_trait_a%20b=1&k=v=w&&x") == {
        "ajs_trait_a%20b": "1", "k": "v", "": None, "x": None}
    assert parse_params("?a=1#frag") == {"a": "1"}
    assert parse_params("#a=1") == {}


def test_decode_value():
    assert decode_value("Bob+S%C3%A9") == "Bob Sé"
    assert decode_value("a%2Bb") == "a+b"
    assert decode_value("100%") == "100%"  # a bad escape: the text as written, "+" kept
    assert decode_value("50%+off") == "50%+off"
    assert decode_value("%C3") == "%C3"  # not UTF-8
    assert decode_value("plain") == "plain"


def test_use_query_string_patterns_restrict_the_ids():
    option = {"aid": "^[a-z]+$", "uid": "^u-\\d+$"}
    got, warnings = calls("?ajs_aid=abc&ajs_uid=u-12&ajs_event=E", option=option)
    assert got == [("setAnonymousId", ["abc"]), ("identify", ["u-12", {}]), ("track", ["E", {}])]
    got, warnings = calls("?ajs_aid=ABC-1&ajs_uid=admin&ajs_trait_role=x&ajs_event=E",
                          option=option)
    assert got == [("track", ["E", {}])]  # the event is never restricted
    assert warnings == []


def test_patterns_search_like_regexp_test():
    got, _ = calls("?ajs_uid=xx-u-1-yy", option={"uid": "u-\\d"})
    assert got == [("identify", ["xx-u-1-yy", {}])]


def test_a_pattern_that_is_not_a_string_or_is_invalid_refuses_with_a_warning():
    got, warnings = calls("?ajs_aid=a1&ajs_uid=u1", option={"aid": {}, "uid": "("})
    assert got == []
    assert len(warnings) == 2
    assert "useQueryString.aid must be a pattern string" in warnings[0]
    assert "useQueryString.uid: bad pattern" in warnings[1]


def test_other_option_values_mean_the_default():
    for option in (None, True, {}, "yes"):
        got, _ = calls("?ajs_uid=u1", option=option)
        assert got == [("identify", ["u1", {}])]


def test_no_re_import_without_patterns():
    import sys

    saved = sys.modules.pop("re", None)
    try:
        import builtins

        real_import = builtins.__import__

        def guarded(name, *args, **kwargs):
            if name == "re":
                raise AssertionError("re imported")
            return real_import(name, *args, **kwargs)

        builtins.__import__ = guarded
        try:
            got, _ = calls("?ajs_aid=a&ajs_uid=u&ajs_event=e")
        finally:
            builtins.__import__ = real_import
    finally:
        if saved is not None:
            sys.modules["re"] = saved
    assert [c[0] for c in got] == ["setAnonymousId", "identify", "track"]
