"""A conservative JavaScript minifier for pyajs's own snippet (web/snippet.js), which a site
inlines in every page's <head>: it removes comments and the whitespace between tokens, and
nothing else (no renaming, no rewriting).

It tokenises the source (strings, regular expression literals, numbers, names,
punctuators) so that nothing inside a string or a regex is touched, keeps a space where two
tokens would otherwise merge (`var x`, `a - -b`) and keeps a line break where the original
had one between two tokens that could end and start a statement (automatic semicolon
insertion then reads the code as before). Template literals are refused, not guessed at:
the snippet does not use them. It is not a general-purpose minifier; the build runs it on
the snippet only, and tests run both forms in Chromium and compare what they do.
"""

from __future__ import annotations

import re

__all__ = ["MinifyError", "minify_js"]


class MinifyError(ValueError):
    """The source has something this minifier does not handle (it never guesses)."""


_NAME = re.compile(r"[A-Za-z0-9_$\u0080-\uffff]+")
# Longest first, so `===` is one token, not `==` then `=`.
_PUNCTUATORS = sorted(
    """>>>= ... === !== **= <<= >>= >>> &&= ||= ??= => == != <= >= && || ?? ?. ++ -- += -= *=
    /= %= &= |= ^= << >> ** { } ( ) [ ] ; , < > + - * / % & | ^ ! ~ ? : = . @ #""".split(),
    key=len,
    reverse=True,
)
# After these, a `/` starts a regular expression, not a division.
_KEYWORDS_BEFORE_EXPRESSION = {
    "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case",
    "do", "else", "yield", "await",
}
# A token of these kinds can end a statement; a line break after it may matter (ASI).
_ENDS = ("name", "number", "string", "regex")
_END_PUNCT = {")", "]", "}", "++", "--"}
# ... and a token of these kinds can start the next one.
_START_PUNCT = {"{", "(", "[", "!", "~", "+", "-", "++", "--"}


def _tokens(source: str) -> list[tuple[str, str, bool]]:
    """[(kind, text, a line break came before it)]; comments and whitespace dropped."""
    out: list[tuple[str, str, bool]] = []
    i, n, newline = 0, len(source), False
    while i < n:
        c = source[i]
        if c in " \t\r\n\f\v\u00a0\ufeff\u2028\u2029":
            newline = newline or c in "\r\n\u2028\u2029"
            i += 1
            continue
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
            continue
        if source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                raise MinifyError("unterminated comment at offset %d" % i)
            newline = newline or "\n" in source[i:end]
            i = end + 2
            continue
        if c == "`":
            raise MinifyError("template literal at offset %d: not handled" % i)
        if c in "'\"":
            j = i + 1
            while j < n and source[j] != c:
                if source[j] == "\\":
                    j += 1
                elif source[j] == "\n":
                    raise MinifyError("unterminated string at offset %d" % i)
                j += 1
            if j >= n:
                raise MinifyError("unterminated string at offset %d" % i)
            out.append(("string", source[i : j + 1], newline))
            i, newline = j + 1, False
            continue
        if c == "/" and _regex_allowed(out):
            j, in_class = i + 1, False
            while j < n:
                ch = source[j]
                if ch == "\\":
                    j += 2
                    continue
                if ch == "\n":
                    raise MinifyError("unterminated regular expression at offset %d" % i)
                if ch == "[":
                    in_class = True
                elif ch == "]":
                    in_class = False
                elif ch == "/" and not in_class:
                    break
                j += 1
            else:
                raise MinifyError("unterminated regular expression at offset %d" % i)
            flags = _NAME.match(source, j + 1)
            end = flags.end() if flags else j + 1
            out.append(("regex", source[i:end], newline))
            i, newline = end, False
            continue
        if c.isdigit() or (c == "." and i + 1 < n and source[i + 1].isdigit()):
            m = re.compile(r"(?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*)?\.?\d*(?:[eE][+-]?\d+)?)n?")
            match = m.match(source, i)
            assert match is not None and match.end() > i
            out.append(("number", match.group(), newline))
            i, newline = match.end(), False
            continue
        name = _NAME.match(source, i)
        if name:
            out.append(("name", name.group(), newline))
            i, newline = name.end(), False
            continue
        for punct in _PUNCTUATORS:
            if source.startswith(punct, i):
                out.append(("punct", punct, newline))
                i, newline = i + len(punct), False
                break
        else:
            raise MinifyError("unexpected character %r at offset %d" % (c, i))
    return out


def _regex_allowed(tokens: list[tuple[str, str, bool]]) -> bool:
    """Whether a `/` here starts a regular expression (it cannot follow a value)."""
    if not tokens:
        return True
    kind, text, _ = tokens[-1]
    if kind == "name":
        return text in _KEYWORDS_BEFORE_EXPRESSION
    if kind in ("number", "string", "regex"):
        return False
    return text not in (")", "]", "}")


def _ends(kind: str, text: str) -> bool:
    return kind in _ENDS or (kind == "punct" and text in _END_PUNCT)


def _starts(kind: str, text: str) -> bool:
    return kind != "punct" or text in _START_PUNCT


def minify_js(source: str) -> str:
    """`source` without comments and without the whitespace the code does not need."""
    parts: list[str] = []
    prev: tuple[str, str] | None = None
    for kind, text, newline in _tokens(source):
        if prev is not None:
            pkind, ptext = prev
            if newline and _ends(pkind, ptext) and _starts(kind, text):
                parts.append("\n")
            elif _word(ptext[-1]) and _word(text[0]):
                parts.append(" ")
            elif ptext[-1] in "+-" and text[0] == ptext[-1]:
                parts.append(" ")  # a + +b, a - -b: not ++ / --
            elif pkind == "number" and text.startswith("."):
                parts.append(" ")  # 1 .toString()
            elif pkind == "regex" and _word(text[0]):
                parts.append(" ")  # /x/ in y: flags would swallow the name
        parts.append(text)
        prev = (kind, text)
    return "".join(parts) + "\n"


def _word(ch: str) -> bool:
    return ch.isalnum() or ch in "_$" or ord(ch) > 0x7F
