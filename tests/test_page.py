"""pyajs.page: context.page from a call-time snapshot, context.campaign, query params."""

import pytest
from pyajs.page import PAGE_FIELDS, campaign, page_context, url_pathname


def snap(**kw):
    base = {"u": "https://www.example.test/docs/a?x=1#frag", "p": "/docs/a", "s": "?x=1",
            "t": "Title", "r": "https://ref.example.org/", "c": None}
    base.update(kw)
    return base


def test_page_fields():
    assert PAGE_FIELDS == ("path", "referrer", "search", "title", "url")


def test_page_context_without_canonical_drops_the_fragment():
    assert page_context(snap()) == {
        "path": "/docs/a", "referrer": "https://ref.example.org/", "search": "?x=1",
        "title": "Title", "url": "https://www.example.test/docs/a?x=1"}


def test_page_context_url_without_fragment_is_kept():
    assert page_context(snap(u="https://h.test/a"))["url"] == "https://h.test/a"
    assert page_context(snap(u="https://h.test/a#"))["url"] == "https://h.test/a"


def test_canonical_sets_path_and_url_plus_search():
    ctx = page_context(snap(c="https://www.example.test/canonical/page"))
    assert ctx["path"] == "/canonical/page"
    assert ctx["url"] == "https://www.example.test/canonical/page?x=1"
    assert ctx["search"] == "?x=1"
    assert ctx["title"] == "Title"


def test_canonical_with_query_is_used_as_is():
    ctx = page_context(snap(c="https://www.example.test/c?id=9"))
    assert ctx["url"] == "https://www.example.test/c?id=9"
    assert ctx["path"] == "/c"


def test_canonical_fragment_removed_before_search():
    ctx = page_context(snap(c="https://www.example.test/c#part"))
    assert ctx["url"] == "https://www.example.test/c?x=1"
    assert ctx["path"] == "/c"


def test_canonical_without_search():
    ctx = page_context(snap(s="", c="https://www.example.test/c"))
    assert ctx["url"] == "https://www.example.test/c"
    assert ctx["search"] == ""


def test_canonical_host_only_and_relative():
    assert page_context(snap(c="https://www.example.test"))["path"] == "/"
    assert page_context(snap(c="/relative/path"))["path"] == "/relative/path"


def test_page_context_missing_fields():
    assert page_context({}) == {"path": "/", "referrer": "", "search": "", "title": "",
                                "url": ""}
    assert page_context({"u": "https://h.test/", "p": None, "r": None, "t": None,
                         "s": None})["path"] == "/"


@pytest.mark.parametrize("url,path", [
    ("https://h.test/a/b?x#y", "/a/b"), ("https://h.test", "/"), ("https://h.test/", "/"),
    ("http://h.test:8000/x/", "/x/"), ("/p?q", "/p"), ("https://h.test#f", "/"),
])
def test_url_pathname(url, path):
    assert url_pathname(url) == path


def test_campaign_parsing():
    search = ("?utm_source=news&utm_medium=email&utm_campaign=spring+sale&utm_term=a%20b"
              "&utm_content=c%2Bd&other=1")
    assert campaign(search) == {"source": "news", "medium": "email", "name": "spring sale",
                                "term": "a b", "content": "c+d"}


def test_campaign_non_ascii_and_bad_escapes():
    assert campaign("?utm_source=caf%C3%A9&utm_term=100%") == {"source": "café",
                                                                 "term": "100%"}
    assert campaign("?utm_term=50%+off%21") == {"term": "50%+off%21"}  # kept as written


def test_campaign_second_question_mark_and_equals():
    assert campaign("?a=1?utm_source=x=y") == {"source": "x"}


def test_campaign_key_containing_utm():
    # Analytics.js tests "contains utm_", not "starts with"
    assert campaign("?x_utm_source=a") == {"source": "a"}


def test_campaign_missing_value_and_empty_name():
    assert campaign("?utm_source&utm_=x") == {"source": ""}


@pytest.mark.parametrize("search", ["", None])
def test_campaign_none_without_a_query_string(search):
    assert campaign(search) is None


@pytest.mark.parametrize("search", ["?", "?a=1&b=2", "?utm_=1"])
def test_campaign_empty_for_a_query_string_without_utm(search):
    assert campaign(search) == {}  # what Analytics.js sends (conformance suite)


def test_campaign_without_question_mark():
    assert campaign("utm_source=a") == {"source": "a"}
