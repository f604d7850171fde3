"""The "What's new" note: after a pull that brings new papers, a dated section listing them
by list and section, with a link to each note and to the entry upstream, so a researcher can
read it as a digest. pllm-sync only ever inserts a section below its marker line; everything
else in the note is the user's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write
from .sections import link_text

WHATS_NEW = "What's new"
MARKER = "<!-- pllm-sync:whats-new (each pull that brings new papers adds a section below) -->"
_HEAD = (
    f"# {WHATS_NEW}\n\n"
    "Papers the lists added, newest pull first. pllm-sync only adds sections below the line "
    "that follows; edit or delete anything here.\n\n"
)


@dataclass(frozen=True)
class NewPaper:
    title: str
    note: str
    """The note's vault-relative path without ``.md`` (the link target)."""
    source: str
    section: str
    """The section path below the list's root, ``A / B``; empty for the root itself."""
    upstream: str | None = None
    """The entry's line upstream (a URL), when the list lives on GitHub."""


def render_section(day: str, papers: Sequence[NewPaper]) -> str:
    """One pull's section: ``## <day>: N new papers``, then per list and section the papers."""
    n = len({p.note for p in papers})
    out = [f"## {day}: {n} new paper{'' if n == 1 else 's'}", ""]
    by_source: dict[str, list[NewPaper]] = {}
    for p in papers:
        by_source.setdefault(p.source, []).append(p)
    for source in sorted(by_source):
        out += [f"### {link_text(source)}", ""]
        entries = sorted(by_source[source], key=lambda p: (p.section, p.title.casefold()))
        for p in entries:
            where = f" · {link_text(p.section)}" if p.section else ""
            up = f" · [upstream](<{p.upstream}>)" if p.upstream else ""
            out.append(f"- [[{p.note}|{link_text(p.title)}]]{where}{up}")
        out.append("")
    return "\n".join(out)


def add_to_digest(root: Path, day: str, papers: Sequence[NewPaper]) -> Path | None:
    """Insert this pull's section at the top of the digest (creating the note if needed).
    Returns the note's path, or None when there was nothing new."""
    if not papers:
        return None
    path = root / f"{WHATS_NEW}.md"
    section = render_section(day, papers)
    if not path.exists():
        atomic_write(path, (_HEAD + MARKER + "\n\n" + section).encode("utf-8"))
        return path
    text = path.read_bytes().decode("utf-8", errors="replace")
    nl = "\r\n" if "\r\n" in text else "\n"
    block = section.replace("\n", nl)
    at = text.find(MARKER)
    if at >= 0:
        end = at + len(MARKER)
        if text[end:].strip():
            new = text[:end] + nl + nl + block + nl + text[end:].lstrip("\r\n")
        else:
            new = text[:end] + nl + nl + block
    else:  # the user removed the marker: put it back at the top, keep their text below
        new = MARKER + nl + nl + block + nl + text
    atomic_write(path, new.encode("utf-8"))
    return path
