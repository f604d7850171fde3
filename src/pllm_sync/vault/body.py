"""A note's body: the managed region pllm-sync rewrites, and the user's notes around it.

Layout of a paper note's body::

    [text before the region: the user's]       <- rare; kept byte for byte
    <!-- pllm-sync:begin (managed: edits here are replaced) -->
    ...abstract, links, catalog provenance...   <- ours, rewritten freely
    <!-- pllm-sync:end -->
    <blank line>
    the user's notes                             <- the user's

**The notes field** (record field ``notes``) is defined as: the text before the begin marker,
then the text after the end marker, each normalised by ``canonical_notes`` and joined with one
blank line when both are non-empty. A body without markers is all notes. A body with broken
markers (a begin without an end, or the other way round) is also treated as all notes -- we
never guess where our region ended, and we never write into such a body except through
:func:`set_notes`.

**Setting notes** (from the other side, e.g. Zotero) rewrites only the text after the end
marker: one blank line, the notes, a final newline. If the incoming notes start with the text
that already stands before the begin marker, that text stays where it is, byte for byte, and
only the remainder goes after the marker. If they do not (the other side edited that part),
the text before the marker is cleared and the full notes go after it, so nothing is duplicated
and nothing is lost (the incoming notes already contain the merged text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..record import canonical_notes

BEGIN = "<!-- pllm-sync:begin (managed: edits here are replaced) -->"
END = "<!-- pllm-sync:end -->"
_MARKER_LINE = re.compile(r"(?m)^(<!--\s*pllm-sync:)")
_BEGIN_RE = re.compile(r"<!--\s*pllm-sync:begin\b[^\r\n]*")
_END_RE = re.compile(r"<!--\s*pllm-sync:end\s*-->[ \t]*(?:\r\n|\n|\r)?")


def _at_line_start(text: str, pos: int) -> int | None:
    """Where the line holding ``pos`` starts, if only spaces/tabs precede ``pos`` on it.
    Markers count only at the start of a line (any of \\n, \\r\\n, \\r endings)."""
    start = max(text.rfind("\n", 0, pos), text.rfind("\r", 0, pos)) + 1
    return start if text[start:pos].strip(" \t") == "" else None


def _markers(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    out = []
    for m in pattern.finditer(text):
        start = _at_line_start(text, m.start())
        if start is not None:
            out.append((start, m.end()))
    return out


SECTIONS_LABEL = "**Sections:**"


@dataclass(frozen=True)
class ManagedContent:
    """What the managed region of a paper note shows (besides the section links)."""

    abstract: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)  # (role, url)
    provenance: list[str] = field(default_factory=list)  # e.g. "jiahongliu21 line 42: A / B"


@dataclass(frozen=True)
class BodyParts:
    """``before + region + after == body`` when ``has_region``; otherwise all is ``after``."""

    before: str
    region: str
    after: str
    has_region: bool
    broken: bool = False


def split_body(body: str) -> BodyParts:
    if "pllm-sync:" not in body:
        return BodyParts("", "", body, has_region=False)
    begins = _markers(_BEGIN_RE, body)
    ends = _markers(_END_RE, body)
    if not begins and not ends:
        return BodyParts("", "", body, has_region=False)
    if len(begins) != 1 or len(ends) != 1 or ends[0][0] < begins[0][0]:
        return BodyParts("", "", body, has_region=False, broken=True)
    (b, _), (_, e) = begins[0], ends[0]
    return BodyParts(body[:b], body[b:e], body[e:], True)


def notes_of(parts: BodyParts) -> str:
    """The user's notes as the record field (see module docstring)."""
    pieces = [canonical_notes(parts.before), canonical_notes(parts.after)]
    return canonical_notes("\n\n".join(p for p in pieces if p))


def _with_newline(text: str, nl: str) -> str:
    return text.replace("\n", nl) if nl != "\n" else text


def set_notes(parts: BodyParts, notes: str, nl: str) -> str:
    """The body with the user-notes part replaced so that ``notes_of`` gives ``notes``.

    Incoming text that carries our own marker comments (pasted from a note into Zotero, say)
    has them escaped, so it can never split or end the managed region."""
    target = _MARKER_LINE.sub(r"\\\1", canonical_notes(notes))
    if notes_of(parts) == target and not parts.broken:
        return parts.before + parts.region + parts.after
    if not parts.has_region:
        return _with_newline(target + "\n", nl) if target else ""
    before = parts.before
    rest = target
    head = canonical_notes(before)
    if head:
        if target == head:
            rest = ""
        elif target.startswith(head + "\n\n"):
            rest = canonical_notes(target[len(head) :])
        else:
            before = ""
    region = parts.region
    if rest and not region.endswith(("\n", "\r")):
        region += nl
    after = _with_newline("\n" + rest + "\n", nl) if rest else ""
    return before + region + after


def set_region(parts: BodyParts, region: str, nl: str) -> str | None:
    """The body with the managed region replaced by ``region`` (which ends with a newline);
    inserted at the top when the body has none. None when the markers are broken."""
    region = _with_newline(region, nl)
    if parts.broken:
        return None
    if not parts.has_region:
        after = parts.after
        if not after:
            return region
        return region + nl + after
    old = parts.region
    if not old.endswith(("\n", "\r")) and parts.after == "":
        region = region.rstrip("\r\n")
    return parts.before + region + parts.after


_ABSTRACT_HEAD = "> [!abstract]- Abstract"
_LINKS_LABEL = "**Links:**"
_LISTED_LABEL = "**Listed in:**"


def stray_lines(region: str) -> list[str]:
    """Lines inside a managed region that :func:`render_region` never writes: text the user
    typed there. Our lines are the markers, the abstract callout (header and one line), the
    links and sections lines, the "Listed in" list, and blank lines; a user line that mimics
    one of them exactly is indistinguishable and is treated as ours."""
    stray: list[str] = []
    state = ""
    for line in region.splitlines():
        s = line.strip()
        if not s:
            state = "" if state == "listed" else state
            if stray and stray[-1] != "":
                stray.append("")
            continue
        if _BEGIN_RE.match(s) or _END_RE.match(s) or s == _ABSTRACT_HEAD:
            state = "abstract" if s == _ABSTRACT_HEAD else ""
            continue
        if state == "abstract" and line.startswith("> "):
            state = ""
            continue
        if s.startswith((_LINKS_LABEL, SECTIONS_LABEL)):
            state = ""
            continue
        if s == _LISTED_LABEL:
            state = "listed"
            continue
        if state == "listed" and line.startswith("- "):
            continue
        state = ""
        stray.append(line)
    while stray and stray[-1] == "":
        stray.pop()
    return stray


def moved_notice(day: str) -> str:
    return f"> [!warning] pllm-sync moved the text below out of the managed region on {day}"


def rescue_stray_text(parts: BodyParts, nl: str, day: str) -> BodyParts:
    """Before the region is rewritten: move text the user typed inside it to just below the
    region, under a visible notice (never dropped). Unchanged when there is none."""
    if not parts.has_region:
        return parts
    stray = stray_lines(parts.region)
    if not stray:
        return parts
    block = "\n".join([moved_notice(day), "", *stray])
    after = parts.after
    rest = after.lstrip("\r\n")
    moved = _with_newline("\n" + block + "\n", nl) + (nl + rest if rest else "")
    region = parts.region
    if not region.endswith(("\n", "\r")):
        region += nl
    return BodyParts(parts.before, region, moved, True)


_UNSAFE_HTML = re.compile(r"<!--|-->")


def neutralise(text: str) -> str:
    """Text from the internet made harmless inside the region: no HTML comment delimiters
    (which could fake our markers), no raw line breaks where one line is expected.
    Text with neither delimiter (nearly all: every link and abstract of every new note
    comes here) is returned without running the substitution."""
    if "<!--" not in text and "-->" not in text:
        return text
    return _UNSAFE_HTML.sub(lambda m: "&lt;!--" if m.group(0) == "<!--" else "--&gt;", text)


_SAFE_SCHEMES = ("http://", "https://", "zotero://", "doi:")


def _md_link(label: str, url: str) -> str:
    url = url.strip()
    if not url.lower().startswith(_SAFE_SCHEMES) or any(c in url for c in "\r\n"):
        return f"{label}: `{neutralise(url).replace('`', '')}`"
    safe = url.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
    return f"[{label}](<{neutralise(safe)}>)"


def render_region(managed: ManagedContent, section_links: list[str]) -> str:
    """The managed region, markers included, ``\\n`` newlines, ending with a newline."""
    out = [BEGIN]
    abstract = " ".join((managed.abstract or "").split())
    if abstract:
        out += ["> [!abstract]- Abstract", f"> {neutralise(abstract)}", ""]
    if managed.links:
        seen: set[tuple[str, str]] = set()
        parts = []
        for role, url in managed.links:
            if (role, url) in seen or not url:
                continue
            seen.add((role, url))
            label = " ".join(role.split()).replace("[", "(").replace("]", ")") or "link"
            parts.append(_md_link(neutralise(label), url))
        out += ["**Links:** " + " · ".join(parts), ""]
    out += [sections_line(section_links), ""]
    provenance = [" ".join(line.split()) for line in managed.provenance]
    provenance = [line for line in provenance if line]
    if provenance:
        out += ["**Listed in:**", *(f"- {neutralise(line)}" for line in provenance)]
    else:
        out.pop()  # no trailing blank line before the end marker
    out.append(END)
    return "\n".join(out) + "\n"


def sections_line(section_links: list[str]) -> str:
    return f"{SECTIONS_LABEL} " + (", ".join(section_links) if section_links else "none")


_SECTIONS_LINE_RE = re.compile(r"^" + re.escape(SECTIONS_LABEL) + r"[^\r\n]*", re.MULTILINE)


def replace_sections_line(region: str, section_links: list[str]) -> str:
    """The region with only its sections line renewed (used when sections change but no new
    managed content was supplied). Unchanged when the line is missing."""
    line = sections_line(section_links)
    return _SECTIONS_LINE_RE.sub(lambda _m: line, region, count=1)


ABSTRACT_HEAD = "> [!abstract]- Abstract"
_ABSTRACT_RE = re.compile(
    r"^> \[!abstract\][^\r\n]*(?:\r\n|\n|\r)((?:>[^\r\n]*(?:\r\n|\n|\r)?)*)", re.MULTILINE
)


def abstract_of(parts: BodyParts) -> str | None:
    """The abstract the managed region shows (the record field ``abstract``), or None.

    It is read back so that the vault has a say like Zotero: an abstract fixed here by hand
    counts as the user's edit and wins over enrichment."""
    if not parts.has_region:
        return None
    m = _ABSTRACT_RE.search(parts.region)
    if not m:
        return None
    lines = [ln[1:] for ln in m.group(1).splitlines()]
    text = " ".join(" ".join(lines).split())
    return text.replace("&lt;!--", "<!--").replace("--&gt;", "-->") or None


def replace_abstract(region: str, abstract: str | None) -> str:
    """The region with only its abstract callout renewed, added (after the begin marker) or
    removed; used when the abstract changes but no new managed content was supplied."""
    text = " ".join((abstract or "").split())
    block = f"{ABSTRACT_HEAD}\n> {neutralise(text)}\n\n" if text else ""
    m = _ABSTRACT_RE.search(region)
    if m:
        end = m.end()
        if region[end : end + 2] == "\r\n":
            end += 2
        elif region[end : end + 1] in ("\n", "\r"):
            end += 1  # the blank line after the callout
        return region[: m.start()] + block + region[end:]
    if not block:
        return region
    first = region.find("\n") + 1
    return region[:first] + block + region[first:]
