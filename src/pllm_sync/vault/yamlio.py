"""Reading and writing frontmatter YAML the way Obsidian and every other reader agree on.

Reading uses libyaml (PyYAML's C parser, pure-Python fallback) with a YAML 1.2 *core schema*
resolver: ``yes``/``no``/``on``/``off`` stay strings, ``10:00`` is not a sexagesimal number,
``2024-01-01`` is not turned into a date object, ``012`` is twelve. Only ``null``, booleans
``true``/``false``, and 1.2 numbers are typed; everything else is the string the user wrote.

Writing goes through PyYAML's emitter (a real serializer, never string templates) with three
tweaks: a string is quoted whenever *either* YAML 1.1 (PyYAML, python-frontmatter) *or* YAML
1.2 (Obsidian, ruamel) would read it as something else, quotes are double quotes as Obsidian
writes them, and block lists are indented (``  - item``) as Obsidian writes them. ``None``
is written as an empty value (``doi:``), which is how Obsidian shows an empty property.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Collection
from functools import cache
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.resolver import BaseResolver

try:  # libyaml is ~10x faster; the pure parser gives identical results
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


_INT_1_2 = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_1_2 = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_BOOL_1_2 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL_1_2 = re.compile(r"^(?:~|null|Null|NULL|)$")


class CoreResolver(BaseResolver):
    """The YAML 1.2 core schema: the only implicit types are null, bool, int and float."""


CoreResolver.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_1_2, list("tTfF"))
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:int", _INT_1_2, list("-+0123456789"))
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_1_2, list("-+.0123456789"))
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:null", _NULL_1_2, ["~", "n", "N", ""])


class CoreConstructor(SafeConstructor):
    """Safe constructor with 1.2 integer semantics (``012`` is 12, ``0o12`` is 10)."""

    def construct_yaml_int(self, node: ScalarNode) -> int:
        value = self.construct_scalar(node).replace("_", "")
        sign = -1 if value.startswith("-") else 1
        value = value.lstrip("+-")
        if value.startswith("0o"):
            return sign * int(value[2:], 8)
        if value.startswith("0x"):
            return sign * int(value[2:], 16)
        return sign * int(value, 10)

    def construct_yaml_bool(self, node: ScalarNode) -> bool:
        return self.construct_scalar(node).lower() == "true"


# The constructor table holds the base class's functions; point it at ours.
CoreConstructor.add_constructor(  # type: ignore[type-var]
    "tag:yaml.org,2002:int", CoreConstructor.construct_yaml_int
)
CoreConstructor.add_constructor(  # type: ignore[type-var]
    "tag:yaml.org,2002:bool", CoreConstructor.construct_yaml_bool
)


class CoreLoader(_Parser, CoreConstructor, CoreResolver):
    """libyaml parser + safe 1.2 core-schema constructor. Also exposes the node tree, whose
    marks tell the frontmatter editor where each key's lines are."""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        CoreConstructor.__init__(self)
        CoreResolver.__init__(self)


def compose(text: str) -> Node | None:
    """The node tree of one YAML document (raises ``yaml.YAMLError`` on invalid YAML)."""
    loader = CoreLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def construct(node: Node) -> Any:
    """Python values for a node from :func:`compose` (strings stay strings; see module doc)."""
    loader = CoreLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load(text: str) -> Any:
    """Parse a YAML document with the 1.2 core schema."""
    node = compose(text)
    return None if node is None else construct(node)


# --- emitting -------------------------------------------------------------------------------


class WikiLink(str):
    """A string that is an Obsidian link (``[[Target|Alias]]``); always double-quoted."""

    __slots__ = ()


class _ObsidianDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting for both YAML 1.1 and 1.2 readers, Obsidian-style."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        style: str = super().choose_scalar_style()
        return '"' if style == "'" else style


# A string is written plain only if BOTH resolvers read it back as a string.
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", _BOOL_1_2, list("tTfF")),
    ("tag:yaml.org,2002:int", _INT_1_2, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT_1_2, list("-+.0123456789")),
    ("tag:yaml.org,2002:null", _NULL_1_2, ["~", "n", "N", ""]),
):
    _ObsidianDumper.add_implicit_resolver(_tag, _regexp, _first)


def _represent_none(dumper: yaml.SafeDumper, _: None) -> ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:null", "")


def _represent_link(dumper: yaml.SafeDumper, data: WikiLink) -> ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style='"')


def _represent_date(dumper: yaml.SafeDumper, data: dt.date) -> ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", data.isoformat())


_ObsidianDumper.add_representer(type(None), _represent_none)
_ObsidianDumper.add_representer(WikiLink, _represent_link)
_ObsidianDumper.add_representer(dt.date, _represent_date)


def dump_mapping(items: dict[str, Any]) -> str:
    """Serialize ``{key: value, ...}`` as block YAML lines (``\\n`` newlines), keys in the
    given order, every line ending in a newline.

    Plain values (strings, links, numbers, booleans, dates, None, flat lists of those) take
    a small direct emitter that reproduces the serializer's bytes exactly (it runs for every
    note a pull writes, where PyYAML's pure-Python emitter cost ~0.4 ms a note); anything
    else goes through the serializer."""
    if not items:
        return ""
    fast = _fast_mapping(items)
    if fast is not None:
        return fast
    return _dump_serializer(items)


def _dump_serializer(items: dict[str, Any]) -> str:
    """The reference output: PyYAML's serializer with the Obsidian dumper."""
    return yaml.dump(
        items,
        Dumper=_ObsidianDumper,
        allow_unicode=True,
        width=2**31 - 1,
        sort_keys=False,
        default_flow_style=False,
        explicit_start=False,
    )


def is_mapping(node: Node | None) -> bool:
    return isinstance(node, MappingNode)


# --- the direct emitter -------------------------------------------------------------------
# It mirrors PyYAML's ``Emitter.analyze_scalar`` / ``choose_scalar_style`` for one-line
# scalars in block context, and ``write_double_quoted`` for strings without escapes. Any
# value it is not sure about makes it give up (None), and the serializer runs instead.
# tests/vault/test_yaml_fast_emitter.py checks it byte for byte against the serializer.

_RESOLVER = _ObsidianDumper(io.StringIO())  # only its resolver is used
_WS = "\0 \t\r\n\x85\u2028\u2029"
_FIRST_INDICATORS = "#,[]{}&*!|>'\"%@`"
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


# These two character classes span most of Unicode: compiling them costs ~15 ms each, so
# they are compiled when a frontmatter is first emitted, not by every run that imports this.
@cache
def _dq_safe() -> re.Pattern[str]:
    """Characters a double-quoted scalar writes as themselves (allow_unicode=True)."""
    return re.compile(
        r"[\x20-\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*"
    )


@cache
def _plain_chars() -> re.Pattern[str]:
    """Characters a plain scalar may hold (printable, no line breaks, no BOM)."""
    return re.compile(
        r"[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010fffe]*"
    )


@cache
def _implicit() -> tuple[dict[str, tuple[re.Pattern[str], ...]], tuple[re.Pattern[str], ...]]:
    """The dumper's implicit resolvers as its ``resolve`` tries them: by a scalar's first
    character (``""`` for the empty scalar), the wildcard ones after them; and the wildcard
    ones alone, for a first character no resolver names."""
    table = _RESOLVER.yaml_implicit_resolvers
    wild = tuple(r for _tag, r in table.get(None, []))
    by_first = {c: tuple(r for _tag, r in rs) + wild for c, rs in table.items() if c is not None}
    return by_first, wild


def _is_str_scalar(text: str) -> bool:
    """True when both the YAML 1.1 and the 1.2 resolver read ``text`` back as a string:
    no implicit resolver matches (every one of them names another type). The resolver's
    ``resolve`` inlined: it runs for every key and string a pull writes."""
    by_first, wild = _implicit()
    regexps = by_first.get(text[:1], wild)
    return not regexps or not any(regexp.match(text) for regexp in regexps)


_PLAIN_KEYS: set[str] = set()
"""Keys already known to be written plain (the same few dozen keys in every note)."""


def _plain_key(key: Any) -> bool:
    if type(key) is not str:
        return False
    if key in _PLAIN_KEYS:
        return True
    ok = bool(_KEY.fullmatch(key)) and _is_str_scalar(key)
    if ok and len(_PLAIN_KEYS) < 4096:
        _PLAIN_KEYS.add(key)
    return ok


def _block_plain_ok(text: str) -> bool:
    """PyYAML's ``allow_block_plain`` for a one-line string."""
    if not text or not _plain_chars().fullmatch(text):
        return False
    if text.startswith(("---", "...")):
        return False
    if text[0] == " " or text[-1] == " ":
        return False
    first = text[0]
    if first in _FIRST_INDICATORS:
        return False
    if first in "-?:" and (len(text) == 1 or text[1] in _WS):
        return False
    return not (": " in text or text.endswith(":") or " #" in text)


_STR_TEXT: dict[str, str | None] = {}
_LINK_TEXT: dict[str, str | None] = {}
"""What :func:`_scalar` gave for each string (and, apart, each link) seen: notes repeat the
same venues, statuses, sections and authors, and the two regular expressions per string
were most of an emit. Bounded: after ``_MEMO_MAX`` entries, new strings are not kept."""
_MEMO_MAX = 8192


def _scalar(value: Any) -> str | None:
    """One scalar as the serializer writes it in block context, or None if unsure."""
    kind = type(value)
    text: str | None
    if kind is str:
        text = _STR_TEXT.get(value, _UNSEEN)
        if text is _UNSEEN:
            text = _str_scalar(value)
            if len(_STR_TEXT) < _MEMO_MAX:
                _STR_TEXT[value] = text
        return text
    if kind is WikiLink:
        text = _LINK_TEXT.get(value, _UNSEEN)
        if text is _UNSEEN:
            text = '"' + value + '"' if _dq_safe().fullmatch(value) else None
            if len(_LINK_TEXT) < _MEMO_MAX:
                _LINK_TEXT[value] = text
        return text
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is dt.date:
        return str(value.isoformat())
    return None


_UNSEEN: Any = object()
"""A memo's "no entry" (``None`` is a remembered answer: not plain)."""


def _str_scalar(value: str) -> str | None:
    """:func:`_scalar` of a plain ``str``, worked out (not memoised)."""
    if _block_plain_ok(value) and _is_str_scalar(value):
        return str(value)
    if _dq_safe().fullmatch(value):
        return '"' + value + '"'
    return None


def dump_plain(items: dict[str, Any]) -> str | None:
    """What :func:`dump_mapping` writes, when every value is plain (the direct emitter takes
    it); None otherwise. For such a mapping :func:`plain_values` gives what a reader loads
    back, without parsing the text."""
    return _fast_mapping(items) if items else ""


def plain_values(items: dict[str, Any], text_keys: Collection[str] = ()) -> dict[str, Any]:
    """The values our reader (``frontmatter_block.parse`` with ``text_keys``) loads from
    ``dump_plain(items)``, for a mapping that function wrote: links and dates come back as
    the text written, numbers under ``text_keys`` as their digits, the rest as given.
    tests/vault/test_yaml_fast_emitter.py holds it to the reader's result."""
    out: dict[str, Any] = {}
    for key, value in items.items():
        kind = type(value)
        if kind is str or value is None:  # most values: as given
            out[key] = value
        elif kind is list:
            out[key] = [x if type(x) is str else _plain_value(x) for x in value]
        elif key in text_keys and kind is int:
            out[key] = str(value)
        else:
            out[key] = _plain_value(value)
    return out


def _plain_value(value: Any) -> Any:
    kind = type(value)
    if kind is WikiLink:
        return str(value)
    if kind is dt.date:
        return value.isoformat()
    return value


def _fast_mapping(items: dict[str, Any]) -> str | None:
    lines = plain_lines(items)
    return None if lines is None else "".join(lines)


def plain_lines(items: dict[str, Any]) -> list[str] | None:
    """The lines of :func:`dump_plain`'s text (each ending in ``\n``; one per key, then one
    per list item), or None when a value is not plain. The memo lookups of :func:`_plain_key`
    and :func:`_scalar` are inlined for strings (a pull emits ~16 keys and values a note)."""
    out: list[str] = []
    append = out.append
    plain_keys, str_text = _PLAIN_KEYS, _STR_TEXT
    for key, value in items.items():
        if not (type(key) is str and key in plain_keys) and not _plain_key(key):
            return None
        if type(value) is list:
            if not value:
                append(f"{key}: []\n")
                continue
            append(f"{key}:\n")
            for item in value:
                if item is None:
                    append("  -\n")
                    continue
                text = (str_text.get(item) if type(item) is str else None) or _scalar(item)
                if text is None:
                    return None
                append(f"  - {text}\n")
            continue
        text = (str_text.get(value) if type(value) is str else None) or _scalar(value)
        if text is None:
            return None
        append(f"{key}: {text}\n" if text else f"{key}:\n")
    return out
