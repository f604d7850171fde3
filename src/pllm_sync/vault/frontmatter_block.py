"""Split a note into frontmatter and body, read the frontmatter, and edit single keys in place.

Frontmatter libraries that load the YAML into a dict and dump it again sort keys, drop
comments, change quoting, turn ``2024-01-01`` into a date and ``10:00`` into 600, and normalise
line endings: all of that would rewrite bytes the user owns. So the document is never
re-dumped as a whole. The YAML is parsed for values and for the line span of every top-level
key (from the parser's own marks, so multi-line values, block lists and block scalars are
spanned exactly), and a change to a key we own replaces exactly that key's lines with freshly
serialized YAML for that key. New keys are appended at the end of the block. Every other
byte -- user keys, their order, comments, blank lines, CRLF line endings, the body -- is copied
through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import yamlio

# libyaml counts these as line breaks; split the same way so our line numbers match its marks.
_LINE = re.compile(r"[^\r\n\x85\u2028\u2029]*(?:\r\n|[\r\n\x85\u2028\u2029]|\Z)")
_OPEN = re.compile(r"\A(\ufeff?)---[ \t]*(\r\n|\n|\r)")
_CLOSE = re.compile(r"---[ \t]*(?:\r\n|\n|\r)?\Z")


MAX_EXPANDED_NODES = 10_000
"""A frontmatter whose YAML expands (through ``&anchor``/``*alias`` references) to more values
than this is refused: an "alias bomb" of a few lines would otherwise expand to billions of
values in every reader that walks it."""


class FrontmatterProblem(Exception):
    """The frontmatter cannot be read or cannot be edited safely; ``line`` is 1-based in the
    file (None when not tied to a line)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def split_lines(text: str) -> list[str]:
    """Lines with their own line endings kept, so ``"".join`` gives back ``text`` exactly."""
    if not text:
        return []
    return [line for line in _LINE.findall(text) if line]


def detect_newline(text: str) -> str:
    """The file's newline style (from its first line break); ``\\n`` when it has none."""
    i = text.find("\n")
    if i > 0 and text[i - 1] == "\r":
        return "\r\n"
    if i < 0 and "\r" in text:
        return "\r"
    return "\n"


@dataclass(frozen=True)
class KeySpan:
    """Lines ``[start, end)`` (0-based, within the YAML lines) that belong to one top-level
    key: its own line plus its value's continuation lines, without trailing comments/blanks."""

    start: int
    end: int


@dataclass
class Document:
    """A note's text split into its parts. ``prefix`` + YAML lines + ``closing`` + ``body`` is
    the original text, byte for byte."""

    text: str
    newline: str
    has_frontmatter: bool
    prefix: str = ""  # BOM (if any) and the opening "---" line
    yaml_lines: list[str] = field(default_factory=list)
    closing: str = ""  # the closing "---" line
    body: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    spans: dict[str, KeySpan] = field(default_factory=dict)
    editable: str | None = None  # None when keys can be edited line-wise, else the reason

    @property
    def yaml_text(self) -> str:
        return "".join(self.yaml_lines)

    @property
    def body_line(self) -> int:
        """1-based file line where the body starts."""
        return 1 + len(self.yaml_lines) + 1 if self.has_frontmatter else 1


def split(text: str) -> Document:
    """Find the frontmatter block (``---`` on the first line, up to the next ``---`` line).

    No values are parsed here; see :func:`parse`. A file whose first line is ``---`` but has no
    closing line has no frontmatter (Obsidian reads it the same way).
    """
    newline = detect_newline(text)
    m = _OPEN.match(text)
    if not m:
        return Document(text=text, newline=newline, has_frontmatter=False, body=text)
    rest = text[m.end() :]
    lines = split_lines(rest)
    for i, line in enumerate(lines):
        if _CLOSE.match(line):
            return Document(
                text=text,
                newline=newline,
                has_frontmatter=True,
                prefix=m.group(0),
                yaml_lines=lines[:i],
                closing=line,
                body="".join(lines[i + 1 :]),
            )
    return Document(text=text, newline=newline, has_frontmatter=False, body=text)


_PROPERTY_LINE = re.compile(r"[A-Za-z0-9_][^:\r\n]*:(?:[ \t]|$)|[ \t]+\S|-[ \t]|#|\s*$")


def unclosed_properties(text: str) -> int | None:
    """For a file that opens a properties block (``---`` on its first line) and never
    closes it, the line after which the closing ``---`` belongs: the last line of the run
    of property lines (``key: value``, list items, indented continuations) that follows
    the opening. None when the file opens no block, closes it, or ends among its
    properties (cut short, not unclosed). Such a file has no
    properties for Obsidian (nor for :func:`split`): named, its warning says what to add."""
    m = _OPEN.match(text)
    if not m or split(text).has_frontmatter:
        return None
    last = 1
    for i, line in enumerate(split_lines(text[m.end() :]), start=2):
        if not _PROPERTY_LINE.match(line.rstrip("\r\n")):
            return last  # the note's body follows the properties: the closing line is gone
        if line.strip() and not line.startswith("#"):
            last = i
    return None  # the file ends among its properties: cut short (a copy still arriving?)


def _yaml_problem(exc: yaml.MarkedYAMLError, first_line: int, n_lines: int) -> FrontmatterProblem:
    """A user-facing problem: the parser's complaint, where it noticed it, and where the
    construct it was reading started (often the real culprit, e.g. an unclosed ``[``)."""
    mark = exc.problem_mark or exc.context_mark
    line = None
    if mark is not None:
        line = first_line + min(mark.line, max(n_lines - 1, 0))
    msg = f"invalid YAML in frontmatter: {exc.problem or exc}"
    if exc.context and exc.context_mark is not None:
        msg += f" ({exc.context} on line {first_line + exc.context_mark.line})"
    return FrontmatterProblem(msg, line)


def _check_expansion(root: Node, first_line: int) -> None:
    """Refuse a YAML tree that expands to more than ``MAX_EXPANDED_NODES`` values or refers
    to itself. The composed tree shares aliased nodes, so this walk is linear in the text
    (each node's expanded size is computed once) while a plain walk would be exponential."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        nid = id(node)
        if nid in sizes:
            return sizes[nid]
        if nid in active:
            raise FrontmatterProblem(
                "a YAML alias in the properties refers to itself; remove the `*` reference",
                first_line + node.start_mark.line,
            )
        active.add(nid)
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(n) for n in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(nid)
        sizes[nid] = min(total, MAX_EXPANDED_NODES + 1)
        if total > MAX_EXPANDED_NODES:
            raise FrontmatterProblem(
                f"the properties expand to more than {MAX_EXPANDED_NODES} values through YAML "
                "aliases (`&name` / `*name`); refused as a possible alias bomb, note left "
                "untouched -- write the values out instead of using aliases",
                first_line + node.start_mark.line,
            )
        return total

    size(root)


def _content_end(node: Node) -> yaml.Mark:
    """Where a value's own content ends: for block collections, the end of the last item
    (their end mark lies at the next token, past any trailing comments)."""
    while isinstance(node, SequenceNode | MappingNode) and node.value and not node.flow_style:
        node = node.value[-1] if isinstance(node, SequenceNode) else node.value[-1][1]
    return node.end_mark


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def parse(text: str, *, quick_key: str | None = None, text_keys: Collection[str] = ()) -> Document:
    """Split ``text`` and parse its frontmatter into values and key spans.

    ``quick_key``: when given and that string does not occur in the frontmatter at all, the
    YAML is not parsed (values stay empty) -- a cheap skip for notes that cannot be ours.
    ``text_keys``: keys whose plain (unquoted) numbers are read as the text the user typed:
    ``arxiv: 2310.10100`` is the id "2310.10100", not the float 2310.101.
    Raises :class:`FrontmatterProblem` for YAML that does not parse, is not a mapping, or
    repeats a key.
    """
    doc = split(text)
    if not doc.has_frontmatter:
        return doc
    ytext = doc.yaml_text
    if quick_key is not None and quick_key not in ytext:
        doc.editable = "not parsed"
        return doc
    first_line = 2  # 1-based file line of the first YAML line
    try:
        node = yamlio.compose(ytext)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_problem(exc, first_line, len(doc.yaml_lines)) from exc
    except yaml.YAMLError as exc:
        raise FrontmatterProblem(f"invalid YAML in frontmatter: {exc}", first_line) from exc
    if node is None:
        return doc
    _check_expansion(node, first_line)
    if not isinstance(node, MappingNode):
        raise FrontmatterProblem(
            "frontmatter is not a mapping of properties", first_line + node.start_mark.line
        )
    if node.flow_style:
        doc.editable = "the frontmatter is written as a {flow mapping}"
    loader = yamlio.CoreLoader("")
    try:
        pairs = node.value
        for idx, (knode, vnode) in enumerate(pairs):
            if not isinstance(knode, ScalarNode):
                continue
            key = str(knode.value)
            kline = knode.start_mark.line
            if key in doc.spans:
                raise FrontmatterProblem(f"property {key!r} appears twice", first_line + kline)
            if knode.start_mark.column != 0 and doc.editable is None:
                doc.editable = "the properties are indented"
            if key in text_keys and isinstance(vnode, ScalarNode) and vnode.tag in _NUMBER_TAGS:
                doc.values[key] = str(vnode.value)
            else:
                try:
                    doc.values[key] = loader.construct_object(vnode, deep=True)
                except yaml.MarkedYAMLError as exc:
                    raise _yaml_problem(exc, first_line, len(doc.yaml_lines)) from exc
            end_mark = _content_end(vnode)
            end = end_mark.line + 1 if end_mark.column > 0 else end_mark.line
            end = max(end, kline + 1)
            if idx + 1 < len(pairs):
                end = min(end, pairs[idx + 1][0].start_mark.line)
            doc.spans[key] = KeySpan(kline, end)
    finally:
        loader.dispose()
    return doc


_DELETE = object()
DELETE: Any = _DELETE
"""Pass as a value to :func:`edit` to remove a key (only used for keys we own)."""


def edit(doc: Document, changes: Mapping[str, Any], order: Iterable[str] = ()) -> str:
    """The document's text with the given top-level keys set (or removed with ``DELETE``).

    Each existing key's lines are replaced in place; new keys are appended at the end of the
    block in ``order`` (then in ``changes`` order). Everything else is kept byte for byte, and
    the new lines use the document's own newline style. Raises :class:`FrontmatterProblem`
    when the block cannot be edited line-wise (flow mapping, indented keys).
    """
    if doc.has_frontmatter and doc.editable is not None:
        raise FrontmatterProblem(f"cannot edit the frontmatter safely: {doc.editable}")
    nl = doc.newline

    def render(key: str, value: Any) -> list[str]:
        out = yamlio.dump_mapping({key: value})
        if nl != "\n":
            out = out.replace("\n", nl)
        return split_lines(out)

    lines = list(doc.yaml_lines)
    replacements: list[tuple[KeySpan, list[str]]] = []
    appended: list[str] = []
    ordered = [k for k in order if k in changes] + [k for k in changes if k not in set(order)]
    for key in ordered:
        value = changes[key]
        span = doc.spans.get(key)
        if span is not None:
            replacements.append((span, [] if value is _DELETE else render(key, value)))
        elif value is not _DELETE:
            appended.extend(render(key, value))
    for span, new in sorted(replacements, key=lambda r: r[0].start, reverse=True):
        lines[span.start : span.end] = new
    if appended:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += nl
        lines.extend(appended)
    if doc.has_frontmatter:
        return doc.prefix + "".join(lines) + doc.closing + doc.body
    if not lines:
        return doc.text
    return f"---{nl}" + "".join(lines) + f"---{nl}" + doc.body
