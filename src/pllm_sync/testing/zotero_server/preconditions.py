"""Shared write helpers: object keys in JSON, the per-object and single-object version
preconditions (DS ``Zotero_API::checkJSONObjectVersion`` and
``ApiController::checkSingleObjectWriteVersion``), and tree lookups."""

from __future__ import annotations

from .model import (
    LABELS,
    ApiError,
    Json,
    Library,
    Record,
    VersionClock,
    object_version_prop,
    parse_version,
    unwrap,
)
from .validation import ObjectError, Schema, is_valid_key


class RulesBase:
    """What the item, collection and search rules share."""

    schema: Schema

    def is_regular(self, data: Json) -> bool:
        return data.get("itemType") not in ("note", "attachment", "annotation")

    def children_of(self, lib: Library, key: str) -> list[Record]:
        return [r for r in lib.items.values() if r.data.get("parentItem") == key]

    def subcollections_of(self, lib: Library, key: str) -> list[Record]:
        return [r for r in lib.collections.values() if r.data.get("parentCollection") == key]

    def descendants_of(self, lib: Library, key: str) -> list[str]:
        out: list[str] = []
        stack = [key]
        while stack:
            current = stack.pop()
            for sub in self.subcollections_of(lib, current):
                out.append(sub.key)
                stack.append(sub.key)
        return out

    def _object_key(self, body: Json, url_key: str | None, kind: str) -> str | None:
        key = body.get("key")
        if key is not None and not isinstance(key, str):
            raise ObjectError(400, "'key' must be a string")
        if url_key is not None:
            if key is not None and key != url_key:
                singular = LABELS[kind].lower()
                raise ObjectError(
                    409, f"'key' property in JSON does not match {singular} key of request"
                )
            return url_key
        if key is not None and not is_valid_key(key):
            raise ObjectError(400, f"'{key}' is not a valid {LABELS[kind].lower()} key")
        return key

    def _check_object_version(
        self,
        kind: str,
        existing: Record | None,
        key: str | None,
        body: Json,
        header_checked: bool,
        clock: VersionClock,
    ) -> None:
        """Per-object precondition inside a multi-object POST: the JSON ``version`` acts as a
        per-object If-Unmodified-Since-Version (DS ``Zotero_API::checkJSONObjectVersion``)."""
        label = LABELS[kind]
        version = object_version_prop(body)
        if version is not None and key is None:
            raise ObjectError(400, "'version' is valid only with 'key' property")
        if key is None:
            return
        if version is None:
            if not header_checked:
                raise ObjectError(
                    428,
                    "Either If-Unmodified-Since-Version or object version property must be "
                    "provided for key-based writes",
                )
            return
        if existing is None:
            if version > 0:
                raise ObjectError(
                    404, f"{label} doesn't exist (expected version {version}; use 0 instead)"
                )
            return
        # An object already written earlier in this same request is not "stale".
        if existing.version > version and key not in clock.written:
            raise ObjectError(
                412,
                f"{label} has been modified since specified version "
                f"(expected {version}, found {existing.version})",
            )

    def check_single_write_version(
        self,
        kind: str,
        existing: Record | None,
        method: str,
        header: str | None,
        body: object,
    ) -> None:
        """Single-object precondition (DS ``ApiController::checkSingleObjectWriteVersion``)."""
        label = LABELS[kind]
        header_version: int | None = None
        prop_version: int | None = None
        if method == "DELETE" and header is None:
            raise ApiError(428, "If-Unmodified-Since-Version must be provided for delete requests")
        if header is not None:
            if not header.strip().isdigit():
                raise ApiError(400, f"Invalid If-Unmodified-Since-Version value '{header}'")
            header_version = int(header)
        body = unwrap(body)
        if isinstance(body, dict) and body.get("version") is not None:
            prop_version = parse_version(body["version"])
        if (
            header_version is not None
            and prop_version is not None
            and header_version != prop_version
        ):
            raise ApiError(
                400,
                "If-Unmodified-Since-Version value does not match JSON 'version' property "
                f"({header_version} != {prop_version})",
            )
        version = header_version if header_version is not None else prop_version
        if existing is None:
            if method == "PATCH" and version is None:
                raise ApiError(
                    404,
                    f"{label} not found (to create, use If-Unmodified-Since-Version: 0, "
                    "JSON 'version' 0, or PUT method)",
                )
            if version is not None and version > 0:
                # DS checkSingleObjectWriteVersion: e412 (the batch path's per-object answer
                # is a 404 "doesn't exist ... use 0 instead", see Zotero_API).
                raise ApiError(412, f"{label} not found (expected version {version})")
            return
        if version is None:
            raise ApiError(
                428,
                "Either If-Unmodified-Since-Version or object version property must be provided "
                "for key-based writes",
            )
        if existing.version > version:  # DS: a newer version than the object's is accepted
            raise ApiError(
                412,
                f"{label} has been modified since specified version "
                f"(expected {version}, found {existing.version})",
                library_version=existing.version,
            )
