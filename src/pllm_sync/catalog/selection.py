"""Per-list section selection (``include`` / ``exclude`` in a source's config) and one
taxonomy root per list.

A pattern is a case-insensitive glob. Without ``/`` it matches any heading on an entry's
section path (``Benchmark*`` takes ``Benchmark`` and ``Evaluation / Benchmarks``); with ``/``
it matches the path below the list title from its start (``Prompting/*`` takes the
subsections of ``Prompting``; ``Prompting`` alone also takes them, since a section holds its
subsections). ``exclude`` wins over ``include``; no ``include`` means every section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from fnmatch import fnmatchcase
from typing import TypeVar

from ..model import Catalog, Section, SectionPath
from .entry import ParsedDocument
from .taxonomy import build_taxonomy

C = TypeVar("C", bound=Catalog)


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


def _suffixed(title: str, source: str) -> str:
    return f"{title} ({source})"


def _renamed(section: Section, root: str) -> Section:
    """A copy of ``section``'s tree with the list root's name ``root`` (slugs unchanged)."""
    path = (root, *section.path[1:]) if section.path else section.path
    return Section(
        name=root if len(section.path) == 1 else section.name,
        slug=section.slug,
        path=path,
        children=[_renamed(c, root) for c in section.children],
    )


def keep_roots(catalog: C, previous: Mapping[str, str]) -> C:
    """``catalog`` with each list's root named as it was at the last run (``previous``:
    source name -> root name) when that is still one of its names (its title, or its title
    with `` (source name)``) and no other list claims it.

    :func:`distinct_roots` suffixes the second of two lists with one title, by the config's
    order. Reordering the config swapped the names, and with them every section key of both
    lists (the index notes, with the user's text, then stood above the other list's
    papers). The last run's names win; a list new to the run takes what is left: its title
    if free, else the suffixed one."""
    current = {s: t.name for s, t in catalog.taxonomies.items() if t.path}
    if not previous or not current:
        return catalog
    titles = {s: n.removesuffix(f" ({s})") for s, n in current.items()}
    final: dict[str, str] = {}
    taken: set[str] = set()
    for s in current:
        name = previous.get(s)
        if name in (titles[s], _suffixed(titles[s], s)) and name.casefold() not in taken:
            final[s] = name
            taken.add(name.casefold())
    for s in current:
        if s not in final:
            name = titles[s] if titles[s].casefold() not in taken else _suffixed(titles[s], s)
            final[s] = name
            taken.add(name.casefold())
    renames = {current[s]: final[s] for s in current if final[s] != current[s]}
    if not renames:
        return catalog
    taxonomies = {
        s: _renamed(t, final[s]) if s in final and final[s] != current[s] else t
        for s, t in catalog.taxonomies.items()
    }

    def moved(path: SectionPath) -> SectionPath:
        root = renames.get(path[0]) if path else None
        return (root, *path[1:]) if root is not None else path

    papers = [
        replace(p, sections=tuple(moved(x) for x in p.sections))
        if any(x and x[0] in renames for x in p.sections)
        else p
        for p in catalog.papers
    ]
    return replace(catalog, papers=papers, taxonomies=taxonomies)
