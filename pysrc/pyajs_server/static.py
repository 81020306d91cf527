"""Static files: URL mounts, content types, path resolution, conditional requests and
caching headers; the runtimes under versioned, immutable URLs; pyajs's package forms."""

from __future__ import annotations

import email.utils
import os
import re
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import oracle
from .compression import ENCODINGS, choose_encoding, is_compressible, variant_etag
from .packages import PACKAGE_MPK_PATH, PACKAGE_MPY_ZIP_PATH, PACKAGE_ZIP_PATH
from .paths import package_version

if TYPE_CHECKING:
    from .http import DevHandler

# URL prefix -> folder under the root. Order matters: the first match wins.
STATIC_MOUNTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/vendor/pyodide/", ("node_modules", "pyodide")),
    ("/vendor/pyscript/", ("node_modules", "@pyscript", "core", "dist")),
    ("/vendor/micropython/", ("node_modules", "@micropython", "micropython-webassembly-pyscript")),
    ("/pyajs/", ("pysrc", "pyajs")),
    ("/", ("web",)),
)

# The runtimes under versioned URLs: /vendor/<name>/<version>/<file> answers only for the
# installed version and is cached for a year, immutable (a new version is a new URL), so a
# second visit makes no request for them at all. The unversioned paths keep working, with
# validators (ETag -> 304).
VERSIONED_PATH = re.compile(r"^/vendor/(pyodide|pyscript|micropython)/(\d[^/]*)/(.+)$")
IMMUTABLE = "public, max-age=31536000, immutable"
# Every static file may be used by a page of another origin (the dev server acting as a
# site's CDN): the loader, its module imports, the wasm and the package are all fetched in
# CORS mode. Nothing here is private, and no credentials are involved.
CROSS_ORIGIN = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}

# Explicit table rather than `mimetypes`, whose answers depend on the host's configuration
# (and browsers refuse module scripts / streaming wasm compilation with the wrong type).
CONTENT_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".cjs": "text/javascript; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".py": "text/x-python; charset=utf-8",
    ".toml": "application/toml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".ts": "text/plain; charset=utf-8",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".tar": "application/x-tar",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".bz2": "application/x-bzip2",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".xml": "application/xml",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def content_type_for(path: str | Path) -> str:
    """Content-Type for a file name; unknown suffixes are opaque bytes."""
    return CONTENT_TYPES.get(Path(path).suffix.lower(), DEFAULT_CONTENT_TYPE)


def resolve_static(
    root: Path,
    url_path: str,
    mounts: tuple[tuple[str, tuple[str, ...]], ...] = STATIC_MOUNTS,
) -> Path | None:
    """Map a decoded URL path to a file under its mounted folder, or None (-> 404).

    Anything that could escape the folder ('..', backslashes, NULs, symlinks pointing out)
    is refused, so the dev server never exposes files outside the mapped folders.
    """
    for prefix, parts in mounts:
        if url_path.startswith(prefix):
            base = root.joinpath(*parts)
            rest = url_path[len(prefix) :]
            break
    else:
        return None
    segments = [s for s in rest.split("/") if s]
    if not segments:
        return None
    if any(s in (".", "..") or "\\" in s or "\x00" in s for s in segments):
        return None
    try:
        base_resolved = base.resolve(strict=True)
        target = base.joinpath(*segments).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if not target.is_relative_to(base_resolved):
        return None
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None



def route_static(h: DevHandler, method: str, raw_path: str, query: str) -> None:
    """GET/HEAD of a file under the mounts (or a package form, or a versioned runtime)."""
    if method == "OPTIONS":
        h.send(204, headers={"Allow": "GET, HEAD, OPTIONS"})
        return
    if method not in ("GET", "HEAD"):
        h.send_text(405, f"405 method {method} not allowed\n", {"Allow": "GET, HEAD, OPTIONS"})
        return
    if raw_path == "/":
        # The query goes along: /?runtime=mpy is the demo on MicroPython.
        location = "/demo.html" + ("?" + query if query else "")
        h.send_text(302, "302 see /demo.html\n", {"Location": location})
        return
    path = unquote(raw_path)
    if h.server.oracle:
        path = oracle.static_path(path)
    if path in (PACKAGE_ZIP_PATH, PACKAGE_MPK_PATH, PACKAGE_MPY_ZIP_PATH):
        serve_package_zip(h, path)
        return
    cache_control = "no-cache"
    versioned = VERSIONED_PATH.match(path)
    if versioned:
        name, version, rest = versioned.groups()
        if version != package_version(h.server.root, name):
            h.send_text(404, f"404 not found (not the installed {name}): {raw_path}\n")
            return
        path = f"/vendor/{name}/{rest}"
        cache_control = IMMUTABLE
    target = resolve_static(h.server.root, path, h.server.mounts)
    if target is None:
        h.send_text(404, f"404 not found: {raw_path}\n")
        return
    serve_file(h, target, cache_control)


def not_modified(h: DevHandler, etag: str, mtime: float | None) -> bool:
    """RFC 9110 conditional GET: If-None-Match wins over If-Modified-Since."""
    if_none_match = h.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)
    if_modified_since = h.headers.get("If-Modified-Since")
    if if_modified_since and mtime is not None:
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return int(mtime) <= since.timestamp()
    return False


def serve_package_zip(h: DevHandler, path: str = PACKAGE_ZIP_PATH) -> None:
    package = h.server.package_zip
    built = {PACKAGE_MPK_PATH: package.get_mpk, PACKAGE_MPY_ZIP_PATH: package.get_mpy_zip,
             PACKAGE_ZIP_PATH: package.get_all}[path]()
    if built is None:
        h.send_text(404, f"404 not found: {h.path}\n")
        return
    data, etag, gzipped = built
    coding = choose_encoding(h.headers.get("Accept-Encoding"), ["gzip"])
    headers = {"ETag": variant_etag(etag, coding), "Cache-Control": "no-cache",
               "Vary": "Accept-Encoding", **CROSS_ORIGIN}
    if coding:
        headers["Content-Encoding"] = coding
    if not_modified(h, headers["ETag"], None):
        h.send(304, headers=headers)
    else:
        kind = "application/octet-stream" if path == PACKAGE_MPK_PATH else "application/zip"
        h.send(200, gzipped if coding else data, kind, headers)


def serve_file(h: DevHandler, target: Path, cache_control: str = "no-cache") -> None:
    """A static file, compressed when the client accepts it: a precompressed variant
    (brotli or gzip) when one matches the file, else gzip made here for text-like types.
    Each encoding is its own representation, with its own ETag and Content-Length."""
    try:
        handle = target.open("rb")
    except OSError:
        h.send_text(404, f"404 not found: {h.path}\n")
        return
    with handle:
        stat = os.fstat(handle.fileno())
        content_type = content_type_for(target)
        variants: dict[str, Path | bytes] = {}
        if is_compressible(content_type) or target.suffix == ".zip":
            variants.update(h.server.precompressed.variants(target, stat))
            if "gzip" not in variants and is_compressible(content_type):
                packed = h.server.gzip_cache.get(target, stat)
                if packed is not None:
                    variants["gzip"] = packed
        accept = h.headers.get("Accept-Encoding")
        coding = choose_encoding(accept, [c for c, _ in ENCODINGS if c in variants])
        base_etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        headers = {
            "ETag": variant_etag(base_etag, coding),
            "Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
            "Cache-Control": cache_control,
            **CROSS_ORIGIN,
        }
        if variants or is_compressible(content_type):
            headers["Vary"] = "Accept-Encoding"
        if not_modified(h, headers["ETag"], stat.st_mtime):
            h.send(304, headers=headers)
            return
        if coding is None:
            stream(h, handle, stat.st_size, content_type, headers)
            return
        headers["Content-Encoding"] = coding
        body = variants[coding]
        if isinstance(body, bytes):
            h.send(200, body, content_type, headers)
            return
        try:
            variant = body.open("rb")
        except OSError:  # removed under us: fall back to the identity
            del headers["Content-Encoding"]
            headers["ETag"] = base_etag
            stream(h, handle, stat.st_size, content_type, headers)
            return
        with variant:
            size = os.fstat(variant.fileno()).st_size
            stream(h, variant, size, content_type, headers)


def stream(
    h: DevHandler, handle: Any, size: int, content_type: str, headers: dict[str, str]
) -> None:
    """Send `size` bytes of an open file as a 200 with the given headers."""
    h.responded = True
    h.send_response(200)
    for name, value in headers.items():
        h.send_header(name, value)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(size))
    h.end_headers()
    if h.command == "HEAD":
        return
    remaining = size
    while remaining > 0:
        chunk = handle.read(min(remaining, 1 << 20))
        if not chunk:
            break
        h.wfile.write(chunk)
        remaining -= len(chunk)
    if remaining:
        # The file shrank under us: the promised length cannot be honoured.
        h.close_connection = True
