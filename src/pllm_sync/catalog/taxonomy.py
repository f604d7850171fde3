"""Section paths from headings, and the taxonomy tree of one list.

The path of an entry is the list's title (its first H1, or the source name when there is
none) followed by the headings above the entry, outermost first, each cleaned by
``clean_heading`` (markup and leading numbering removed). A later H1 (``# Citation``) starts
a new top-level section under the list title instead of replacing the title, and an H3
directly under the H1 simply hangs off the title: levels are relative, not absolute.

The tree only holds sections that contain entries (directly or below), so non-paper
headings such as ``Citation`` or an empty ``## Personalized Adaptation`` do not become
Zotero collections or index notes.
"""

from __future__ import annotations

from ..model import Section, SectionPath, slugify

NON_CATALOG_SECTIONS = frozenset(
    {
        "related workshops",
        "workshops",
        "citation",
        "citations",
        "cite",
        "contributing",
        "contribution",
        "contributors",
        "license",
        "star history",
        "acknowledgement",
        "acknowledgements",
        "acknowledgment",
        "acknowledgments",
        "table of contents",
        "contents",
        "toc",
    }
)
"""Headings whose content is never catalog entries, whatever it looks like."""
_CONTENTS = frozenset({"table of contents", "contents", "toc"})


class HeadingStack:
    """Tracks the open headings while a document is scanned top to bottom."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.title: str | None = None
        self._stack: list[tuple[int, str]] = []
        # path(), excluded() and announces() until the next push (asked once per entry)
        self._path: SectionPath | None = None
        self._excluded: bool | None = None
        self._announces: bool | None = None

    def push(self, level: int, name: str) -> None:
        self._path = self._excluded = self._announces = None
        if level == 1 and self.title is None:
            self.title = name or self.source
            self._stack = []
            return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        if name:
            self._stack.append((level, name))

    @property
    def root_name(self) -> str:
        return self.title or self.source

    def path(self) -> SectionPath:
        if self._path is None:
            self._path = (self.root_name, *(name for _, name in self._stack))
        return self._path

    def announces(self) -> bool:
        """True in the introduction (above the first section) or a News/Updates section,
        where a list announces the survey it is built on."""
        if self._announces is None:
            self._announces = self._read_announces()
        return self._announces

    def _read_announces(self) -> bool:
        if not self._stack:
            return True
        name = self._stack[-1][1].lower()
        return len(self._stack) == 1 and ("news" in name or "update" in name)

    def excluded(self) -> bool:
        """True inside a section that never holds entries (Related Workshops, Citation...).
        A table of contents excludes only its own lines: lists that file every paper below
        a ``## Contents`` heading keep them."""
        if self._excluded is None:
            self._excluded = self._read_excluded()
        return self._excluded

    def _read_excluded(self) -> bool:
        if self._stack and self._stack[-1][1].lower() in _CONTENTS:
            return True
        return any(
            name.lower() in NON_CATALOG_SECTIONS and name.lower() not in _CONTENTS
            for _, name in self._stack
        )


def build_taxonomy(source: str, root_name: str, paths: list[SectionPath]) -> Section:
    """The section tree of one list. The root's slug is the source name's slug, so it stays
    the same when the list edits its H1."""
    root = Section(name=root_name, slug=slugify(source), path=(root_name,))
    for path in dict.fromkeys(paths):  # each distinct path once, in first-seen order
        node = root
        for name in path[1:]:
            node = node.child(name)
    return root
