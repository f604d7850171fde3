"""The "Listed in" lines of a paper note: where each list names the paper, as a link to that
line upstream when the list lives on GitHub (the blob view with ``#L<line>``), so a reader can
see the entry in its context with one click."""

from __future__ import annotations

import re
from urllib.parse import quote

from ..model import SourceRef

_RAW = re.compile(
    r"^https://raw\.githubusercontent\.com/(?P<owner>[^/]+)/(?P<repo>[^/]+)/"
    r"(?:refs/heads/)?(?P<ref>[^/]+)/(?P<path>[^?#]+)$"
)
_BLOB = re.compile(r"^https://github\.com/(?P<owner>[^/]+)/(?P<repo>[^/]+)/blob/(?P<rest>[^?#]+)$")


def upstream_line_url(source_url: str | None, line: int) -> str | None:
    """The GitHub page showing ``line`` of the list read from ``source_url``; None when the
    list is not a GitHub file (a local path, another host)."""
    if not source_url or line < 1:
        return None
    url = source_url.strip()
    m = _RAW.match(url)
    if m:
        path = quote(m["path"], safe="/")
        return f"https://github.com/{m['owner']}/{m['repo']}/blob/{m['ref']}/{path}#L{line}"
    m = _BLOB.match(url)
    if m:
        return f"https://github.com/{m['owner']}/{m['repo']}/blob/{m['rest']}#L{line}"
    return None


def listed_in(ref: SourceRef, source_urls: dict[str, str]) -> str:
    """One "Listed in" line: ``[name line N](<url#LN>)``, or ``name:N`` without a link."""
    url = upstream_line_url(source_urls.get(ref.source), ref.line)
    name = " ".join(ref.source.replace("[", "(").replace("]", ")").split())
    if url is None:
        return f"{name}:{ref.line}"
    return f"[{name} line {ref.line}](<{url}>)"
