"""Obsidian property types for every frontmatter key pllm-sync writes.

Obsidian gives a property name one type across the whole vault and keeps the assignment in
``.obsidian/types.json``. Declaring ours up front means the properties panel shows a list as a
list and a date as a date from the first note on. A user may already have typed a key
differently (a ``year`` they keep as text); their choice wins: merging only adds keys that are
missing and never changes or removes an existing one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import VaultError

PROPERTY_TYPES: dict[str, str] = {
    "pllm-sync-id": "text",
    "title": "text",
    "aliases": "aliases",
    "authors": "multitext",
    "year": "number",
    "venue": "text",
    "method": "text",
    "arxiv": "text",
    "doi": "text",
    "citekey": "text",
    "url": "text",
    "code": "text",
    "zotero": "text",
    "sections": "multitext",
    "tags": "tags",
    "status": "text",
    "rating": "number",
    "added": "date",
    "catalog": "text",
    "sync-conflict": "checkbox",
    "pllm-sync-section": "text",
}
"""Every key pllm-sync writes, with the Obsidian type it needs."""


@dataclass
class TypesMerge:
    """The result of merging our types into a vault's ``types.json``."""

    text: str | None  # the new file content, or None when nothing needs writing
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # keys the user already typed differently


def merge_types(existing: str | None, ours: dict[str, str], where: str) -> TypesMerge:
    """Add our property types to an existing ``types.json`` text, key by key.

    Existing keys keep the user's types; every other top-level entry of the file is kept.
    Raises ``VaultError`` when the file is not valid JSON (it is left alone).
    """
    data: dict[str, Any]
    if existing is None or not existing.strip():
        data = {}
    else:
        try:
            loaded = json.loads(existing)
        except json.JSONDecodeError as exc:
            raise VaultError(
                f"{where}:{exc.lineno}: not valid JSON ({exc.msg}); left unchanged",
                hint="fix or delete the file (Obsidian recreates it), then run again",
            ) from exc
        if not isinstance(loaded, dict) or not isinstance(loaded.get("types", {}), dict):
            raise VaultError(
                f"{where}: expected an object with a 'types' object; left unchanged",
                hint="fix or delete the file (Obsidian recreates it), then run again",
            )
        data = loaded
    types: dict[str, Any] = dict(data.get("types", {}))
    result = TypesMerge(text=None)
    for key, kind in ours.items():
        if key not in types:
            types[key] = kind
            result.added.append(key)
        elif types[key] != kind:
            result.kept.append(key)
    if result.added or existing is None:
        data = {**data, "types": types}
        result.text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return result
