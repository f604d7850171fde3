"""Item write rules (DS ``Items::updateFromJSON`` / ``validateJSONItem``, ``Item::toJSON``):
schema fields and creators, tags, relations, children, attachments, PATCH vs PUT, dates and
type changes."""

from __future__ import annotations

import copy
import re
from typing import Literal

from .model import (
    ATTACHMENT_PROPS,
    Json,
    Library,
    Record,
    VersionClock,
    WriteResult,
    new_key,
    normalize_access_date,
    normalize_timestamp,
    now_iso,
    truthy_flag,
    unwrap,
)
from .preconditions import RulesBase
from .validation import (
    ATTACHMENT_FILE_PROPS,
    LINK_MODES,
    ObjectError,
    check_creators,
    check_field_value,
    check_note_length,
    check_relations,
    check_tags,
    is_valid_key,
    resolve_field,
)


class ItemRules(RulesBase):
    def write_item(
        self,
        lib: Library,
        body: object,
        *,
        clock: VersionClock,
        mode: Literal["post", "patch", "put"],
        url_key: str | None = None,
        header_checked: bool = False,
        version_validated: bool = False,
        zotero_client: bool = False,
    ) -> WriteResult:
        """Create or update one item from API JSON.

        ``mode`` ``post`` and ``patch`` have PATCH semantics (omitted properties untouched),
        ``put`` replaces the item. Raises :class:`ObjectError` without touching state when
        the object is rejected. ``zotero_client`` (a ``User-Agent`` naming Zotero or Firefox)
        turns on DS's "tmp Zotero client hack": a ``dateModified`` it sends is stored as
        sent, changed or not."""
        body = unwrap(body)
        if not isinstance(body, dict):
            raise ObjectError(400, "Invalid value in uploaded data; expected JSON item object")
        key = self._object_key(body, url_key, "items")
        existing = lib.items.get(key) if key else None
        if not version_validated:
            self._check_object_version("items", existing, key, body, header_checked, clock)
        schema = self.schema

        old = existing.data if existing else None
        partial = mode != "put"
        if (
            partial
            and old is not None
            and old.get("parentItem")
            and "parentItem" not in body
            and body.get("collections")
        ):
            # DS validateJSONItem: "Implicit parentItem: false for PATCH if collections
            # provided" (a child cannot be in collections, so the client means to move it).
            body = {**body, "parentItem": False}
        if old is None and "itemType" not in body:
            raise ObjectError(400, "'itemType' property not provided")
        item_type = body.get("itemType", old["itemType"] if old else None)
        if not isinstance(item_type, str):
            raise ObjectError(400, "'itemType' must be a string")
        if item_type not in schema.types:
            raise ObjectError(400, f"'{item_type}' is not a valid itemType")
        if item_type == "annotation":
            raise ObjectError(400, "Annotation items are not supported by this emulator")
        special = ("note", "attachment")
        if (
            old is not None
            and old["itemType"] != item_type
            and (old["itemType"] in special or item_type in special)
        ):
            raise ObjectError(
                400, f"Cannot change item type from '{old['itemType']}' to '{item_type}'"
            )
        if mode == "put":
            # DS validateJSONItem's required properties for a full (non-partial) write.
            if item_type == "attachment":
                required = ["linkMode", "tags"] if old is None or "linkMode" in body else ["tags"]
            elif old is None:
                required = ["itemType"]
            else:
                required = ["itemType", "tags", "relations"]
                if not body.get("parentItem"):
                    required.append("collections")
            for prop in required:
                if prop not in body:
                    raise ObjectError(400, f"'{prop}' property not provided")

        is_note = item_type == "note"
        is_attachment = item_type == "attachment"
        regular = not (is_note or is_attachment)
        info = schema.type_info(item_type)

        # Start from the stored state (PATCH semantics) or from nothing (PUT / new item).
        fields: dict[str, str] = {}
        creators: list[Json] = []
        tags: list[Json] = []
        collections: list[str] = []
        relations: Json = {}
        parent: str | None = None
        deleted = False
        in_publications = False
        note = ""
        attachment: Json = {}
        if old is not None and partial:
            fields = self._carry_fields(old, item_type)
            creators = [dict(c) for c in old.get("creators", [])]
            if regular and creators:
                creators = [
                    c
                    if c["creatorType"] in info.creator_types
                    else {**c, "creatorType": info.primary_creator or "author"}
                    for c in creators
                ]
            tags = [dict(t) for t in old.get("tags", [])]
            collections = list(old.get("collections", []))
            relations = copy.deepcopy(old.get("relations", {}))
            parent = old.get("parentItem")
            deleted = bool(old.get("deleted"))
            in_publications = bool(old.get("inPublications"))
            note = old.get("note", "")
            attachment = {p: old[p] for p in ATTACHMENT_PROPS if p in old}
        elif old is not None and is_attachment:
            # PUT keeps what is not part of the editable JSON.
            attachment = {p: old[p] for p in ("linkMode",) if p in old}

        for prop, value in body.items():
            if prop in ("key", "version", "itemType", "dateAdded", "dateModified"):
                continue
            if prop == "creators":
                if not regular:
                    if value:
                        raise ObjectError(
                            400, f"'creators' is not a valid property for {item_type} items"
                        )
                    continue
                creators = check_creators(schema, item_type, value, is_new=old is None)
            elif prop == "tags":
                tags = check_tags(value)
            elif prop == "collections":
                if not isinstance(value, list):
                    raise ObjectError(400, "'collections' property must be an array")
                for ckey in value:
                    if not is_valid_key(ckey):
                        raise ObjectError(400, f"'{ckey}' is not a valid collection key")
                collections = list(dict.fromkeys(value))
            elif prop == "relations":
                relations = check_relations(value, for_collection=False)
            elif prop == "parentItem":
                parent = self._check_parent(lib, value, body.get("key"), regular)
            elif prop == "deleted":
                deleted = truthy_flag("deleted", value)
            elif prop == "inPublications":
                in_publications = truthy_flag("inPublications", value)
            elif prop == "note":
                if regular:
                    raise ObjectError(
                        400, "'note' property is valid only for note and attachment items"
                    )
                if not isinstance(value, str):
                    raise ObjectError(400, "'note' must be a string")
                check_note_length(value)
                note = value
            elif prop in ATTACHMENT_PROPS:
                if not is_attachment:
                    raise ObjectError(400, f"'{prop}' is valid only for attachment items")
                if prop == "linkMode" and value not in LINK_MODES:
                    raise ObjectError(400, f"'{value}' is not a valid linkMode")
                mode_now = str(body.get("linkMode") or attachment.get("linkMode") or "")
                if prop in ATTACHMENT_FILE_PROPS and not (
                    mode_now.startswith("imported_") or mode_now == "embedded_image"
                ):
                    # DS validateJSONItem: checked whenever the property is present.
                    raise ObjectError(
                        400, f"'{prop}' is valid only for imported and embedded-image attachments"
                    )
                if prop == "path" and mode_now != "linked_file":
                    raise ObjectError(
                        400, f"'{prop}' is valid only for linked file attachment items"
                    )
                if prop in ("md5", "mtime") and value is None and old is not None:
                    continue  # "should ignore null for existing storage properties"
                if prop == "filename" and isinstance(value, str) and _has_directory(value):
                    raise ObjectError(
                        400, f"Stored-file filename '{value}' cannot contain a directory path"
                    )
                attachment[prop] = value
            elif prop in schema.all_fields:
                if not regular and prop not in info.fields:
                    raise ObjectError(400, f"'{prop}' is not a valid field for type '{item_type}'")
                name = resolve_field(schema, item_type, prop)
                fields[name] = check_field_value(name, value)
                if name == "accessDate":
                    fields[name] = normalize_access_date(fields[name])
            else:
                raise ObjectError(400, f"Invalid property '{prop}'")

        if parent and regular:
            raise ObjectError(400, "Child item must be note, attachment, or annotation")
        if parent:
            if "collections" in body and collections:
                raise ObjectError(400, "Child items cannot be assigned to collections")
            collections = []
        elif "collections" in body:
            for ckey in collections:
                if ckey not in lib.collections:
                    raise ObjectError(409, f"Collection {ckey} not found", {"collection": ckey})
        if is_attachment:
            self._check_attachment(attachment, old, top_level=not parent)

        added = old["dateAdded"] if old else now_iso()
        if "dateAdded" in body and body["dateAdded"] is not None:
            stamp = normalize_timestamp("dateAdded", body["dateAdded"])
            if old is not None and stamp != old["dateAdded"]:
                raise ObjectError(400, "'dateAdded' cannot be modified for existing items")
            added = stamp
        explicit_modified: str | None = None
        if "dateModified" in body and body["dateModified"] is not None:
            explicit_modified = normalize_timestamp("dateModified", body["dateModified"])

        final_key = key or new_key(lib.items)
        data = self.build_item_data(
            key=final_key,
            version=old["version"] if old else 0,
            item_type=item_type,
            parent=parent,
            fields=fields,
            creators=creators,
            note=note,
            attachment=attachment,
            deleted=deleted,
            in_publications=in_publications,
            tags=tags,
            collections=collections,
            relations=relations,
            date_added=added,
            date_modified=old["dateModified"] if old else added,
        )
        if old is not None:
            same = _without(data, "version", "dateModified") == _without(
                old, "version", "dateModified"
            )
            if same and (explicit_modified is None or explicit_modified == old["dateModified"]):
                clock.touch_unchanged()
                return WriteResult(final_key, False)
        version = clock.next()
        data["version"] = version
        if explicit_modified is not None and (
            zotero_client or old is None or explicit_modified != old["dateModified"]
        ):
            data["dateModified"] = explicit_modified
        elif old is not None and _changed_beyond(
            data, old, ("collections", "relations", "inPublications")
        ):
            # DS updateFromJSON skips the Date Modified update when only collections,
            # relations or inPublications changed (test "should handle dateModified
            # collection change").
            data["dateModified"] = now_iso()
        lib.put("items", Record(data, data["dateAdded"], data["dateModified"]))
        clock.written.add(final_key)
        return WriteResult(final_key, True, created=old is None)

    def build_item_data(
        self,
        *,
        key: str,
        version: int,
        item_type: str,
        parent: str | None,
        fields: dict[str, str],
        creators: list[Json],
        note: str,
        attachment: Json,
        deleted: bool,
        in_publications: bool,
        tags: list[Json],
        collections: list[str],
        relations: Json,
        date_added: str,
        date_modified: str,
    ) -> Json:
        """The item's ``data`` in the dataserver's order (``Item::toJSON``): key, version,
        parentItem, itemType, linkMode, title, creators, the other fields of the type (``""``
        when empty), note, attachment properties, deleted, tags, collections (top-level
        only), relations, dateAdded, dateModified."""
        schema = self.schema
        info = schema.type_info(item_type)
        regular = item_type not in ("note", "attachment")
        data: Json = {"key": key, "version": version}
        if parent:
            data["parentItem"] = parent
        data["itemType"] = item_type
        if item_type == "attachment":
            data["linkMode"] = attachment.get("linkMode", "")
        title = schema.title_field(item_type) if regular else None
        if title is not None:
            data[title] = fields.get(title, "")
        if regular:
            data["creators"] = creators
        for name in info.fields:
            if name != title:
                data[name] = fields.get(name, "")
        if not regular:
            data["note"] = note
        if item_type == "attachment":
            data["contentType"] = attachment.get("contentType") or ""
            data["charset"] = attachment.get("charset") or ""
            mode = data["linkMode"]
            if mode in ("imported_file", "imported_url", "embedded_image"):
                data["filename"] = attachment.get("filename") or ""
                data["md5"] = attachment.get("md5") or None
                data["mtime"] = attachment.get("mtime") or None
            elif mode == "linked_file":
                data["path"] = attachment.get("path") or ""
        if deleted:
            data["deleted"] = 1
        if in_publications and regular:
            data["inPublications"] = True
        data["tags"] = tags
        if not parent:
            data["collections"] = collections
        data["relations"] = relations
        data["dateAdded"] = date_added
        data["dateModified"] = date_modified
        return data

    def _carry_fields(self, old: Json, item_type: str) -> dict[str, str]:
        """The stored field values, mapped onto ``item_type`` when the type changes (base
        fields move, e.g. publicationTitle <-> proceedingsTitle; fields the new type lacks
        are dropped, as Zotero does)."""
        schema = self.schema
        old_type = old["itemType"]
        old_info = schema.type_info(old_type)
        new_info = schema.type_info(item_type)
        base_of_old = {v: k for k, v in old_info.base_of.items()}
        out: dict[str, str] = {}
        for name in old_info.fields:
            value = old.get(name, "")
            if value == "":
                continue
            if old_type == item_type or name in new_info.fields:
                out[name] = value
                continue
            base = base_of_old.get(name, name)
            if base in new_info.base_of:
                out[new_info.base_of[base]] = value
            elif base in new_info.fields:
                out[base] = value
        return out

    def _check_parent(self, lib: Library, value: object, key: object, regular: bool) -> str | None:
        if value in (None, False, ""):
            return None
        if not isinstance(value, str) or not is_valid_key(value):
            raise ObjectError(400, "'parentItem' must be a valid item key or false")
        if value == key:
            raise ObjectError(
                400,
                f"Item {value} cannot be a child of itself\n\nCheck your database integrity "
                "from the Advanced → Files and Folders pane of the Zotero preferences.",
            )
        if regular:
            raise ObjectError(400, "Child item must be note, attachment, or annotation")
        parent = lib.items.get(value)
        if parent is None:
            # Also when the parent failed earlier in the same batch: it was never saved.
            raise ObjectError(409, f"Parent item {value} not found", {"parentItem": value})
        if not self.is_regular(parent.data):
            raise ObjectError(
                409, "Parent item cannot be a note or attachment", {"parentItem": value}
            )
        return value

    def _check_attachment(self, attachment: Json, old: Json | None, *, top_level: bool) -> None:
        mode = attachment.get("linkMode")
        if old is not None and old.get("linkMode") and mode != old.get("linkMode"):
            raise ObjectError(400, "Cannot change attachment linkMode")
        if not mode:
            raise ObjectError(400, "'linkMode' property not provided")
        if mode not in LINK_MODES:
            raise ObjectError(400, f"'{mode}' is not a valid linkMode")
        for prop in ("contentType", "charset", "filename", "path", "md5"):
            val = attachment.get(prop)
            if val is not None and not isinstance(val, str):
                raise ObjectError(400, f"'{prop}' must be a string")
        md5 = attachment.get("md5")
        if md5 and not re.match(r"^[a-f0-9]{32}$", str(md5)):
            raise ObjectError(400, f"'{md5}' is not a valid MD5 hash")
        mtime = attachment.get("mtime")
        if mtime not in (None, "") and (isinstance(mtime, bool) or not isinstance(mtime, int)):
            raise ObjectError(400, "'mtime' must be an integer")
        if top_level and mode == "embedded_image":
            raise ObjectError(400, "Embedded-image attachment must have a parent item")


def _has_directory(filename: str) -> bool:
    """DS ``Item`` attachmentFilename: a forward slash, or a drive-letter or UNC prefix (a
    bare backslash is a legal filename character)."""
    return (
        "/" in filename
        or bool(re.match(r"^[a-zA-Z]:[\\/]", filename))
        or filename.startswith("\\\\")
    )


def _changed_beyond(new: Json, old: Json, ignored: tuple[str, ...]) -> bool:
    """True when ``new`` differs from ``old`` in more than ``ignored`` (and the version and
    Date Modified themselves)."""
    skip = ("version", "dateModified", *ignored)
    return _without(new, *skip) != _without(old, *skip)


def _without(data: Json, *names: str) -> Json:
    return {k: v for k, v in data.items() if k not in names}
