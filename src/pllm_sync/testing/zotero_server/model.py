"""The emulator's data model: stored records, users, keys, libraries with their versions and
delete logs, the version clock of a write request, and the write report.

Objects are stored in the exact shape the API returns as ``data`` (fields in schema order,
``""`` for empty fields), so reads are cheap and a stored object can be compared with a
response byte for byte.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .validation import ATTACHMENT_FILE_PROPS, ObjectError

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
ATTACHMENT_PROPS = ("linkMode", "contentType", "charset", "path", *ATTACHMENT_FILE_PROPS)
_SQL_DATETIME_RE = re.compile(
    r"^-?\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"
)
_SQL_DATE_RE = re.compile(r"^-?\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
# PHP's DateTime::ISO8601 format, "Y-m-d\TH:i:sO": a time zone is required ("Z", "+0400",
# "+04:00"); fractions of a second are not accepted.
_ISO8601_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}(?::?\d{2})?)$"
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


def iso8601_to_utc(value: str) -> str | None:
    """DS ``Zotero_Date::isISO8601`` + ``iso8601ToSQL``: an ISO 8601 time with a zone, as
    ``YYYY-MM-DDThh:mm:ssZ`` in UTC, or None when ``value`` is not one."""
    match = _ISO8601_RE.match(value)
    if not match:
        return None
    y, mo, d, h, mi, s, zone = match.groups()
    try:
        stamp = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=UTC)
    except ValueError:
        return None
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        stamp -= sign * timedelta(hours=hours, minutes=minutes)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_timestamp(name: str, value: object) -> str:
    """``dateAdded`` / ``dateModified`` (DS ``validateJSONItem``, ``Item::setField``): ISO
    8601 with a time zone or SQL ``YYYY-MM-DD hh:mm:ss`` (UTC), returned as the API's
    ``YYYY-MM-DDThh:mm:ssZ`` in UTC."""
    text = value if isinstance(value, str) else str(value)
    if _SQL_DATETIME_RE.match(text):
        return text.replace(" ", "T") + "Z"
    utc = iso8601_to_utc(text)
    if utc is None:
        raise ObjectError(
            400, f"'{name}' must be in ISO 8601 or UTC 'YYYY-MM-DD hh:mm:ss' format ({text})"
        )
    return utc


def normalize_access_date(value: str) -> str:
    """``accessDate`` (DS ``validateJSONItem``, ``setField``, ``toJSON``): ``""``,
    ``CURRENT_TIMESTAMP``, SQL date or date-time (UTC) or ISO 8601 with a zone; stored in UTC
    and returned as ``YYYY-MM-DDThh:mm:ssZ`` (a bare date stays ``YYYY-MM-DD``)."""
    if value == "":
        return ""
    if value == "CURRENT_TIMESTAMP":
        return now_iso()
    if _SQL_DATETIME_RE.match(value):
        return value.replace(" ", "T") + "Z"
    if _SQL_DATE_RE.match(value):
        return value
    utc = iso8601_to_utc(value)
    if utc is None:
        raise ObjectError(
            400,
            f"'accessDate' must be in ISO 8601 or UTC 'YYYY-MM-DD[ hh:mm:ss]' format or "
            f"'CURRENT_TIMESTAMP' ({value})",
        )
    return utc


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
    # non-trashed children per parent key, kept until a child is written or removed: a
    # write report renders ``numChildren`` for every updated item, and counting the whole
    # library for each made a mass edit quadratic (20,000 items: minutes in the emulator)
    _child_counts: dict[str, int] | None = field(default=None, repr=False, compare=False)

    @property
    def items(self) -> dict[str, Record]:
        return self.objects["items"]

    def child_counts(self) -> dict[str, int]:
        """Non-trashed children per parent key (read-only: shared until a child changes)."""
        counts = self._child_counts
        if counts is None:
            counts = {}
            for r in self.objects["items"].values():
                parent = r.data.get("parentItem")
                if parent and not r.data.get("deleted"):
                    counts[parent] = counts.get(parent, 0) + 1
            self._child_counts = counts
        return counts

    def _child_written(self, kind: str, *records: Record | None) -> None:
        if kind == "items" and any(r is not None and r.data.get("parentItem") for r in records):
            self._child_counts = None

    @property
    def collections(self) -> dict[str, Record]:
        return self.objects["collections"]

    @property
    def searches(self) -> dict[str, Record]:
        return self.objects["searches"]

    def by_keys(self, kind: str, keys: Iterable[str]) -> list[Record]:
        """The objects of ``kind`` with these keys, each once. Their order does not matter:
        a listing sorts by its field and then the version, which no two objects share."""
        objs = self.objects[kind]
        return [objs[k] for k in dict.fromkeys(keys) if k in objs]

    def put(self, kind: str, record: Record) -> None:
        self._child_written(kind, record, self.objects[kind].get(record.key))
        self.objects[kind][record.key] = record
        self.dirty.add((kind, record.key))
        if record.key in self.delete_log[kind]:
            # Re-creating a deleted key takes it out of the delete log, as the server does.
            del self.delete_log[kind][record.key]
            self.dirty_log.add((kind, record.key))

    def remove(self, kind: str, key: str, *, log_version: int | None) -> None:
        self._child_written(kind, self.objects[kind].pop(key, None))
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
