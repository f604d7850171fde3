"""The parse caches of the catalog modules, and one call to empty them.

Parsing a list memoises per-string work (the ids a URL names, a link's role, a fragment's
plain text, a venue cell) so that a list naming the same URL or venue many times parses
each once. The caches are bounded, but full they hold megabytes of the last list's text:
a long-lived process (the ``watch`` daemon) empties them once a catalog load is done with,
and pays a cold parse at the next catalog refresh, minutes later.
"""

from __future__ import annotations

from .identity import ids_from_url
from .links import link_kind, role_for
from .markdown_text import strip_markdown
from .venues import parse_venue


def clear_parse_caches() -> None:
    """Empty every per-string parse cache (results stay correct: they are only memos)."""
    for cached in (ids_from_url, role_for, link_kind, strip_markdown, parse_venue):
        cached.cache_clear()
