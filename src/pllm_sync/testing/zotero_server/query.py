"""Multi-object read parameters: ``format``, ``since``/``newer``, ``limit``/``start``, key
lists, ``includeTrashed``, ``sort``/``direction``, ``itemType``/``tag``/``q`` filters, and the
``Link`` header (DS ``model/API.inc.php`` ``parseQueryParams`` / ``buildLinks``).

Unknown parameters (pyzotero's ``locale`` and ``timeout``, ``v``, ``key``) are ignored, as the
real server ignores them, and never appear in Link URLs."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from .library import ApiError, Json, Record
from .render import creator_summary
from .validation import is_valid_key

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
FORMATS = ("json", "versions", "keys")
UNSUPPORTED_FORMATS = (
    "atom",
    "bib",
    "bibtex",
    "biblatex",
    "bookmarks",
    "citation",
    "coins",
    "csljson",
    "csv",
    "mods",
    "refer",
    "rdf_bibliontology",
    "rdf_dc",
    "rdf_zotero",
    "ris",
    "tei",
    "wikipedia",
)
ITEM_SORTS = (
    "dateAdded",
    "dateModified",
    "title",
    "creator",
    "itemType",
    "date",
    "publisher",
    "publicationTitle",
    "journalAbbreviation",
    "language",
    "accessDate",
    "libraryCatalog",
    "callNumber",
    "rights",
    "addedBy",
    "numItems",
)
DESC_BY_DEFAULT = ("dateAdded", "dateModified", "date", "accessDate")
LINK_PARAMS = (
    "format",
    "since",
    "newer",
    "limit",
    "itemKey",
    "collectionKey",
    "searchKey",
    "includeTrashed",
    "sort",
    "direction",
    "itemType",
    "tag",
    "q",
    "qmode",
    "include",
)


@dataclass
class ListParams:
    format: str = "json"
    since: int | None = None
    limit: int | None = DEFAULT_LIMIT
    start: int = 0
    keys: list[str] | None = None
    include_trashed: bool = False
    sort: str = "dateModified"
    direction: str = "desc"
    item_types: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    q: str | None = None
    qmode: str = "titleCreatorYear"
    link_query: list[tuple[str, str]] = field(default_factory=list)


def first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"Invalid '{name}' value '{value}'") from None


def parse_list_params(query: dict[str, list[str]], kind: str) -> ListParams:
    params = ListParams()
    fmt = first(query, "format")
    if fmt is not None:
        if fmt in UNSUPPORTED_FORMATS:
            raise ApiError(501, f"Format '{fmt}' is not supported by this emulator")
        if fmt not in FORMATS:
            raise ApiError(400, f"Invalid 'format' value '{fmt}'")
        params.format = fmt
    for name in ("since", "newer"):
        since_text = first(query, name)
        if since_text is not None and since_text != "":
            params.since = parse_int(name, since_text)
    key_param = {"items": "itemKey", "collections": "collectionKey", "searches": "searchKey"}.get(
        kind
    )
    unlimited = params.format in ("versions", "keys")
    params.limit = None if unlimited else DEFAULT_LIMIT
    if key_param is not None:
        raw = first(query, key_param)
        if raw is not None:
            params.keys = [k for k in raw.split(",") if is_valid_key(k.strip())]
            params.keys = [k.strip() for k in params.keys]
            if not unlimited:
                params.limit = MAX_LIMIT
    limit_text = first(query, "limit")
    if limit_text is not None and params.keys is None:
        try:
            value = int(limit_text)
        except ValueError:
            value = 0
        if value > 0:
            params.limit = min(value, MAX_LIMIT) if not unlimited else value
    start = first(query, "start")
    if start is not None:
        try:
            params.start = max(0, int(start))
        except ValueError:
            params.start = 0
    params.include_trashed = first(query, "includeTrashed") in ("1", "true")
    sort = first(query, "sort") or first(query, "order")
    if sort:
        if sort not in ITEM_SORTS:
            raise ApiError(400, f"Invalid 'sort' value '{sort}'")
        params.sort = sort
    params.direction = "desc" if params.sort in DESC_BY_DEFAULT else "asc"
    direction = first(query, "direction")
    if direction:
        if direction not in ("asc", "desc"):
            raise ApiError(400, f"Invalid 'direction' value '{direction}'")
        params.direction = direction
    params.item_types = [v for v in query.get("itemType", []) if v]
    params.tags = [v for v in query.get("tag", []) if v]
    params.q = first(query, "q") or None
    params.qmode = first(query, "qmode") or "titleCreatorYear"

    defaults = {
        "format": "json",
        "includeTrashed": "0",
        "sort": "dateModified",
        "direction": "desc" if params.sort in DESC_BY_DEFAULT else "asc",
        "qmode": "titleCreatorYear",
    }
    for name, values in query.items():
        if name not in LINK_PARAMS:
            continue
        for text in values:
            if defaults.get(name) == text:
                continue
            if name == "limit" and params.limit is not None and text != str(params.limit):
                text = str(params.limit)
            params.link_query.append((name, text))
    return params


def _match_item_type(data: Json, spec: str) -> bool:
    options = [s.strip() for s in spec.split("||")]
    result = False
    for option in options:
        if option.startswith("-"):
            if data.get("itemType") != option[1:].strip():
                result = True
        elif data.get("itemType") == option:
            result = True
    return result


def _match_tag(data: Json, spec: str) -> bool:
    names = {t["tag"] for t in data.get("tags", [])}
    for option in (s.strip() for s in spec.split("||")):
        if option.startswith("-"):
            if option[1:] not in names:
                return True
        elif option in names:
            return True
    return False


def _match_q(data: Json, q: str, qmode: str, title_fields: set[str]) -> bool:
    needle = q.lower()
    hay: list[str] = []
    for name, value in data.items():
        if isinstance(value, str) and (qmode == "everything" or name in title_fields):
            hay.append(value)
    for creator in data.get("creators", []):
        hay.extend(str(v) for k, v in creator.items() if k != "creatorType")
    date = data.get("date", "")
    if isinstance(date, str):
        hay.append(date[:4])
    return any(needle in h.lower() for h in hay)


def select(
    records: list[Record],
    params: ListParams,
    *,
    kind: str,
    title_fields: set[str] | None = None,
    state: object | None = None,
) -> list[Record]:
    """Filter and sort (the caller paginates)."""
    out = []
    for record in records:
        data = record.data
        if params.since is not None and record.version <= params.since:
            continue
        if params.keys is not None and record.key not in params.keys:
            continue
        if kind == "items":
            if any(not _match_item_type(data, spec) for spec in params.item_types):
                continue
            if any(not _match_tag(data, spec) for spec in params.tags):
                continue
            if params.q and not _match_q(data, params.q, params.qmode, title_fields or set()):
                continue
        out.append(record)
    reverse = params.direction == "desc"
    sort = params.sort

    def sort_key(record: Record) -> tuple[object, ...]:
        data = record.data
        if sort == "dateModified":
            primary: object = record.modified
        elif sort == "dateAdded":
            primary = record.added
        elif sort == "title":
            primary = str(data.get("title", data.get("name", ""))).lower()
        elif sort == "creator" and state is not None:
            primary = creator_summary(state, data).lower()  # type: ignore[arg-type]
        else:
            primary = str(data.get(sort, "")).lower()
        return (primary, record.version)

    out.sort(key=sort_key, reverse=reverse)
    return out


def build_links(
    base_url: str,
    path: str,
    params: ListParams,
    total: int,
    alternate: str,
) -> str:
    def url(start: int | None) -> str:
        query = list(params.link_query)
        if start:
            query.append(("start", str(start)))
        return base_url + path + (("?" + urlencode(query)) if query else "")

    parts: list[str] = []
    limit = params.limit
    start = params.start
    if limit is not None:
        if start > 0:
            parts.append(f'<{url(None)}>; rel="first"')
            prev = start - limit
            parts.append(f'<{url(prev if prev > 0 else None)}>; rel="prev"')
        if start + limit < total:
            parts.append(f'<{url(start + limit)}>; rel="next"')
        last = ((total - 1) // limit) * limit if total > 0 else 0
        if last != start:
            parts.append(f'<{url(last or None)}>; rel="last"')
    parts.append(f'<{alternate}>; rel="alternate"')
    return ", ".join(parts)
