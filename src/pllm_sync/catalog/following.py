"""What ``pllm-sync lists`` needs from the catalog: turn what the user typed into a source,
and summarise one followed list (papers, sections, last fetch, warnings) without syncing.

Pure apart from reading sources; the command module only prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..config import CatalogConfig, SourceConfig
from ..errors import CatalogError, PllmSyncError
from ..model import slugify
from .entry import ParsedDocument
from .identity import papers_from_entries
from .parser import parse_document
from .selection import select_sections
from .sources import SourceFetch, fetch_source

_GITHUB_SPEC = re.compile(r"^github:(?P<owner>[A-Za-z0-9][\w.-]{0,38})/(?P<repo>[\w.-]{1,100})$")
_GITHUB_URL = re.compile(
    r"^https?://(?:www\.)?github\.com/(?P<owner>[A-Za-z0-9][\w.-]{0,38})/(?P<repo>[\w.-]{1,100})/?$"
)


@dataclass(frozen=True)
class NewSource:
    """A list to follow: its name and the config entry to write."""

    name: str
    entry: dict[str, str]

    def as_source(self) -> SourceConfig:
        if "url" in self.entry:
            return SourceConfig(self.name, url=self.entry["url"])
        return SourceConfig(self.name, path=Path(self.entry["path"]))


def new_source(spec: str, name: str | None, raw_base: str) -> NewSource:
    """``github:owner/repo`` (its README on the default branch), a github.com repository URL,
    any http(s) URL of a markdown file, or a local file."""
    spec = spec.strip()
    m = _GITHUB_SPEC.match(spec) or _GITHUB_URL.match(spec)
    if m:
        owner, repo = m.group("owner"), m.group("repo").removesuffix(".git")
        url = f"{raw_base.rstrip('/')}/{owner}/{repo}/HEAD/README.md"
        return NewSource(name or slugify(f"{owner}-{repo}", 60), {"name": "", "url": url})
    if spec.startswith("github:"):
        raise CatalogError(
            f"{spec!r} is not a GitHub repository",
            hint="write it as github:owner/repo, e.g. github:WooooDyy/LLM-Agent-Paper-List",
        )
    if spec.startswith(("http://", "https://")):
        parts = urlsplit(spec)
        segs = [s for s in parts.path.split("/") if s]
        default = slugify(" ".join(segs[:2]) or parts.hostname or "list", 60)
        return NewSource(name or default, {"name": "", "url": spec})
    p = Path(spec).expanduser()
    if not p.is_file():
        raise CatalogError(
            f"{spec!r} is neither an existing file, an http(s) URL nor github:owner/repo",
            hint="pass the path of a README, its URL, or github:owner/repo",
        )
    return NewSource(name or slugify(p.stem, 60) or "list", {"name": "", "path": str(p.resolve())})


def named(src: NewSource) -> NewSource:
    """The entry with its name filled in (name first, as users write it)."""
    entry = {"name": src.name, **{k: v for k, v in src.entry.items() if k != "name"}}
    return NewSource(src.name, entry)


@dataclass(frozen=True)
class ListSummary:
    name: str
    location: str
    papers: int | None
    sections: int | None
    last_fetch: str | None
    warnings: int | None
    origin: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    problem: str | None = None


def read_list(
    src: SourceConfig, cfg: CatalogConfig, *, refresh: bool
) -> tuple[SourceFetch, ParsedDocument]:
    """Fetch (or, unless ``refresh``, take the cached copy of) one list and parse it."""
    fetch = fetch_source(src, timeout=cfg.timeout_seconds, offline=cfg.offline or not refresh)
    doc = select_sections(parse_document(fetch.text, src.name), src.include, src.exclude)
    return fetch, doc


def summarise(src: SourceConfig, cfg: CatalogConfig, *, refresh: bool) -> ListSummary:
    location = src.url or str(src.path)
    try:
        fetch, doc = read_list(src, cfg, refresh=refresh)
    except PllmSyncError as exc:
        why = str(exc)
        if src.url and not refresh and not cfg.offline:
            why = "not fetched yet; `pllm-sync lists --refresh` or `pllm-sync pull` fetches it"
        return ListSummary(
            src.name, location, None, None, None, None, "unread", src.include, src.exclude, why
        )

    papers, id_warnings = papers_from_entries(doc.entries)
    sections = sum(1 for _ in doc.taxonomy.walk()) - 1
    last = fetch.fetched_at if src.url else "(local file)"
    return ListSummary(
        src.name,
        location,
        len(papers),
        sections,
        last,
        len(doc.warnings) + len(id_warnings),
        fetch.origin,
        src.include,
        src.exclude,
    )
