"""Reading catalog sources: local files, http(s) URLs with a conditional-GET cache, and the
snapshots bundled with the package.

A URL is fetched with ``If-None-Match`` / ``If-Modified-Since`` from the cached copy's
ETag / Last-Modified, so an unchanged list costs one 304. When the network fails (or
``catalog.offline`` is set) the cached copy is used, then the bundled snapshot for the two
default lists, each with a logged warning; only a source with none of these is an error.
The cache lives in ``app_dirs().cache / "catalogs"`` and is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPException
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from .. import __version__
from ..atomic import atomic_write
from ..config import CatalogConfig, SourceConfig
from ..errors import CatalogError, PllmSyncError
from ..model import slugify
from ..paths import app_dirs

log = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024 * 1024
"""A README larger than this is not a catalog; refusing it bounds memory."""


@dataclass(frozen=True)
class SourceFetch:
    """What reading one source produced, and how: the sync state keeps ``etag`` and
    ``last_modified`` to know whether the list changed upstream.

    ``origin`` is ``file``, ``network`` (200), ``not-modified`` (304, cached text),
    ``cache`` (network failed or offline) or ``bundled`` (the packaged snapshot).
    """

    name: str
    location: str
    origin: str
    text: str
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: str | None = None
    warning: str | None = None

    @property
    def fresh(self) -> bool:
        """True when the text is known to be what the source holds right now."""
        return self.origin in ("file", "network", "not-modified")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def decode_text(data: bytes, where: str) -> tuple[str, str | None]:
    """Bytes -> text, tolerating a BOM, bad UTF-8 and binary junk (with a warning)."""
    warning = None
    if b"\x00" in data[:8192]:
        warning = f"{where}: looks like a binary file, not markdown"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8-sig", errors="replace")
        warning = warning or f"{where}: not valid UTF-8; undecodable bytes were replaced"
    return text, warning


def bundled_text(name: str) -> str | None:
    """The snapshot of a default list shipped in ``pllm_sync/data/catalogs``, if any."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    res = resources.files("pllm_sync").joinpath("data", "catalogs", f"{name}.md")
    try:
        return res.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None


def cache_dir() -> Path:
    return app_dirs().cache / "catalogs"


def _cache_paths(name: str, url: str) -> tuple[Path, Path]:
    key = f"{slugify(name, 40)}-{hashlib.sha1(url.encode()).hexdigest()[:10]}"
    d = cache_dir()
    return d / f"{key}.md", d / f"{key}.json"


@dataclass(frozen=True)
class _Cached:
    text: str
    etag: str | None
    last_modified: str | None
    fetched_at: str | None


def _read_cache(name: str, url: str) -> _Cached | None:
    text_path, meta_path = _cache_paths(name, url)
    try:
        text = text_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    meta: dict[str, object] = {}
    try:
        loaded = json.loads(meta_path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            meta = loaded
    except (OSError, ValueError):
        pass

    def s(key: str) -> str | None:
        v = meta.get(key)
        return v if isinstance(v, str) and v else None

    return _Cached(text, s("etag"), s("last_modified"), s("fetched_at"))


def _write_cache(name: str, url: str, text: str, etag: str | None, lm: str | None) -> str:
    text_path, meta_path = _cache_paths(name, url)
    fetched_at = _now()
    meta = {"url": url, "etag": etag, "last_modified": lm, "fetched_at": fetched_at}
    try:  # a cache that cannot be written costs the next conditional GET, nothing more
        text_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(text_path, text.encode("utf-8"))
        atomic_write(meta_path, json.dumps(meta, indent=2).encode("utf-8"))
    except (OSError, PllmSyncError) as exc:
        log.warning("catalog source %r: could not cache it in %s (%s)", name, text_path.parent, exc)
    return fetched_at


class _FetchFailed(Exception):
    pass


def _http_get(
    url: str, timeout: float, cached: _Cached | None
) -> tuple[int, bytes, str | None, str | None]:
    """GET ``url``; returns (status, body, etag, last_modified). 304 has an empty body."""
    headers = {
        "User-Agent": f"pllm-sync/{__version__} (+catalog fetch)",
        "Accept": "text/markdown, text/plain;q=0.9, */*;q=0.5",
    }
    if cached is not None:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    req = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read(MAX_BYTES + 1)
            if len(body) > MAX_BYTES:
                raise _FetchFailed(f"response is larger than {MAX_BYTES // (1024 * 1024)} MB")
            return (
                int(resp.status),
                body,
                resp.headers.get("ETag"),
                resp.headers.get("Last-Modified"),
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return 304, b"", exc.headers.get("ETag"), exc.headers.get("Last-Modified")
        raise _FetchFailed(f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise _FetchFailed(str(exc.reason)) from exc
    except (TimeoutError, OSError, HTTPException, ValueError) as exc:
        raise _FetchFailed(f"{type(exc).__name__}: {exc}") from exc


def _fallback(src: SourceConfig, url: str, why: str, offline: bool) -> SourceFetch:
    cached = _read_cache(src.name, url)
    if cached is not None:
        when = cached.fetched_at or "an earlier run"
        msg = f"catalog source {src.name!r}: {why}; using the cached copy from {when}"
        if offline:
            log.info(msg)
        else:
            log.warning(msg)
        return SourceFetch(
            src.name,
            url,
            "cache",
            cached.text,
            cached.etag,
            cached.last_modified,
            cached.fetched_at,
            None if offline else msg,
        )
    text = bundled_text(src.name)
    if text is not None:
        msg = (
            f"catalog source {src.name!r}: {why} and there is no cached copy; "
            "using the snapshot bundled with pllm-sync (it may be out of date)"
        )
        log.warning(msg)
        return SourceFetch(src.name, url, "bundled", text, warning=msg)
    if offline:
        raise CatalogError(
            f"catalog source {src.name!r} ({url}) has no cached copy and catalog.offline is true",
            hint="run once with network access (catalog.offline: false) so a copy is cached, "
            "or give the source a local file with `path:`",
        )
    raise CatalogError(
        f"cannot read catalog source {src.name!r} from {url}: {why}",
        hint="check the network connection and the URL in catalog.sources; "
        "a copy is cached after the first successful fetch",
    )


_HTML_PAGE = re.compile(r"\A\s*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.I)


def _not_a_list(text: str) -> str | None:
    """What a downloaded body is when it cannot be a list: ``an empty body`` or ``an HTML
    page`` (a markdown list may hold HTML, but does not start as a page); else None."""
    if not text.strip():
        return "an empty body"
    if _HTML_PAGE.match(text):
        return "an HTML page"
    return None


def fetch_source(src: SourceConfig, *, timeout: float = 20.0, offline: bool = False) -> SourceFetch:
    """Read one configured source (see the module docstring for the fallback order)."""
    if src.path is not None:
        return _read_file(src.name, src.path)
    url = src.url or ""
    if offline:
        return _fallback(src, url, "catalog.offline is true", offline=True)
    cached = _read_cache(src.name, url)
    try:
        status, body, etag, lm = _http_get(url, timeout, cached)
    except _FetchFailed as exc:
        return _fallback(src, url, f"could not fetch {url} ({exc})", offline=False)
    if status == 304 and cached is not None:
        log.info("catalog source %r not modified since %s", src.name, cached.fetched_at)
        return SourceFetch(
            src.name,
            url,
            "not-modified",
            cached.text,
            etag or cached.etag,
            lm or cached.last_modified,
            cached.fetched_at,
        )
    if status == 304:
        return _fallback(src, url, "server answered 304 but the cached copy is gone", False)
    text, warning = decode_text(body, url)
    if not_a_list := _not_a_list(text):
        # a proxy's or host's error page (served as 200), or nothing: taken for the list,
        # it retired every paper, and replaced the good cached copy
        return _fallback(src, url, f"{url} answered with {not_a_list}, not a list", False)
    if warning:
        log.warning(warning)
    fetched_at = _write_cache(src.name, url, text, etag, lm)
    log.info("catalog source %r fetched (%d bytes)", src.name, len(body))
    return SourceFetch(src.name, url, "network", text, etag, lm, fetched_at, warning)


def _read_file(name: str, path: Path) -> SourceFetch:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise CatalogError(
                f"catalog source {name!r}: {path} is {size // (1024 * 1024)} MB, "
                f"more than the {MAX_BYTES // (1024 * 1024)} MB limit",
                hint="point the source at the list's README.md",
            )
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise CatalogError(
            f"catalog source {name!r}: file not found: {path}",
            hint="fix the path in catalog.sources or pass an existing file to --source",
        ) from exc
    except IsADirectoryError as exc:
        raise CatalogError(
            f"catalog source {name!r}: {path} is a folder, not a markdown file",
            hint="point the source at the list's README.md",
        ) from exc
    except OSError as exc:
        raise CatalogError(
            f"catalog source {name!r}: cannot read {path}: {exc.strerror or exc}",
            hint="check the file's permissions",
        ) from exc
    text, warning = decode_text(data, str(path))
    if warning:
        log.warning(warning)
    return SourceFetch(name, str(path), "file", text, warning=warning)


def _name_from_url(url: str) -> str:
    parts = urlsplit(url)
    segs = [s for s in parts.path.split("/") if s]
    if parts.hostname == "raw.githubusercontent.com" and len(segs) >= 2:
        return slugify(f"{segs[0]}-{segs[1]}", 40)
    return slugify(f"{parts.hostname or 'catalog'} {' '.join(segs[:3])}", 40)


def resolve_source(cfg: CatalogConfig, spec: str) -> SourceConfig:
    """``--source`` value -> a source: a configured name, an http(s) URL or a file path."""
    for s in cfg.sources:
        if s.name == spec:
            return s
    if spec.startswith(("http://", "https://")):
        for s in cfg.sources:
            if s.url == spec:
                return s
        return SourceConfig(name=_name_from_url(spec), url=spec)
    p = Path(spec).expanduser()
    if p.exists():
        return SourceConfig(name=slugify(p.stem, 40) if p.stem else "catalog", path=p)
    names = ", ".join(s.name for s in cfg.sources) or "none configured"
    raise CatalogError(
        f"unknown catalog source {spec!r}: not a configured source name ({names}), "
        "not an existing file and not an http(s) URL",
        hint="pass a configured name, the path of a README, or a URL",
    )
