"""Per-list section selection (``include`` / ``exclude`` in a source's config) and one
taxonomy root per list.

A pattern is a case-insensitive glob. Without ``/`` it matches any heading on an entry's
section path (``Benchmark*`` takes ``Benchmark`` and ``Evaluation / Benchmarks``); with ``/``
it matches the path below the list title from its start (``Prompting/*`` takes the
subsections of ``Prompting``; ``Prompting`` alone also takes them, since a section holds its
subsections). ``exclude`` wins over ``include``; no ``include`` means every section.
"""

from __future__ import annotations

from dataclasses import replace
from fnmatch import fnmatchcase

from ..model import SectionPath
from .entry import ParsedDocument
from .taxonomy import build_taxonomy


def _matches(pattern: str, path: SectionPath) -> bool:
    below = [p.casefold() for p in path[1:]]
    pat = pattern.casefold().strip().strip("/")
    if "/" not in pat:
        return any(fnmatchcase(name, pat) for name in below)
    return any(fnmatchcase("/".join(below[: i + 1]), pat) for i in range(len(below)))


def section_selected(path: SectionPath, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    if include and not any(_matches(p, path) for p in include):
        return False
    return not any(_matches(p, path) for p in exclude)


def select_sections(
    doc: ParsedDocument, include: tuple[str, ...], exclude: tuple[str, ...]
) -> ParsedDocument:
    """``doc`` with only the entries of the selected sections (and their taxonomy)."""
    if not include and not exclude:
        return doc
    kept = [e for e in doc.entries if section_selected(e.section, include, exclude)]
    return replace(
        doc,
        entries=kept,
        taxonomy=build_taxonomy(doc.source, doc.title, [e.section for e in kept]),
    )


def distinct_roots(docs: list[ParsedDocument]) -> list[ParsedDocument]:
    """Give each list its own root: a list whose title (H1) repeats an earlier list's gets
    `` (source name)`` appended, so its collections and index notes stay its own."""
    seen: set[str] = set()
    out: list[ParsedDocument] = []
    for d in docs:
        key = d.title.casefold()
        if key in seen:
            root = f"{d.title} ({d.source})"
            entries = [replace(e, section=(root, *e.section[1:])) for e in d.entries]
            d = replace(
                d,
                title=root,
                entries=entries,
                taxonomy=build_taxonomy(d.source, root, [e.section for e in entries]),
            )
        seen.add(d.title.casefold())
        out.append(d)
    return out
