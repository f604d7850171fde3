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
import re
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
    given order, every line ending in a newline."""
    if not items:
        return ""
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
