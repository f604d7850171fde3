"""The collection tree: a root collection with each list's taxonomy below it.

A node's identity is its *slug path*: the slugs from the list's root section down, joined
with ``/`` (the list root's slug is the catalog source's name, so it survives the list
editing its H1). ``""`` names the pllm-sync root collection itself. The caller keeps the
mapping slug path → collection key between runs; a node is found again by that key, then by
name under its parent (a rerun that lost the mapping adopts what an interrupted run made),
and only then created. Found collections are renamed, moved back under their parent, or
restored from the trash with a versioned write of just those properties — never a PUT, which
would drop ``parentCollection`` and move the collection to the top level.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..model import Section, SectionPath, slugify
from .batch import WriteOp
from .mapping import new_key

ROOT = ""
MAX_NAME = 255


@dataclass(frozen=True)
class Node:
    """One collection we want: its slug path, display name and parent's slug path."""

    slug: str
    name: str
    parent: str | None
    depth: int
    path: SectionPath


def tree_nodes(root_name: str, taxonomies: Mapping[str, Section]) -> list[Node]:
    """Every wanted collection, parents before children (sorted by depth)."""
    nodes: dict[str, Node] = {ROOT: Node(ROOT, root_name, None, 0, ())}

    def visit(section: Section, parent_slug: str, depth: int) -> None:
        slug = f"{parent_slug}/{section.slug}" if parent_slug else section.slug
        if slug not in nodes:
            nodes[slug] = Node(slug, section.name, parent_slug, depth, section.path)
        for child in section.children:
            visit(child, slug, depth + 1)

    for name in sorted(taxonomies):
        root = taxonomies[name]
        if not root.path:  # a list without its own root section hangs its tree off ours
            for child in root.children:
                visit(child, ROOT, 1)
        else:
            visit(root, ROOT, 1)
    return sorted(nodes.values(), key=lambda n: n.depth)


def _parent_of(data: Mapping[str, Any]) -> str | None:
    p = data.get("parentCollection")
    return str(p) if p else None


def plan_level(
    nodes: Iterable[Node],
    mapping: dict[str, str],
    collections: Mapping[str, Mapping[str, Any]],
    known: Mapping[str, str],
    claimed: set[str],
) -> list[WriteOp]:
    """Resolve one tree level into ``mapping`` and return the writes it needs.

    ``collections`` is the library's current collections (key → data, trashed included).
    Creates get a client-made key (``version: 0``) which is put into ``mapping`` at once, so
    children can name it as their parent before the create's answer arrives.
    """
    ops: list[WriteOp] = []
    for node in nodes:
        want_parent = mapping.get(node.parent) if node.parent is not None else None
        if node.parent is not None and want_parent is None:
            continue  # the parent could not be made; the caller reports it
        name = node.name[:MAX_NAME]
        found = None
        k = known.get(node.slug)
        if k and k in collections and k not in claimed:
            found = collections[k]
        else:
            candidates = [
                c
                for c in collections.values()
                if not c.get("deleted")
                and str(c["key"]) not in claimed
                and _parent_of(c) == want_parent
                and (c.get("name") == name or slugify(str(c.get("name", ""))) == slugify(name))
            ]
            candidates.sort(key=lambda c: (c.get("name") != name, str(c["key"])))
            found = candidates[0] if candidates else None
        if found is None:
            key = new_key(set(collections) | claimed)
            obj: dict[str, Any] = {
                "key": key,
                "version": 0,
                "name": name,
                "parentCollection": want_parent or False,
            }
            ops.append(WriteOp(obj=obj, label=name))
        else:
            key = str(found["key"])
            fix: dict[str, Any] = {}
            if found.get("name") != name:
                fix["name"] = name
            # Our root may live wherever the user put it; the nodes below mirror the list.
            if node.parent is not None and _parent_of(found) != want_parent:
                fix["parentCollection"] = want_parent
            if found.get("deleted"):
                fix["deleted"] = False
            if fix:
                ops.append(
                    WriteOp(
                        obj={"key": key, "version": found.get("version"), **fix},
                        label=name,
                        force=True,
                    )
                )
        mapping[node.slug] = key
        claimed.add(key)
    return ops


def section_paths(
    mapping: Mapping[str, str],
    nodes: Mapping[str, Node],
    collections: Mapping[str, Mapping[str, Any]],
) -> dict[str, SectionPath]:
    """Collection key → section path, for every mapped node except the root.

    Nodes of the current taxonomy use their section's path. Mapped collections the taxonomy
    no longer has (a section the list dropped, still holding items) get the names along
    their parent chain up to our root, so memberships there still read as sections.
    """
    out: dict[str, SectionPath] = {}
    root_key = mapping.get(ROOT)
    for slug, key in mapping.items():
        if slug == ROOT:
            continue
        node = nodes.get(slug)
        if node is not None and node.path:
            out[key] = node.path
            continue
        names: list[str] = []
        cur: str | None = key
        seen: set[str] = set()
        while cur and cur != root_key and cur in collections and cur not in seen:
            seen.add(cur)
            names.append(str(collections[cur].get("name", "")))
            cur = _parent_of(collections[cur])
        if cur == root_key and names:
            out[key] = tuple(reversed(names))
    return out
