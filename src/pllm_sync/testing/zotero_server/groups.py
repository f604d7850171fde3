"""Group libraries: ``/groups/<groupID>/...`` served with the server's group permissions.

A group library lives beside the user libraries in :attr:`EmulatorState.libraries` under an
internal id (``GROUP_BASE + groupID``), so every object rule, version and delete log applies
unchanged; only the route, the permission check and the ``library`` block differ. A key's
``access.groups`` grants ``{"library": bool, "write": bool}`` per group id or for ``"all"``,
as ``/keys/current`` reports it. Unknown groups answer 404 like the server.
"""

from __future__ import annotations

from typing import Any

GROUP_BASE = 1 << 40
"""Internal library ids at or above this are groups (user ids stay far below it)."""


def group_library_id(group_id: int) -> int:
    """The internal library id of a group (for the emulator's Python helpers)."""
    return GROUP_BASE + group_id


def is_group(library_id: int) -> bool:
    return library_id >= GROUP_BASE


def group_id_of(library_id: int) -> int:
    return library_id - GROUP_BASE


def group_grant(access: dict[str, Any], library_id: int) -> dict[str, Any]:
    """What a key may do in the group behind ``library_id`` (empty: nothing)."""
    groups = access.get("groups") or {}
    grant = groups.get(str(group_id_of(library_id))) or groups.get("all") or {}
    return grant if isinstance(grant, dict) else {}


def parse_group_id(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < GROUP_BASE else None


def library_block(group_id: int, base_url: str, site_url: str) -> dict[str, Any]:
    return {
        "type": "group",
        "id": group_id,
        "name": f"Group {group_id}",
        "links": {"alternate": {"href": f"{site_url}/groups/{group_id}", "type": "text/html"}},
    }
