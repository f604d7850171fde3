"""Collection and saved-search write rules (DS ``Collections::updateFromJSON``,
``Searches``): names, parents and the descendant rule, relations, trash."""

from __future__ import annotations

import copy
from typing import Literal

from .model import (
    Json,
    Library,
    Record,
    VersionClock,
    WriteResult,
    new_key,
    now_iso,
    truthy_flag,
    unwrap,
)
from .preconditions import RulesBase
from .validation import (
    MAX_NAME_LENGTH,
    ObjectError,
    check_collection_name,
    check_relations,
    is_valid_key,
)


class CollectionRules(RulesBase):
    # ============================================================= collections
    def write_collection(
        self,
        lib: Library,
        body: object,
        *,
        clock: VersionClock,
        mode: Literal["post", "patch", "put"],
        url_key: str | None = None,
        header_checked: bool = False,
        version_validated: bool = False,
    ) -> WriteResult:
        body = unwrap(body)
        if not isinstance(body, dict):
            raise ObjectError(
                400, "Invalid value in uploaded data; expected JSON collection object"
            )
        key = self._object_key(body, url_key, "collections")
        existing = lib.collections.get(key) if key else None
        if not version_validated:
            self._check_object_version("collections", existing, key, body, header_checked, clock)
        old = existing.data if existing else None
        partial = mode != "put"
        for prop in body:
            if prop not in ("key", "version", "name", "parentCollection", "relations", "deleted"):
                raise ObjectError(400, f"Invalid property '{prop}'")
        if (old is None or not partial) and "name" not in body:
            raise ObjectError(400, "'name' property not provided")
        name = old["name"] if old is not None and partial else ""
        parent: str | bool = old["parentCollection"] if old is not None and partial else False
        relations: Json = copy.deepcopy(old["relations"]) if old is not None and partial else {}
        deleted = bool(old.get("deleted")) if old is not None and partial else False
        if "name" in body:
            name = check_collection_name(body["name"])
        if "parentCollection" in body:
            value = body["parentCollection"]
            if value in (None, False, "", 0):
                parent = False
            elif not isinstance(value, str) or not is_valid_key(value):
                raise ObjectError(
                    400, f"'parentCollection' must be a valid collection key ('{value}' given)"
                )
            elif value == key:
                raise ObjectError(400, "Collection cannot be a parent of itself")
            elif value not in lib.collections:
                raise ObjectError(
                    409, f"Parent collection {value} not found", {"collection": value}
                )
            else:
                parent = value
        if "relations" in body:
            relations = check_relations(body["relations"], for_collection=True)
        if "deleted" in body:
            deleted = truthy_flag("deleted", body["deleted"])

        final_key = key or new_key(lib.collections)
        data: Json = {
            "key": final_key,
            "version": old["version"] if old else 0,
            "name": name,
            "parentCollection": parent,
            "relations": relations,
        }
        if deleted:
            data["deleted"] = True
        if old is not None and data == old:
            clock.touch_unchanged()
            return WriteResult(final_key, False)
        # Making a collection the child of its own descendant moves that descendant to the
        # top level first (DS test "should move parent collection to root if descendent").
        if isinstance(parent, str) and key and parent in self.descendants_of(lib, key):
            moved = lib.collections[parent]
            moved_data = dict(moved.data)
            moved_data["parentCollection"] = False
            moved_data["version"] = clock.next()
            stamp = now_iso()
            lib.put("collections", Record(moved_data, moved.added, stamp))
        data["version"] = clock.next()
        stamp = now_iso()
        lib.put("collections", Record(data, existing.added if existing else stamp, stamp))
        clock.written.add(final_key)
        return WriteResult(final_key, True, created=old is None)

    # ================================================================ searches
    def write_search(
        self,
        lib: Library,
        body: object,
        *,
        clock: VersionClock,
        mode: Literal["post", "patch", "put"],
        url_key: str | None = None,
        header_checked: bool = False,
        version_validated: bool = False,
    ) -> WriteResult:
        body = unwrap(body)
        if not isinstance(body, dict):
            raise ObjectError(400, "Invalid value in uploaded data; expected JSON search object")
        key = self._object_key(body, url_key, "searches")
        existing = lib.searches.get(key) if key else None
        if not version_validated:
            self._check_object_version("searches", existing, key, body, header_checked, clock)
        old = existing.data if existing else None
        partial = mode != "put"
        for prop in body:
            if prop not in ("key", "version", "name", "conditions", "deleted"):
                raise ObjectError(400, f"Invalid property '{prop}'")
        for prop in ("name", "conditions"):
            if (old is None or not partial) and prop not in body:
                raise ObjectError(400, f"'{prop}' property not provided")
        name = old["name"] if old is not None and partial else ""
        conditions: list[Json] = (
            copy.deepcopy(old["conditions"]) if old is not None and partial else []
        )
        deleted = bool(old.get("deleted")) if old is not None and partial else False
        if "name" in body:
            value = body["name"]
            if not isinstance(value, str) or value.strip() == "":
                raise ObjectError(400, "Search name cannot be empty")
            if len(value) > MAX_NAME_LENGTH:
                raise ObjectError(
                    413,
                    f"Search name '{value[:50]}…' too long",
                    {"field": "name", "value": value[:50]},
                )
            name = value
        if "conditions" in body:
            conditions = _check_conditions(body["conditions"])
        if "deleted" in body:
            deleted = truthy_flag("deleted", body["deleted"])
        final_key = key or new_key(lib.searches)
        data: Json = {
            "key": final_key,
            "version": old["version"] if old else 0,
            "name": name,
            "conditions": conditions,
        }
        if deleted:
            data["deleted"] = True
        if old is not None and data == old:
            clock.touch_unchanged()
            return WriteResult(final_key, False)
        data["version"] = clock.next()
        stamp = now_iso()
        lib.put("searches", Record(data, existing.added if existing else stamp, stamp))
        clock.written.add(final_key)
        return WriteResult(final_key, True, created=old is None)


def _check_conditions(value: object) -> list[Json]:
    if not isinstance(value, list) or not value:
        raise ObjectError(400, "'conditions' cannot be empty")
    out: list[Json] = []
    for cond in value:
        if not isinstance(cond, dict):
            raise ObjectError(400, "Search condition must be an object")
        for prop in ("condition", "operator"):
            if prop not in cond:
                raise ObjectError(400, f"'{prop}' property not provided for search condition")
            if not isinstance(cond[prop], str) or cond[prop] == "":
                raise ObjectError(400, f"Search condition '{prop}' cannot be empty")
        for prop in cond:
            if prop not in ("condition", "operator", "value"):
                raise ObjectError(400, f"Invalid property '{prop}' for search condition")
        val = cond.get("value", "")
        out.append(
            {"condition": cond["condition"], "operator": cond["operator"], "value": str(val)}
        )
    return out
