"""Response JSON: the object envelope (``key``, ``version``, ``library``, ``links``, ``meta``,
``data``) and its computed ``meta`` (creatorSummary, parsedDate, numChildren, numCollections,
numItems), as DS ``Item::toResponseJSON`` / ``Collection::toResponseJSON`` build them."""

from __future__ import annotations

import json
import re
from typing import Any

from . import groups
from .groups import group_id_of, is_group
from .library import EmulatorState, Json, Library, Record

MONTHS = {
    name: index
    for index, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?$")
_SLASH_YMD = re.compile(r"\b(\d{4})[/.](\d{1,2})[/.](\d{1,2})\b")
_SLASH_MDY = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def dumps(value: Any) -> bytes:
    """JSON as the dataserver formats it: pretty-printed, raw UTF-8, unescaped slashes."""
    return json.dumps(value, ensure_ascii=False, indent=4).encode("utf-8")


def parse_date(text: str) -> str | None:
    """A reduced ``Zotero.Date.strToDate``: the parsed ``YYYY[-MM[-DD]]`` of a free-form
    date, or None when no year can be found."""
    text = text.strip()
    if not text:
        return None
    y: str | None = None
    m: int | None = None
    d: int | None = None
    if match := _ISO_DATE.match(text):
        y = match.group(1)
        m = int(match.group(2)) if match.group(2) else None
        d = int(match.group(3)) if match.group(3) else None
    elif match := _SLASH_YMD.search(text):
        y, m, d = match.group(1), int(match.group(2)), int(match.group(3))
    elif match := _SLASH_MDY.search(text):
        m, d, y = int(match.group(1)), int(match.group(2)), match.group(3)
        if m > 12 and d <= 12:
            m, d = d, m
    else:
        year = _YEAR.search(text)
        if not year:
            return None
        y = year.group(1)
        lowered = text.lower()
        for word in re.findall(r"[a-z]+", lowered):
            if word in MONTHS:
                m = MONTHS[word]
                near = re.search(
                    rf"(?<!\d)(\d{{1,2}})(?!\d)\s*(?:st|nd|rd|th)?\.?\s*{word}|{word}\.?\s+(\d{{1,2}})(?!\d)",
                    lowered,
                )
                if near:
                    d = int(near.group(1) or near.group(2))
                break
    if y is None or y == "0000":
        return None
    if m is None or not 1 <= m <= 12:
        return y
    if d is None or not 1 <= d <= 31:
        return f"{y}-{m:02d}"
    return f"{y}-{m:02d}-{d:02d}"


def creator_summary(state: EmulatorState, data: Json) -> str:
    """``Lastname``, ``A and B`` or ``A et al.`` from the primary creator type, falling back to
    editors and then contributors (DS ``Item::getCreatorSummary``)."""
    creators = data.get("creators") or []
    if not creators:
        return ""
    info = state.schema.type_info(data["itemType"])
    for ctype in (info.primary_creator, "editor", "contributor"):
        names = [
            c.get("lastName", c.get("name", "")) for c in creators if c.get("creatorType") == ctype
        ]
        if not names:
            continue
        if len(names) == 1:
            return str(names[0])
        if len(names) == 2:
            return f"{names[0]} and {names[1]}"
        return f"{names[0]} et al."
    return ""


class Renderer:
    """Builds response objects; ``base_url`` is the emulator's API root, ``site_url`` the
    website that ``alternate`` links point at."""

    def __init__(self, state: EmulatorState, base_url: str, site_url: str) -> None:
        self.state = state
        self.base_url = base_url
        self.site_url = site_url.rstrip("/")

    def username(self, user_id: int) -> str:
        user = self.state.users.get(user_id)
        return user.username if user else str(user_id)

    def library_block(self, user_id: int) -> Json:
        if is_group(user_id):
            return groups.library_block(group_id_of(user_id), self.base_url, self.site_url)
        user = self.state.users.get(user_id)
        name = user.display_name if user else str(user_id)
        return {
            "type": "user",
            "id": user_id,
            "name": name,
            "links": {
                "alternate": {
                    "href": f"{self.site_url}/{self.username(user_id)}",
                    "type": "text/html",
                }
            },
        }

    def _links(self, user_id: int, kind: str, key: str, up: tuple[str, str] | None) -> Json:
        prefix, site = f"users/{user_id}", self.username(user_id)
        if is_group(user_id):
            prefix = site = f"groups/{group_id_of(user_id)}"
        links: Json = {
            "self": {
                "href": f"{self.base_url}/{prefix}/{kind}/{key}",
                "type": "application/json",
            },
            "alternate": {
                "href": f"{self.site_url}/{site}/{kind}/{key}",
                "type": "text/html",
            },
        }
        if up is not None:
            links["up"] = {
                "href": f"{self.base_url}/{prefix}/{up[0]}/{up[1]}",
                "type": "application/json",
            }
        return links

    def item(
        self,
        lib: Library,
        record: Record,
        *,
        fresh: bool = False,
        child_counts: dict[str, int] | None = None,
    ) -> Json:
        data = record.data
        parent = data.get("parentItem")
        meta: Json = {}
        item_type = data["itemType"]
        if item_type not in ("note", "attachment"):
            summary = creator_summary(self.state, data)
            if summary:
                meta["creatorSummary"] = summary
            date = data.get("date", "")
            parsed = parse_date(date) if date else None
            if parsed:
                meta["parsedDate"] = parsed
            elif fresh and not date:
                # A just-created item without a date reports parsedDate false in the write
                # report (recorded in web-library test-user-add-new-item.json).
                meta["parsedDate"] = False
            counts = child_counts if child_counts is not None else lib.child_counts()
            meta["numChildren"] = counts.get(record.key, 0)
        elif item_type == "note" or data.get("contentType") in (
            "application/pdf",
            "application/epub+zip",
        ):
            meta["numChildren"] = 0
        return {
            "key": record.key,
            "version": record.version,
            "library": self.library_block(lib.user_id),
            "links": self._links(
                lib.user_id, "items", record.key, ("items", parent) if parent else None
            ),
            "meta": meta,
            "data": data,
        }

    def collection_counts(self, lib: Library) -> dict[str, tuple[int, int]]:
        """``(numCollections, numItems)`` per collection key, non-trashed only, computed once
        per listing (one pass over collections and items instead of one per collection)."""
        subs: dict[str, int] = {}
        for r in lib.collections.values():
            parent = r.data.get("parentCollection")
            if parent and not r.data.get("deleted"):
                subs[parent] = subs.get(parent, 0) + 1
        items: dict[str, int] = {}
        for r in lib.items.values():
            if r.data.get("deleted"):
                continue
            for key in set(r.data.get("collections") or ()):
                items[key] = items.get(key, 0) + 1
        return {k: (subs.get(k, 0), items.get(k, 0)) for k in lib.collections}

    def collection(
        self,
        lib: Library,
        record: Record,
        *,
        counts: dict[str, tuple[int, int]] | None = None,
    ) -> Json:
        data = record.data
        parent = data.get("parentCollection")
        table = counts if counts is not None else self.collection_counts(lib)
        num_collections, num_items = table.get(record.key, (0, 0))
        return {
            "key": record.key,
            "version": record.version,
            "library": self.library_block(lib.user_id),
            "links": self._links(
                lib.user_id, "collections", record.key, ("collections", parent) if parent else None
            ),
            "meta": {"numCollections": num_collections, "numItems": num_items},
            "data": data,
        }

    def search(self, lib: Library, record: Record) -> Json:
        return {
            "key": record.key,
            "version": record.version,
            "library": self.library_block(lib.user_id),
            "links": self._links(lib.user_id, "searches", record.key, None),
            "meta": {},
            "data": record.data,
        }

    def render(
        self,
        kind: str,
        lib: Library,
        record: Record,
        *,
        fresh: bool = False,
        child_counts: dict[str, int] | None = None,
        collection_counts: dict[str, tuple[int, int]] | None = None,
    ) -> Json:
        if kind == "items":
            return self.item(lib, record, fresh=fresh, child_counts=child_counts)
        if kind == "collections":
            # A just-created collection holds nothing yet: skip the count.
            return self.collection(lib, record, counts={} if fresh else collection_counts)
        return self.search(lib, record)
