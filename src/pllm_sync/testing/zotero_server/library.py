"""The emulator's data model and the write rules of api.zotero.org.

Everything here runs under :attr:`EmulatorState.lock` (one lock around all library state, so the
threaded HTTP server never interleaves two writes). Objects are stored in the exact shape the
API returns as ``data`` (fields in schema order, ``""`` for empty fields), so reads are cheap and
a stored object can be compared with a response byte for byte.

The rules and messages follow the dataserver (``controllers/ApiController.php``,
``model/DataObjects.inc.php``, ``model/Item.inc.php``) and its API tests
(``tests/remote/tests/3/version.test.js``); where the docs disagree with the code, the code
wins, because that is what clients meet in production.
"""

from __future__ import annotations

import copy
import re
import secrets
import threading
import time
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .validation import (
    ATTACHMENT_FILE_PROPS,
    LINK_MODES,
    MAX_NAME_LENGTH,
    ObjectError,
    Schema,
    check_collection_name,
    check_creators,
    check_field_value,
    check_relations,
    check_tags,
    is_valid_key,
    load_schema,
    resolve_field,
)

Json = dict[str, Any]
Kind = Literal["items", "collections", "searches"]

KINDS: tuple[Kind, ...] = ("items", "collections", "searches")
DELETE_LOG_KINDS = ("collections", "items", "searches", "tags", "settings")
KEY_ALPHABET = "23456789ABCDEFGHIJKLMNPQRSTUVWXYZ"
WRITE_TOKEN_TTL = 12 * 3600.0

FULL_ACCESS: Json = {
    "user": {"library": True, "files": True, "notes": True, "write": True},
    "groups": {"all": {"library": True, "write": True}},
}
READ_ONLY_ACCESS: Json = {
    "user": {"library": True, "files": True, "notes": True, "write": False},
    "groups": {"all": {"library": True, "write": False}},
}

LABELS = {"items": "Item", "collections": "Collection", "searches": "Search"}
ITEM_ONLY_PROPS = ("creators", "parentItem", "note", "deleted", "inPublications")
ATTACHMENT_PROPS = ("linkMode", "contentType", "charset", "path", *ATTACHMENT_FILE_PROPS)
_SQL_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]00:?00)?$"
)


class ApiError(Exception):
    """A whole-request failure: HTTP status plus the server's plain-text message.

    ``library_version`` is set only where the real server sends Last-Modified-Version on an
    error (412s)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        library_version: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.library_version = library_version
        self.headers = headers or {}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_timestamp(name: str, value: object) -> str:
    """Accept ISO 8601 (``Z`` or ``+00:00``) and SQL ``YYYY-MM-DD hh:mm:ss`` (UTC), return the
    API's ``YYYY-MM-DDThh:mm:ssZ``."""
    if not isinstance(value, str):
        raise ObjectError(400, f"'{name}' must be a string")
    if value.strip() == "CURRENT_TIMESTAMP":
        return now_iso()
    match = _SQL_DATE_RE.match(value.strip())
    if not match:
        raise ObjectError(
            400,
            f"'{name}' must be in ISO 8601 or UTC 'YYYY-MM-DD[ hh:mm:ss]' format or "
            f"'CURRENT_TIMESTAMP' ({value})",
        )
    y, mo, d, h, mi, s = match.groups()[:6]
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}Z"


def parse_version(value: object, what: str = "JSON 'version' property") -> int:
    if isinstance(value, bool):
        raise ApiError(400, f"Invalid {what} value '{value}'")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ApiError(400, f"Invalid {what} value '{value}'")


def object_version_prop(body: Json) -> int | None:
    if "version" not in body or body["version"] is None:
        return None
    try:
        return parse_version(body["version"])
    except ApiError:
        raise ObjectError(400, "'version' must be an integer") from None


def unwrap(body: object) -> object:
    """A full response object (``key``, ``version``, ``library``, ``links``, ``meta``,
    ``data``) may be sent as a write body: the server uses its ``data``."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return body["data"]
    return body


def truthy_flag(name: str, value: object) -> bool:
    if value in (True, 1, "1", "true"):
        return True
    if value in (False, 0, "0", "false", None, ""):
        return False
    raise ObjectError(400, f"Invalid '{name}' value '{value}'")


@dataclass
class Record:
    """One stored object: ``data`` exactly as the API returns it, plus the server-side
    timestamps collections and searches keep outside their ``data``."""

    data: Json
    added: str
    modified: str

    @property
    def key(self) -> str:
        return str(self.data["key"])

    @property
    def version(self) -> int:
        return int(self.data["version"])

    def to_row(self) -> Json:
        return {"data": self.data, "added": self.added, "modified": self.modified}

    @classmethod
    def from_row(cls, row: Json) -> Record:
        return cls(data=row["data"], added=row["added"], modified=row["modified"])


@dataclass
class User:
    user_id: int
    username: str
    display_name: str


@dataclass
class ApiKey:
    key: str
    user_id: int
    access: Json


@dataclass
class Library:
    """A user library: its version, objects, and delete log (kind -> key -> version)."""

    user_id: int
    version: int = 0
    objects: dict[str, dict[str, Record]] = field(
        default_factory=lambda: {kind: {} for kind in KINDS}
    )
    delete_log: dict[str, dict[str, int]] = field(
        default_factory=lambda: {kind: {} for kind in DELETE_LOG_KINDS}
    )
    dirty: set[tuple[str, str]] = field(default_factory=set, repr=False)
    dirty_log: set[tuple[str, str]] = field(default_factory=set, repr=False)
    dirty_meta: bool = field(default=False, repr=False)

    @property
    def items(self) -> dict[str, Record]:
        return self.objects["items"]

    @property
    def collections(self) -> dict[str, Record]:
        return self.objects["collections"]

    @property
    def searches(self) -> dict[str, Record]:
        return self.objects["searches"]

    def put(self, kind: str, record: Record) -> None:
        self.objects[kind][record.key] = record
        self.dirty.add((kind, record.key))
        if record.key in self.delete_log[kind]:
            # Re-creating a deleted key takes it out of the delete log, as the server does.
            del self.delete_log[kind][record.key]
            self.dirty_log.add((kind, record.key))

    def remove(self, kind: str, key: str, *, log_version: int | None) -> None:
        self.objects[kind].pop(key, None)
        self.dirty.add((kind, key))
        if log_version is not None:
            self.delete_log[kind][key] = log_version
            self.dirty_log.add((kind, key))

    def bump(self) -> int:
        self.version += 1
        self.dirty_meta = True
        return self.version


class VersionClock:
    """Hands out the versions of one write request.

    Per-object mode (the dataserver since 2026-03, commit c97d2cf): each object of a batch
    that is not rejected bumps the library version once, unchanged ones included, so a batch
    gets V+1, V+2, ...; legacy mode: one new version for the whole request, taken only if
    something changed."""

    def __init__(self, library: Library, per_object: bool, *, batch: bool = False) -> None:
        self.library = library
        self.per_object = per_object
        self.batch = batch
        self.request_version: int | None = None
        self.written: set[str] = set()  # keys changed by this request

    def next(self) -> int:
        if self.per_object:
            return self.library.bump()
        if self.request_version is None:
            self.request_version = self.library.bump()
        return self.request_version

    def touch_unchanged(self) -> None:
        """An unchanged object of a multi-object POST still takes its version slot; a no-op
        single-object write bumps nothing (DS returns the original library version)."""
        if self.per_object and self.batch:
            self.library.bump()


@dataclass
class WriteResult:
    key: str
    changed: bool
    created: bool = False


class Report:
    """The multi-object write report (DS ``model/Results.inc.php``)."""

    def __init__(self) -> None:
        self.successful: dict[str, Json] = {}
        self.success: dict[str, str] = {}
        self.unchanged: dict[str, str] = {}
        self.failed: dict[str, Json] = {}

    def to_json(self) -> Json:
        return {
            "successful": self.successful,
            "success": self.success,
            "unchanged": self.unchanged,
            "failed": self.failed,
        }


def new_key(existing: Container[str]) -> str:
    while True:
        key = "".join(secrets.choice(KEY_ALPHABET) for _ in range(8))
        if key not in existing:
            return key


def new_api_key() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(24))


class EmulatorState:
    """Users, API keys, libraries and write tokens, with the rules that change them."""

    def __init__(self, *, per_object_versions: bool = True, schema: Schema | None = None) -> None:
        self.lock = threading.RLock()
        self.schema = schema or load_schema()
        self.per_object_versions = per_object_versions
        self.users: dict[int, User] = {}
        self.keys: dict[str, ApiKey] = {}
        self.libraries: dict[int, Library] = {}
        self.write_tokens: dict[str, float] = {}  # "<apikey>\0<token>" -> expiry
        self.dirty_accounts = False
        self.dirty_tokens = False
        self.reset_pending = False

    # ----------------------------------------------------------------- accounts
    def reset(self) -> None:
        self.users.clear()
        self.keys.clear()
        self.libraries.clear()
        self.write_tokens.clear()
        self.reset_pending = True
        self.dirty_accounts = True
        self.dirty_tokens = True

    def put_user(self, user_id: int, username: str, display_name: str | None = None) -> User:
        user = self.users.get(user_id)
        if user is None:
            user = User(user_id, username, display_name or username)
            self.users[user_id] = user
        else:
            user.username = username
            user.display_name = display_name or username
        self.library(user_id)
        self.dirty_accounts = True
        return user

    def put_key(self, key: str, user_id: int, access: Json) -> ApiKey:
        api_key = ApiKey(key, user_id, copy.deepcopy(access))
        self.keys[key] = api_key
        self.dirty_accounts = True
        return api_key

    def library(self, user_id: int) -> Library:
        lib = self.libraries.get(user_id)
        if lib is None:
            lib = Library(user_id)
            lib.dirty_meta = True
            self.libraries[user_id] = lib
        return lib

    def clear_library(self, user_id: int) -> None:
        """Admin "clear": every object and the delete log go, the version only grows."""
        lib = self.library(user_id)
        for kind in KINDS:
            for key in list(lib.objects[kind]):
                lib.remove(kind, key, log_version=None)
        for log_kind in DELETE_LOG_KINDS:
            for key in list(lib.delete_log[log_kind]):
                lib.dirty_log.add((log_kind, key))
            lib.delete_log[log_kind].clear()
        lib.bump()

    # ------------------------------------------------------------ write tokens
    def token_used(self, api_key: str, token: str) -> bool:
        expiry = self.write_tokens.get(f"{api_key}\0{token}")
        return expiry is not None and expiry > time.time()

    def remember_token(self, api_key: str, token: str) -> None:
        now = time.time()
        for name, expiry in list(self.write_tokens.items()):
            if expiry <= now:
                del self.write_tokens[name]
        self.write_tokens[f"{api_key}\0{token}"] = now + WRITE_TOKEN_TTL
        self.dirty_tokens = True

    # ------------------------------------------------------------------ helpers
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

    # =================================================================== items
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
    ) -> WriteResult:
        """Create or update one item from API JSON.

        ``mode`` ``post`` and ``patch`` have PATCH semantics (omitted properties untouched),
        ``put`` replaces the item. Raises :class:`ObjectError` without touching state when
        the object is rejected."""
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
                parent = self._check_parent(lib, value, key, regular)
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
                note = value
            elif prop in ATTACHMENT_PROPS:
                if not is_attachment:
                    raise ObjectError(400, f"'{prop}' is valid only for attachment items")
                if prop == "linkMode" and value not in LINK_MODES:
                    raise ObjectError(400, f"'{value}' is not a valid linkMode")
                attachment[prop] = value
            elif prop in schema.all_fields:
                if not regular and prop not in info.fields:
                    raise ObjectError(400, f"'{prop}' is not a valid field for type '{item_type}'")
                name = resolve_field(schema, item_type, prop)
                fields[name] = check_field_value(name, value)
            else:
                raise ObjectError(400, f"Invalid property '{prop}'")

        if parent and regular:
            raise ObjectError(400, "Child item must be note or attachment")
        if parent and parent == key:
            raise ObjectError(400, "Item cannot be its own parent")
        if parent:
            if "collections" in body and collections:
                raise ObjectError(400, "Child items cannot be assigned to collections")
            collections = []
        elif "collections" in body:
            for ckey in collections:
                if ckey not in lib.collections:
                    raise ObjectError(409, f"Collection {ckey} not found")
        if is_attachment:
            self._check_attachment(attachment, old, top_level=not parent)

        added = old["dateAdded"] if old else now_iso()
        if "dateAdded" in body and body["dateAdded"] not in (None, ""):
            stamp = normalize_timestamp("dateAdded", body["dateAdded"])
            if old is not None and stamp != old["dateAdded"]:
                raise ObjectError(400, "'dateAdded' cannot be modified for existing items")
            added = stamp
        explicit_modified: str | None = None
        if "dateModified" in body and body["dateModified"] not in (None, ""):
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
            old is None or explicit_modified != old["dateModified"]
        ):
            data["dateModified"] = explicit_modified
        elif old is not None:
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

    def _check_parent(
        self, lib: Library, value: object, key: str | None, regular: bool
    ) -> str | None:
        if value in (None, False, ""):
            return None
        if not isinstance(value, str) or not is_valid_key(value):
            raise ObjectError(400, "'parentItem' must be a valid item key")
        if regular:
            raise ObjectError(400, "Child item must be note or attachment")
        parent = lib.items.get(value)
        if parent is None:
            raise ObjectError(409, f"Parent item {value} not found")
        if not self.is_regular(parent.data):
            raise ObjectError(409, "Parent item cannot be a note or attachment")
        return value

    def _check_attachment(self, attachment: Json, old: Json | None, *, top_level: bool) -> None:
        mode = attachment.get("linkMode")
        if old is not None and old.get("linkMode") and mode != old.get("linkMode"):
            raise ObjectError(400, "Cannot change attachment linkMode")
        if not mode:
            raise ObjectError(400, "'linkMode' property not provided")
        if mode not in LINK_MODES:
            raise ObjectError(400, f"'{mode}' is not a valid linkMode")
        imported = str(mode).startswith("imported_")
        for prop in ATTACHMENT_FILE_PROPS:
            if attachment.get(prop) not in (None, "") and not imported:
                raise ObjectError(400, f"'{prop}' is valid only for imported attachment items")
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
        # Web attachments other than PDFs cannot be top-level items.
        if top_level and (
            mode == "linked_url"
            or (mode == "imported_url" and attachment.get("contentType") != "application/pdf")
        ):
            raise ObjectError(400, "Only file attachments and PDFs can be top-level items")

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
                raise ObjectError(409, f"Parent collection {value} not found")
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

    # ================================================================== shared
    def write_object(self, kind: str, lib: Library, body: object, **kw: Any) -> WriteResult:
        if kind == "items":
            return self.write_item(lib, body, **kw)
        if kind == "collections":
            return self.write_collection(lib, body, **kw)
        return self.write_search(lib, body, **kw)

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
                raise ApiError(404, f"{label} not found (expected version {version})")
            return
        if version is None:
            raise ApiError(
                428,
                "Either If-Unmodified-Since-Version or object version property must be provided "
                "for key-based writes",
            )
        if existing.version != version:
            raise ApiError(
                412,
                f"{label} has been modified since specified version "
                f"(expected {version}, found {existing.version})",
                library_version=existing.version,
            )

    # ================================================================= deletes
    def delete_objects(self, kind: str, lib: Library, keys: Iterable[str]) -> bool:
        """Permanently delete objects (one new library version for the request). Items take
        their children with them, each logged; collections take their subcollections (only
        the named key is logged, as the FK cascade writes no log rows) and leave their member
        items, which lose the membership without a version bump."""
        targets = [k for k in dict.fromkeys(keys) if k in lib.objects[kind]]
        if not targets:
            return False
        version = lib.bump()
        for key in targets:
            if key not in lib.objects[kind]:
                continue  # already gone with a parent
            if kind == "items":
                self._delete_item(lib, key, version)
            elif kind == "collections":
                self._delete_collection(lib, key, version, log=True)
            else:
                lib.remove("searches", key, log_version=version)
        return True

    def _delete_item(self, lib: Library, key: str, version: int) -> None:
        for child in self.children_of(lib, key):
            self._delete_item(lib, child.key, version)
        lib.remove("items", key, log_version=version)

    def _delete_collection(self, lib: Library, key: str, version: int, *, log: bool) -> None:
        for sub in self.subcollections_of(lib, key):
            self._delete_collection(lib, sub.key, version, log=False)
        lib.remove("collections", key, log_version=version if log else None)
        for record in lib.items.values():
            members = record.data.get("collections")
            if members and key in members:
                # No version bump: DS Item::toResponseJSON "Deleting a collection removes
                # items from it without bumping their versions".
                record.data["collections"] = [k for k in members if k != key]
                lib.dirty.add(("items", record.key))

    # =================================================================== tags
    def delete_tags(self, lib: Library, names: list[str], clock: VersionClock) -> bool:
        wanted = set(names)
        hit = False
        for record in list(lib.items.values()):
            tags = record.data.get("tags", [])
            kept = [t for t in tags if t["tag"] not in wanted]
            if len(kept) != len(tags):
                data = dict(record.data)
                data["tags"] = kept
                data["version"] = clock.next()
                data["dateModified"] = now_iso()
                lib.put("items", Record(data, record.added, data["dateModified"]))
                hit = True
        if hit:
            version = lib.version
            for name in wanted:
                lib.delete_log["tags"][name] = version
                lib.dirty_log.add(("tags", name))
        return hit


def _without(data: Json, *names: str) -> Json:
    return {k: v for k, v in data.items() if k not in names}


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
