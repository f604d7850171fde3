"""Schema-driven checks of item, collection and search JSON, as api.zotero.org applies them.

The real server validates every write against the Zotero schema (the same ``schema.json`` the
API serves at ``/schema``); the emulator loads the copy bundled as package data so that field
names, per-type field lists, creator types and their order are exactly the real ones. Messages
are the dataserver's own (``model/Items.inc.php``, ``Item.inc.php``, ``Collections.inc.php``),
because clients and our tests match on them.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

KEY_RE = re.compile(r"^[23456789ABCDEFGHIJKLMNPQRSTUVWXYZ]{8}$")
"""Object keys: 8 characters from an alphabet without 0, 1 and O (DOCS "Object Keys")."""

ITEM_URI_RE = re.compile(
    r"^http://zotero\.org/(users|groups)/\d+/items/[23456789ABCDEFGHIJKLMNPQRSTUVWXYZ]{8}$"
)
COLLECTION_URI_RE = re.compile(
    r"^http://zotero\.org/(users|groups)/\d+/collections/[23456789ABCDEFGHIJKLMNPQRSTUVWXYZ]{8}$"
)
ITEM_PREDICATES = ("owl:sameAs", "dc:relation", "dc:replaces")
COLLECTION_PREDICATES = ("owl:sameAs",)

LINK_MODES = ("imported_file", "imported_url", "linked_file", "linked_url", "embedded_image")
ATTACHMENT_FILE_PROPS = ("filename", "md5", "mtime")

MAX_FIELD_LENGTH = 65535
MAX_NAME_LENGTH = 255
MAX_TAG_LENGTH = 255
MAX_CREATOR_LENGTH = 255
MAX_BATCH = 50


class ObjectError(Exception):
    """A per-object failure: becomes one ``failed`` entry of a write report (or the status and
    plain-text body of a single-object write)."""

    def __init__(self, code: int, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


@dataclass(frozen=True)
class ItemTypeInfo:
    name: str
    fields: tuple[str, ...]
    base_of: dict[str, str]  # base field -> this type's mapped field
    creator_types: tuple[str, ...]
    primary_creator: str | None


@dataclass
class Schema:
    """The parts of ``schema.json`` the emulator needs, indexed for lookups."""

    version: int
    types: dict[str, ItemTypeInfo]
    all_fields: frozenset[str]
    locale_types: dict[str, str]
    locale_fields: dict[str, str]
    locale_creators: dict[str, str]
    raw: dict[str, Any] = field(repr=False)

    def type_info(self, item_type: str) -> ItemTypeInfo:
        return self.types[item_type]

    def title_field(self, item_type: str) -> str | None:
        info = self.types[item_type]
        for name in info.fields:
            if name == "title" or info.base_of.get("title") == name:
                return name
        return None


@lru_cache(maxsize=1)
def load_schema() -> Schema:
    """Load the bundled schema once per process (it is read-only)."""
    text = resources.files("pllm_sync.data").joinpath("zotero-schema.json").read_text("utf-8")
    raw = json.loads(text)
    types: dict[str, ItemTypeInfo] = {}
    all_fields: set[str] = set()
    for entry in raw["itemTypes"]:
        names = tuple(f["field"] for f in entry["fields"])
        all_fields.update(names)
        base_of = {f["baseField"]: f["field"] for f in entry["fields"] if "baseField" in f}
        all_fields.update(base_of)
        creators = tuple(c["creatorType"] for c in entry["creatorTypes"])
        primary = next((c["creatorType"] for c in entry["creatorTypes"] if c.get("primary")), None)
        types[entry["itemType"]] = ItemTypeInfo(
            entry["itemType"], names, base_of, creators, primary
        )
    loc = raw["locales"]["en-US"]
    return Schema(
        version=int(raw["version"]),
        types=types,
        all_fields=frozenset(all_fields),
        locale_types=dict(loc["itemTypes"]),
        locale_fields=dict(loc["fields"]),
        locale_creators=dict(loc["creatorTypes"]),
        raw=raw,
    )


def is_valid_key(value: object) -> bool:
    return isinstance(value, str) and bool(KEY_RE.match(value))


def resolve_field(schema: Schema, item_type: str, name: str) -> str:
    """Map ``name`` to the field stored for ``item_type`` (base fields map to the type's own
    field, e.g. ``publicationTitle`` -> ``proceedingsTitle`` on a conferencePaper), or raise
    the server's 400."""
    info = schema.type_info(item_type)
    if name in info.fields:
        return name
    if name in info.base_of:
        return info.base_of[name]
    raise ObjectError(400, f"'{name}' is not a valid field for type '{item_type}'")


def check_field_value(name: str, value: object) -> str:
    """Field values are strings; numbers are accepted and stringified like PHP does."""
    if isinstance(value, list):
        raise ObjectError(400, f"Unexpected array for property '{name}'")
    if isinstance(value, dict):
        raise ObjectError(400, f"Unexpected object for property '{name}'")
    if value is None or value is False:
        return ""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_FIELD_LENGTH:
        raise ObjectError(
            413,
            f"Value for field '{name}' too long",
            {"field": name, "value": text[:50]},
        )
    return text


PHP_TRIM = " \t\n\r\0\x0b"
"""The characters PHP's ``trim()`` strips (the server's validation uses it)."""

_CONTROL = {c: None for c in [*range(0, 9), *range(11, 32), 127]}


def clean_string(text: str) -> str:
    """DS ``Zotero_Utilities::cleanString``: control characters (U+0000-U+001F except tab and
    line feed, and U+007F) are removed from every string of an uploaded JSON body."""
    return text.translate(_CONTROL)


def clean_json(value: Any) -> Any:
    """DS ``cleanStringRecursive``: :func:`clean_string` on every string value (not on keys)."""
    if isinstance(value, str):
        return clean_string(value)
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    return value


def unicode_trim(text: str) -> str:
    """DS ``Zotero_Utilities::unicodeTrim``: strip separators (``\\pZ``) and other
    (``\\pC``: controls, format characters such as the BOM) from both ends."""
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start])[0] in "ZC":
        start += 1
    while end > start and unicodedata.category(text[end - 1])[0] in "ZC":
        end -= 1
    return text[start:end]


def check_creators(
    schema: Schema, item_type: str, creators: object, *, is_new: bool
) -> list[dict[str, str]]:
    """Validate and normalise ``creators`` (DS ``Items::validateJSONItem`` then
    ``updateFromJSON``). A single nameless creator on a new item is ignored, because the API's
    own item template carries one. A creator whose names are empty once Unicode-trimmed (e.g.
    only a BOM) ends the list: the server's loop ``break``s there, so it and every creator
    after it are dropped. Names are stored Unicode-trimmed (``Zotero_Creator::__set``)."""
    if not isinstance(creators, list):
        raise ObjectError(400, "'creators' property must be an array")
    info = schema.type_info(item_type)
    for creator in creators:
        if not isinstance(creator, dict) or "creatorType" not in creator:
            raise ObjectError(400, "creator object must contain 'creatorType'")
        names = [creator.get(p) for p in ("name", "firstName", "lastName")]
        if all(not isinstance(v, str) or v.strip(PHP_TRIM) == "" for v in names):
            if len(creators) == 1 and is_new:
                continue
            raise ObjectError(400, "creator object must contain 'firstName'/'lastName' or 'name'")
        for prop, value in creator.items():
            if prop == "creatorType":
                if not isinstance(value, str) or value not in schema.locale_creators:
                    raise ObjectError(400, f"'{value}' is not a valid creator type")
                # 'author' is accepted for every item type; other types must fit.
                if value not in info.creator_types and value != "author":
                    raise ObjectError(
                        400, f"'{value}' is not a valid creator type for item type '{item_type}'"
                    )
            elif prop in ("firstName", "lastName"):
                other = "lastName" if prop == "firstName" else "firstName"
                if other not in creator:
                    raise ObjectError(
                        400, f"'{other}' creator field must be set if '{prop}' is set"
                    )
                if "name" in creator:
                    raise ObjectError(
                        400, f"'{prop}' and 'name' creator fields are mutually exclusive"
                    )
            elif prop != "name":
                raise ObjectError(400, f"Invalid creator property '{prop}'")
            if prop != "creatorType" and value is not None and not isinstance(value, str):
                raise ObjectError(400, f"Creator '{prop}' must be a string")
            if isinstance(value, str) and len(value) > MAX_CREATOR_LENGTH:
                raise ObjectError(
                    413,
                    f"Creator '{prop}' value is too long",
                    {"field": prop, "value": value[:50]},
                )
    out: list[dict[str, str]] = []
    for creator in creators:
        ctype = str(creator["creatorType"])
        if "name" in creator:
            name = unicode_trim(str(creator["name"] or ""))
            if name == "":
                break
            out.append({"creatorType": ctype, "name": name})
        else:
            first = unicode_trim(str(creator.get("firstName") or ""))
            last = unicode_trim(str(creator.get("lastName") or ""))
            if first == "" and last == "":
                break
            out.append({"creatorType": ctype, "firstName": first, "lastName": last})
    return out


def check_tags(tags: object) -> list[dict[str, Any]]:
    """DS ``validateJSONItem`` (shape) then ``Item::setTags`` (empty or whitespace-only tags
    are dropped, names trimmed) and ``Zotero_Tag`` (over 255 characters: 413 with the tag)."""
    if not isinstance(tags, list):
        raise ObjectError(400, "'tags' property must be an array")
    for tag in tags:
        if not isinstance(tag, dict):
            raise ObjectError(400, "Tag must be an object")
        if not tag:
            raise ObjectError(400, "Tag object is empty")
        for prop, value in tag.items():
            if prop == "tag":
                if value is None or isinstance(value, (list, dict)):
                    raise ObjectError(400, "Invalid tag name")
            elif prop == "type":
                if not _is_numeric(value):
                    raise ObjectError(400, f"Invalid tag type '{_php_str(value)}'")
            else:
                raise ObjectError(400, f"Invalid tag property '{prop}'")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for tag in tags:
        name = _php_str(tag.get("tag", "")).strip(PHP_TRIM)
        if name == "":
            continue
        if len(name) > MAX_TAG_LENGTH:
            raise ObjectError(413, f"Tag '{name[:50]}…' too long", {"tag": name})
        ttype = int(float(_php_str(tag.get("type", 0)) or 0))
        if name in seen:
            continue
        seen.add(name)
        out.append({"tag": name, "type": ttype} if ttype else {"tag": name})
    return out


def _php_str(value: object) -> str:
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    return str(value)


def _is_numeric(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str):
        try:
            float(value.strip())
        except ValueError:
            return False
        return value.strip() != ""
    return False


def check_relations(relations: object, *, for_collection: bool) -> dict[str, Any]:
    if isinstance(relations, list) and not relations:
        return {}  # the server allows [] "because it's annoying for clients otherwise"
    if not isinstance(relations, dict):
        raise ObjectError(400, "'relations' property must be an object")
    allowed = COLLECTION_PREDICATES if for_collection else ITEM_PREDICATES
    pattern = COLLECTION_URI_RE if for_collection else ITEM_URI_RE
    kind = "collection" if for_collection else "item"
    out: dict[str, Any] = {}
    for predicate, value in relations.items():
        mendeley = not for_collection and predicate.startswith("mendeleyDB:")
        if predicate not in allowed and not mendeley:
            raise ObjectError(400, f"Unsupported predicate '{predicate}'")
        values = value if isinstance(value, list) else [value]
        for uri in values:
            if not isinstance(uri, str) or (not mendeley and not pattern.match(uri)):
                raise ObjectError(400, f"'relations' values currently must be Zotero {kind} URIs")
        if not values:
            continue
        out[predicate] = values[0] if len(values) == 1 else list(values)
    return out


MAX_NOTE_LENGTH = 500000
MAX_NOTE_TITLE = 79
_NOTE_TRIM = " \t\n\r\0\x0b\xa0"


def _strip_tags(text: str) -> str:
    """Close to PHP ``strip_tags``: comments and tags go, an unclosed one to the end."""
    text = re.sub(r"<!--.*?(?:-->|$)", "", text, flags=re.S)
    return re.sub(r"<[^>]*(?:>|$)", "", text, flags=re.S)


def _utf8_cut(text: str, size: int) -> str:
    return text.encode("utf-8")[:size].decode("utf-8", "ignore")


def check_note_length(note: str) -> None:
    """DS ``Item::setNote``: over 500,000 characters is a 413 naming the note by its title
    (``Zotero_Notes::noteToTitle``, newlines folded), or by its raw start when it has none."""
    if len(note) <= MAX_NOTE_LENGTH:
        return
    text = note.strip(PHP_TRIM)[: MAX_NOTE_TITLE * 5]
    text = re.sub(r"</p>\s*<p>", "</p>\n<p>", text)
    text = html.unescape(_strip_tags(text))
    excerpt = re.sub(r"\s+", " ", _utf8_cut(text, MAX_NOTE_TITLE)).strip(_NOTE_TRIM)
    if excerpt == "":
        raw = re.sub(r"\s+", " ", note.strip(PHP_TRIM)[:MAX_NOTE_TITLE])
        excerpt = html.unescape(raw).strip(_NOTE_TRIM)
    raise ObjectError(413, f"Note '{excerpt}...' too long")


def check_collection_name(name: object) -> str:
    if not isinstance(name, str) or name.strip() == "":
        raise ObjectError(400, "Collection name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ObjectError(
            413,
            f"Collection name '{name[:50]}…' too long",
            {"field": "name", "value": name[:50]},
        )
    return name
