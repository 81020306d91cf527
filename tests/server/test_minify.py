"""The snippet's minifier: comments and whitespace out, everything else as written."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from pyajs_server.minify import MinifyError, minify_js

from tests.server.helpers import REPO


def test_comments_and_whitespace_go_strings_and_regexes_stay() -> None:
    source = """
    // a comment
    var a = "x // not a comment", b = 'y /* nor this */';  /* block
    comment */
    var re = /\\/+$|[/]"/g, half = a.length / 2 / 1;
    if (a) return /^(x|y)$/.test(b);
    """
    assert minify_js(source) == (
        'var a="x // not a comment",b=\'y /* nor this */\';'
        'var re=/\\/+$|[/]"/g,half=a.length/2/1;if(a)return/^(x|y)$/.test(b);\n')


def test_tokens_that_would_merge_keep_a_space() -> None:
    assert minify_js("var x = a - -b + +c; x = 1 .toString(); y = typeof z;") == (
        "var x=a- -b+ +c;x=1 .toString();y=typeof z;\n")


def test_a_line_break_that_ends_a_statement_is_kept() -> None:
    # no semicolons: automatic semicolon insertion must read the same statements
    assert minify_js("var a = 1\nvar b = a\n++b\nreturn\nb") == (
        "var a=1\nvar b=a\n++b\nreturn\nb\n")
    # where no statement can end, the break goes
    assert minify_js("f(a,\n  b);\nx = {\n  k: 1\n};") == "f(a,b);x={k:1};\n"


@pytest.mark.parametrize("source", ["var s = `t`;", "var s = 'open", "/* open", "x = /open"])
def test_what_it_does_not_handle_is_refused(source: str) -> None:
    with pytest.raises(MinifyError):
        minify_js(source)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_the_minified_snippet_parses_and_is_smaller() -> None:
    source = (REPO / "web" / "snippet.js").read_text("utf-8")
    minified = minify_js(source)
    assert len(minified) < 0.8 * len(source)
    assert "//" not in minified.replace("://", "")
    subprocess.run(["node", "-e", "new Function(require('fs').readFileSync(0, 'utf8'))"],
                   input=minified, text=True, check=True)
