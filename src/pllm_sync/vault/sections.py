"""Index notes for the catalog's section tree, and the links between them and paper notes.

Naming: the index note of section path ``(A, B, C)`` is ``<index_folder>/A/B/C.md``, each
segment sanitised like a note name (so ``1. Survey / Tutorial`` becomes ``1. Survey -
Tutorial``). A node with children therefore has a note *beside* the folder of its children
(``Sections/A/B.md`` and ``Sections/A/B/``), which Obsidian's file explorer shows together.
A paper's ``sections`` property links to those notes by full path, ``"[[Sections/A/B|B]]"``,
which is unambiguous even when two lists share a heading or the user has a note of that name.

Reading links back into section keys (`` / ``-joined paths) uses what the index notes say
about themselves (``pllm-sync-section`` property), so it survives sanitising; a user may also
write ``[[B]]`` (Obsidian's shortest form), ``[[Sections/A/B]]`` or even the plain key.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..model import SectionPath
from ..record import SECTION_SEP, section_key, section_path
from .names import sanitize_name, short_hash
from .yamlio import WikiLink

SECTION_KEY_PROPERTY = "pllm-sync-section"
_MEMO_MAX = 4096
"""At most this many answers kept by each of ``SectionLinks``' memos (a long-lived daemon
reads whatever users type into ``sections``)."""
_SEGMENT_BYTES = 80
_WIKILINK = re.compile(r"^\s*!?\[\[([^\]|#^]*)(?:[#^][^\]|]*)?(?:\|([^\]]*))?\]\]\s*$")


@dataclass(frozen=True)
class ParsedLink:
    target: str
    alias: str | None


def parse_wikilink(text: str) -> ParsedLink | None:
    m = _WIKILINK.match(text)
    if not m:
        return None
    target = m.group(1).strip()
    target = target.removesuffix(".md")
    return ParsedLink(target, m.group(2))


def segment_name(segment: str) -> str:
    return sanitize_name(segment, _SEGMENT_BYTES) or f"Section {short_hash(segment)}"


def link_text(text: str) -> str:
    """Text safe as a link alias (no ``|``, brackets or line breaks)."""
    return " ".join(text.replace("|", "-").replace("[", "(").replace("]", ")").split())


class SectionLinks:
    """Two-way map between section keys and index-note link targets (paths without ``.md``).

    Sources, strongest first: index notes on disk and ``write_index_notes`` (``register``
    with ``authoritative=True``), a paper's exact section paths (``register_path``), and the
    default naming of a key split at `` / `` as a last resort.
    """

    def __init__(self, index_folder: str) -> None:
        self.folder = PurePosixPath(index_folder).as_posix().strip("/")
        self._target: dict[str, str] = {}
        self._alias: dict[str, str] = {}
        self._authoritative: set[str] = set()
        self._key: dict[str, str] = {}  # casefolded target -> key
        self._by_base: dict[str, set[str]] = {}  # casefolded last segment -> keys
        self._by_default: dict[str, set[str]] = {}  # casefolded default target -> keys
        # key_for's and link_for's answers since the last register(), the only change to
        # what they read: every note a pull writes links its sections, and reads the same
        # few links back (parsing each again took ~0.1 s at 5,000 notes)
        self._key_memo: dict[str, str | None] = {}
        self._link_memo: dict[str, WikiLink] = {}
        self._on_disk: dict[str, str] = {}  # key -> the target of its index note, as found

    def default_target(self, path: SectionPath) -> str:
        return "/".join([self.folder, *(segment_name(s) for s in path)])

    def register(
        self,
        key: str,
        target: str,
        *,
        alias: str | None = None,
        authoritative: bool = True,
        on_disk: bool = False,
    ) -> None:
        """``on_disk``: ``target`` is where the scan found the section's index note (the
        user may have renamed or moved it: it stays there, see :meth:`found_target`)."""
        if on_disk:
            self._on_disk[key] = target
        if key in self._authoritative and not authoritative:
            return
        self._key_memo.clear()
        self._link_memo.clear()
        self._alias[key] = link_text(alias or target.rsplit("/", 1)[-1])
        old = self._target.get(key)
        if old is not None and old != target:
            # only this key's own entries: another section may have taken the old target
            # (``Q&A?`` and ``Q&A`` share ``Sections/L/Q&A`` until one is told apart)
            if self._key.get(old.casefold()) == key:
                del self._key[old.casefold()]
            old_base = self._by_base.get(old.rsplit("/", 1)[-1].casefold())
            if old_base is not None:
                old_base.discard(key)
        self._target[key] = target
        if authoritative:
            self._authoritative.add(key)
        self._key[target.casefold()] = key
        base = target.rsplit("/", 1)[-1].casefold()
        self._by_base.setdefault(base, set()).add(key)
        default = self.default_target(section_path(key)).casefold()
        self._by_default.setdefault(default, set()).add(key)

    def distinct_target(self, key: str, target: str) -> str:
        """``target``, or ``target (<hash of key>)`` when another section has it: names are
        sanitised (``Q&A?`` loses its ``?``) and vaults compared without case (macOS,
        Windows), so ``Q&A?``, ``Q&A`` and ``q&a`` would share one note."""
        owner = self._key.get(target.casefold())
        if owner is None or owner == key:
            return target
        return f"{target} ({short_hash(key)})"

    def register_path(self, path: SectionPath) -> None:
        """A section a note is about to link, not yet known from its index note or the
        catalog: its default target, told apart from another section's."""
        if not path:
            return
        key = section_key(path)
        if key not in self._target:
            target = self.distinct_target(key, self.default_target(path))
            self.register(key, target, alias=path[-1], authoritative=False)

    def found_target(self, key: str) -> str | None:
        """Where the last scan found ``key``'s index note, if it did."""
        return self._on_disk.get(key)

    def target_for(self, key: str) -> str:
        found = self._target.get(key)
        return found if found is not None else self.default_target(section_path(key))

    def link_for(self, key: str) -> WikiLink:
        link = self._link_memo.get(key)
        if link is None:
            target = self.target_for(key)
            alias = self._alias.get(key) or link_text(section_path(key)[-1])
            link = WikiLink(f"[[{target}|{alias}]]")
            if len(self._link_memo) < _MEMO_MAX:
                self._link_memo[key] = link
        return link

    def key_for(self, raw: str) -> str | None:
        """The section key a ``sections`` entry stands for (None for an empty entry)."""
        memo = self._key_memo
        if raw in memo:
            return memo[raw]
        key = self._key_for(raw)
        if len(memo) < _MEMO_MAX:
            memo[raw] = key
        return key

    def _key_for(self, raw: str) -> str | None:
        raw = raw.strip()
        if not raw:
            return None
        link = parse_wikilink(raw)
        if link is None:
            if SECTION_SEP in raw:
                return raw
            keys = self._by_base.get(raw.casefold())
            return next(iter(keys)) if keys and len(keys) == 1 else raw
        target = link.target.strip("/")
        key = self._key.get(target.casefold())
        if key is not None:
            if link.alias is not None and link.alias != self._alias.get(key):
                return self._told_apart(target, link.alias) or key
            return key
        if "/" not in target:
            keys = self._by_base.get(target.casefold())
            if keys and len(keys) == 1:
                return next(iter(keys))
        prefix = self.folder + "/"
        if target.casefold().startswith(prefix.casefold()):
            target = target[len(prefix) :]
        return SECTION_SEP.join(p for p in target.split("/") if p) or None

    def _told_apart(self, target: str, alias: str) -> str | None:
        """The section an older link ``[[target|alias]]`` stood for when ``target`` is now
        another section's note: an older version linked every section by its default target,
        also one whose index note was told apart (``Q&A (3b74cc27)``), so ``Q&A``'s
        papers linked ``[[Sections/L/Q&A|Q&A]]``, the note of ``Q&A?``. Its alias, the
        section's own name, tells which one it meant."""
        keys = self._by_default.get(target.casefold(), ())
        named = [k for k in keys if link_text(section_path(k)[-1]) == alias]
        return named[0] if len(named) == 1 else None


def place_unknown_sections(
    entries: Iterable[str], known: Collection[str], agreed: Collection[str]
) -> tuple[frozenset[str], tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
    """A note's section keys (``entries``) that name no ``known`` section, placed where
    they can be: an entry that is only a section's name (``[[Benchmark-Dataset]]``, typed
    by hand; Obsidian resolves it too) stands for the known section of that name, and when
    several share it, for the one of them the paper is in (``agreed``). Returns the placed
    keys, the entries that name nothing known, and the ambiguous ones with their candidates.
    One ambiguous link once froze every section edit of its note, with a warning that
    named no index note, though two knew it."""
    placed: set[str] = set()
    unknown: list[str] = []
    ambiguous: list[tuple[str, tuple[str, ...]]] = []
    for entry in entries:
        if entry in known:
            placed.add(entry)
            continue
        name = entry.casefold()
        cands = (
            ()
            if SECTION_SEP in entry
            else tuple(
                sorted(k for k in known if segment_name(section_path(k)[-1]).casefold() == name)
            )
        )
        mine = [k for k in cands if k in agreed]
        if len(cands) == 1 or len(mine) == 1:
            placed.add(cands[0] if len(cands) == 1 else mine[0])
        elif cands:
            ambiguous.append((entry, cands))
        else:
            unknown.append(entry)
    return frozenset(placed), tuple(sorted(unknown)), tuple(sorted(ambiguous))


def render_index_region(
    name: str, parent: str | None, children: list[str], papers: list[str], begin: str, end: str
) -> str:
    """The managed region of an index note (``\\n`` newlines, ends with a newline)."""
    out = [begin, f"# {link_text(name)}", ""]
    if parent:
        out += [f"Part of {parent}", ""]
    if children:
        out += ["## Subsections", *(f"- {c}" for c in children), ""]
    out.append(f"## Papers ({len(papers)})")
    out += [f"- [[{p}]]" for p in papers] or ["No papers listed here."]
    out.append(end)
    return "\n".join(out) + "\n"


HOME_NOTE = "Home.md"


@dataclass(frozen=True)
class ListSummary:
    """One list's root in the Home note: the link to its section tree and its size."""

    link: str
    papers: int
    sections: int


def root_alias(title: str, source: str) -> str:
    """How a list's root section is shown: its title and the source it came from, so two
    lists with near-identical titles (both default lists are "Awesome Personalized Large
    Language Models") are told apart at a glance."""
    return link_text(f"{title} (list {source})")


def render_home_region(
    lists: list[ListSummary], begin: str, end: str, *, whats_new: str | None = None
) -> str:
    """The managed region of ``Home.md``: one line per list into its section tree, then the
    reading queue, the digest of new papers and the table of every paper."""
    out = [begin, "## Lists", ""]
    for item in lists:
        papers = f"{item.papers} paper{'' if item.papers == 1 else 's'}"
        sections = f"{item.sections} section{'' if item.sections == 1 else 's'}"
        out.append(f"- {item.link}: {papers} in {sections}")
    if not lists:
        out.append("No list pulled yet: run `pllm-sync pull`.")
    out += ["", "## Read", "", "- [[Reading queue]]: what is left to read"]
    if whats_new:
        # the same text whether the note exists yet or not: a no-op run rewrites nothing
        out.append(f"- [[{whats_new}]]: the papers each pull adds, newest first")
    out += ["- [[Papers.base|All papers]]: by section, status and year", end]
    return "\n".join(out) + "\n"
