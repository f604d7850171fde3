"""The user's notes: markdown in the vault, an HTML child note in Zotero.

Markdown becomes HTML with markdown-it-py (CommonMark plus tables and strikethrough; raw HTML
is escaped, never passed through) and HTML becomes markdown with markdownify, configured to
the markdown style markdown-it reads back the same way (ATX headings, ``-`` bullets, ``*``
emphasis, fenced code). One round trip may respell a note (``_em_`` becomes ``*em*``); after
that it is stable, which is what keeps a no-op sync from rewriting notes forever.

The note pllm-sync owns is marked twice: a ``data-pllm-sync="notes"`` attribute on the wrapper
``div`` (Zotero's note editor drops unknown attributes when a note is edited) and a first
heading ``pllm-sync notes`` (which survives editing, and names the note in Zotero's list).
"""

from __future__ import annotations

import difflib
import html
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from ..record import canonical_notes

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

NOTE_TITLE = "pllm-sync notes"
NOTE_ATTR = "data-pllm-sync"


@cache
def _md() -> MarkdownIt:
    """The markdown renderer, built on first use: a sync with nothing to convert (a no-op)
    never imports markdown-it or markdownify (with BeautifulSoup, a fifth of its time)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


_WRAPPER_OPEN = re.compile(r"^\s*<div\b([^>]*)>", re.IGNORECASE)
_WRAPPER_CLOSE = re.compile(r"</div>\s*$", re.IGNORECASE)
_FIRST_HEADING = re.compile(
    r"^\s*(?:<p>\s*</p>\s*)*<h([1-6])\b[^>]*>(.*?)</h\1>", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^>]+>")


_ESCAPES = (
    # a backslash before punctuation would itself be read as an escape next time
    (re.compile(r"\\(?=[!-/:-@\[-`{-~])"), r"\\\\"),
    # text at a line start that would otherwise become a list, heading, quote or rule
    (re.compile(r"(?m)^(\s*)([-+=]+|#{1,6}|>)(?=\s|$)"), r"\1\\\2"),
    (re.compile(r"(?m)^(\s*)>"), r"\1\\>"),
    (re.compile(r"(?m)^(\s*\d{1,9})([.)])(?=\s|$)"), r"\1\\\2"),
    # text that would otherwise become an entity or a link
    (re.compile(r"&(?=#?[A-Za-z0-9]+;)"), r"\\&"),
    (re.compile(r"\[(?=[^\]]*\]\()"), r"\\["),
)


@cache
def _converter() -> Any:
    """The HTML -> markdown converter class, defined on first use (see ``_md``)."""
    from markdownify import MarkdownConverter

    class _Converter(MarkdownConverter):
        """markdownify with the code block language taken from ``class="language-x"`` and just
        enough escaping that text never turns into markup on the way back (``escape_misc``
        would escape every ``+``, ``=`` or ``>`` in the user's prose)."""

        def __init__(self, **options: Any) -> None:
            super().__init__(
                heading_style="ATX",
                bullets="-",
                strong_em_symbol="*",
                escape_misc=False,
                code_language_callback=_code_language,
                **options,
            )

        def escape(self, text: str, parent_tags: Any) -> str:
            if not text:
                return ""
            for pattern, repl in _ESCAPES:
                text = pattern.sub(repl, text)
            # Escape '*' always; '_' only where it could open or close emphasis. An intraword
            # '_' (my_note, #to_read, $x_1$) is never emphasis in CommonMark, and escaping it
            # would break Obsidian links, tags and math in the user's notes. Inside math
            # ($...$, $$...$$) nothing is escaped: ``$\alpha_{t+1}$`` became
            # ``$\alpha\_{t+1}$``, which Obsidian no longer renders.
            parts = _MATH.split(text)
            for i in range(0, len(parts), 2):  # the text between math spans
                parts[i] = _UNDERSCORE.sub(r"\_", parts[i].replace("*", r"\*"))
            return "".join(parts)

    return _Converter


def _code_language(el: Any) -> str | None:
    """The language of a ``<pre><code class="language-x">`` block, for the fence info."""
    code = el.find("code")
    for node in (el, code):
        if node is None:
            continue
        for c in node.get("class") or ():
            if isinstance(c, str) and c.startswith("language-"):
                return c.removeprefix("language-")
    return None


_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_MATH = re.compile(r"(\$\$[^$]+\$\$|\$(?=\S)[^$\n]*?(?<=\S)\$)")
_LINK_DEFINITION = re.compile(r"(?m)^( {0,3})\[(?=[^\]\n]+\]:)")


def markdown_to_html(markdown: str) -> str:
    """Body HTML for ``markdown`` (no wrapper, no marker).

    A line that CommonMark would swallow as a link reference definition (``[TODO]: reread``,
    a footnote ``[^1]: Smith 2020``) is kept as text, so no line of the user's notes
    disappears on its way to Zotero.
    """
    if not markdown.strip():
        return ""
    return str(_md().render(_LINK_DEFINITION.sub(r"\1\\[", canonical_notes(markdown))))


def html_to_markdown(body: str) -> str:
    """Markdown for an HTML fragment, normalised by ``canonical_notes``."""
    if not body.strip():
        return ""
    return canonical_notes(_converter()().convert(body))


def roundtrip_markdown(markdown: str) -> str:
    """``markdown`` as it reads back from Zotero: the fixed point sides should compare in."""
    return html_to_markdown(markdown_to_html(markdown))


_BLANK_LINES = re.compile(r"\n[ \t]*\n+")


def _blocks(markdown: str) -> list[str]:
    text = canonical_notes(markdown)
    return [b for b in _BLANK_LINES.split(text) if b.strip()] if text else []


def keep_spelling(base: str, converted: str) -> str:
    """The notes as Zotero now holds them (``converted``: its HTML converted to markdown),
    spelled the way the vault wrote them (``base``) wherever Zotero did not change the text.

    Markdown -> HTML -> markdown is not the identity (``$\\theta_{t+1}$`` comes back as
    ``$\\theta\\_{t+1}$``, hard breaks and list markers change), so taking the converted text
    whole would respell every line of a note because of one edit, or of none (a re-save in
    Zotero). Instead the base is cut into blocks (paragraphs, lists: text between blank
    lines); each block's round trip is compared with the converted blocks, and a block Zotero
    did not change keeps the base's bytes; changed and new blocks come from Zotero. When the
    blocks do not round-trip one by one (a fenced block with blank lines inside, say), the
    converted text is returned as before."""
    if not base.strip() or not converted.strip():
        return converted
    whole = roundtrip_markdown(base)
    if whole == converted:
        return canonical_notes(base)
    blocks = _blocks(base)
    trips = [roundtrip_markdown(b) for b in blocks]
    if canonical_notes("\n\n".join(trips)) != whole:
        return converted
    new_blocks = _blocks(converted)
    matcher = difflib.SequenceMatcher(a=trips, b=new_blocks, autojunk=False)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        out += blocks[i1:i2] if tag == "equal" else new_blocks[j1:j2]
    merged = canonical_notes("\n\n".join(out))
    return merged if roundtrip_markdown(merged) == converted else converted


def note_html(markdown: str) -> str:
    """The full HTML of pllm-sync's child note for ``markdown``."""
    body = markdown_to_html(markdown)
    return f'<div {NOTE_ATTR}="notes"><h1>{html.escape(NOTE_TITLE)}</h1>\n{body}</div>'


def _unwrap(note: str) -> tuple[str, str]:
    """(wrapper attributes, inner HTML) of a note; Zotero wraps notes in one ``div``."""
    m = _WRAPPER_OPEN.match(note)
    if m and _WRAPPER_CLOSE.search(note):
        inner = _WRAPPER_CLOSE.sub("", note[m.end() :])
        return m.group(1), inner
    return "", note


def _heading_is_marker(text: str) -> bool:
    plain = html.unescape(_TAG.sub("", text))
    return " ".join(plain.split()).lower() == NOTE_TITLE


def is_pllm_note(note: str) -> bool:
    """True when a note's HTML is the one pllm-sync owns (either marker present)."""
    attrs, inner = _unwrap(note or "")
    if NOTE_ATTR in attrs:
        return True
    m = _FIRST_HEADING.match(inner)
    return bool(m and _heading_is_marker(m.group(2)))


def note_markdown(note: str) -> str:
    """The user's markdown in pllm-sync's note: the marker heading removed, the rest converted."""
    _attrs, inner = _unwrap(note or "")
    m = _FIRST_HEADING.match(inner)
    if m and _heading_is_marker(m.group(2)):
        inner = inner[m.end() :]
    return html_to_markdown(inner)


_RICH = re.compile(
    r"<(?:img|u|sub|sup|math)\b"  # images, underline, sub/superscript, MathML
    r"|<[a-z][a-z0-9]*\b[^>]*\s(?:style=(?![\"']text-align:)|class=(?![\"']language-))"  # colour, highlight
    # annotations, citations; not Zotero 7's editor's ``<div data-schema-version="N">``,
    # which wraps every note it saves (taken for rich, one edit in Zotero desktop once made
    # every later vault edit of the notes a conflict that `--take vault` refused)
    r"|<[a-z][a-z0-9]*\b[^>]*\sdata-(?!pllm-sync\b|schema-version\b)[a-z-]+=",
    re.IGNORECASE,
)


def has_rich_content(note: str) -> bool:
    """True when a note's HTML holds things markdown cannot carry (images, highlights and
    citations with their links, colours, underline, sub/superscript, math).

    Rewriting such a note from markdown would destroy them, so pllm-sync never overwrites
    it: the difference is reported as a notes conflict instead."""
    return bool(_RICH.search(note or ""))
