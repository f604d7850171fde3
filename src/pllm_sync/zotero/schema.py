"""The bundled Zotero schema (v41): which fields and creator types each item type has.

Items pllm-sync builds are checked against it before they are sent, so a mapping bug shows up
as a clear local error instead of a per-object 400 in the middle of an import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

ZOTERO7_MISSING_FIELDS: dict[str, frozenset[str]] = {
    "conferencePaper": frozenset(
        {"eventPlace", "issue", "numberOfVolumes", "seriesNumber", "citationKey", "ISSN"}
    ),
    "journalArticle": frozenset(
        {"publisher", "place", "section", "partNumber", "partTitle", "citationKey", "PMID", "PMCID"}
    ),
    "preprint": frozenset(),
}
"""Fields of schema v41 that Zotero 7.0.0 (schema v31) does not know; we never write them, so
an older desktop shows every field we set (zotero-api.md §4)."""

# Properties every item may carry besides its type's fields.
_ITEM_PROPS = frozenset(
    {
        "key",
        "version",
        "itemType",
        "creators",
        "tags",
        "collections",
        "relations",
        "deleted",
        "dateAdded",
        "dateModified",
        "parentItem",
    }
)
_NOTE_PROPS = frozenset({"note"})
_ATTACHMENT_PROPS = frozenset(
    {"linkMode", "contentType", "charset", "note", "filename", "md5", "mtime", "path"}
)


@dataclass(frozen=True)
class ItemTypeSpec:
    name: str
    fields: frozenset[str]
    creator_types: frozenset[str]


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("pllm_sync").joinpath("data/zotero-schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def item_types() -> dict[str, ItemTypeSpec]:
    out: dict[str, ItemTypeSpec] = {}
    for t in _schema()["itemTypes"]:
        out[t["itemType"]] = ItemTypeSpec(
            name=t["itemType"],
            fields=frozenset(f["field"] for f in t["fields"]),
            creator_types=frozenset(c["creatorType"] for c in t.get("creatorTypes", ())),
        )
    return out


def has_field(item_type: str, field: str) -> bool:
    spec = item_types().get(item_type)
    return spec is not None and field in spec.fields


def validate_item(data: dict[str, Any]) -> list[str]:
    """Problems that would make the Web API reject ``data`` (an item's ``data`` object).

    Checks what the server checks first: a known item type, fields valid for it, creator
    types and shapes, tag shapes, and that children carry no collections.
    """
    problems: list[str] = []
    item_type = data.get("itemType")
    spec = item_types().get(str(item_type)) if item_type else None
    if item_type is not None and spec is None:
        return [f"unknown item type {item_type!r}"]
    allowed = set(_ITEM_PROPS)
    if spec is not None:
        allowed |= spec.fields
    if item_type == "note":
        allowed |= _NOTE_PROPS
    if item_type == "attachment":
        allowed |= _ATTACHMENT_PROPS
    for k in data:
        if k not in allowed:
            problems.append(f"'{k}' is not a valid field for type '{item_type}'")
    for c in data.get("creators", ()) or ():
        ctype = c.get("creatorType")
        if spec is not None and ctype not in spec.creator_types:
            problems.append(f"'{ctype}' is not a valid creator type for type '{item_type}'")
        if "name" in c:
            if not str(c["name"]).strip() or "firstName" in c or "lastName" in c:
                problems.append(f"bad creator {c!r}")
        elif not str(c.get("lastName", "")).strip() and not str(c.get("firstName", "")).strip():
            problems.append(f"bad creator {c!r}")
    for t in data.get("tags", ()) or ():
        if (
            not isinstance(t, dict)
            or not str(t.get("tag", "")).strip()
            or set(t) - {"tag", "type"}
            or t.get("type", 0) not in (0, 1)
        ):
            problems.append(f"bad tag {t!r}")
        elif len(t["tag"]) > 255:
            problems.append(f"tag too long: {t['tag'][:40]!r}...")
    if data.get("parentItem") and data.get("collections"):
        problems.append("Child items cannot be assigned to collections")
    return problems
