"""Multi-object read parameters: ``format``, ``since``/``newer``, ``limit``/``start``, key
lists, ``includeTrashed``, ``sort``/``direction``, ``itemType``/``tag``/``q`` filters, and the
``Link`` header (DS ``model/API.inc.php`` ``parseQueryParams`` / ``buildLinks``).

Unknown parameters (pyzotero's ``locale`` and ``timeout``, ``v``, ``key``) are ignored, as the
real server ignores them, and never appear in Link URLs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .library import ApiError, Json, Record
from .render import creator_summary, parse_date
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
SORTS = (
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
    "extra",
    "dateAdded",
    "dateModified",
    "addedBy",
    "numItems",
    "serverDateModified",
    "collectionKeyList",
    "itemKeyList",
    "searchKeyList",
)
KEY_PARAMS = {"items": "itemKey", "collections": "collectionKey", "searches": "searchKey"}
EMPTY_FIRST = ("title", "date", "collectionKeyList", "itemKeyList", "searchKeyList")


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
    qmode: str = "titlecreatoryear"
    non_default: dict[str, str] = field(default_factory=dict)


def first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def default_direction(sort: str) -> str:
    """DS ``getDefaultDirection``: descending for date fields, ascending otherwise."""
    return "desc" if sort.startswith("date") else "asc"


def requested_keys(query: dict[str, list[str]], kind: str) -> list[str] | None:
    """The object keys a request names (``itemKey`` etc.), None when it names none. DS
    parseQueryParams: invalid keys are ignored (they never match an object)."""
    key_param = KEY_PARAMS.get(kind)
    raw = first(query, key_param) if key_param else None
    if raw is None:
        return None
    return [k for k in raw.strip(",").split(",") if is_valid_key(k)]


def parse_list_params(query: dict[str, list[str]], kind: str) -> ListParams:
    """Validate and fill in defaults (DS ``Zotero_API::parseQueryParams``); also collect the
    parameters that differ from their defaults, which are the ones Link URLs carry."""
    params = ListParams()
    nd = params.non_default
    fmt = first(query, "format")
    if fmt is not None:
        if fmt in UNSUPPORTED_FORMATS:
            raise ApiError(501, f"Format '{fmt}' is not supported by this emulator")
        if fmt not in FORMATS:
            raise ApiError(400, f"Invalid 'format' value '{fmt}'")
        params.format = fmt
        if fmt != "json":
            nd["format"] = fmt
    since = first(query, "since")
    if since is None:
        since = first(query, "newer")
    if since is not None:
        try:
            params.since = int(since)
        except ValueError:
            raise ApiError(400, "Invalid value for 'since' parameter") from None
        nd["since"] = since
    unlimited = params.format in ("versions", "keys")
    params.limit = None if unlimited else DEFAULT_LIMIT
    key_param = KEY_PARAMS.get(kind)
    keys = requested_keys(query, kind)
    if key_param is not None and keys is not None:
        # An empty list is no filter at all, as in DS (``if ($itemKeys)``).
        params.keys = keys or None
        if keys:
            nd[key_param] = ",".join(keys)
        # Explicit object keys force the limit (DS MAX_OBJECT_KEYS).
        params.limit = MAX_LIMIT
        nd["limit"] = str(MAX_LIMIT)
    else:
        limit_text = first(query, "limit")
        if limit_text is not None:
            try:
                value = int(limit_text)
            except ValueError:
                value = 0
            if value > 0:
                params.limit = value if unlimited else min(value, MAX_LIMIT)
                if params.limit != (None if unlimited else DEFAULT_LIMIT):
                    nd["limit"] = str(params.limit)
    start = first(query, "start")
    if start is not None:
        try:
            params.start = max(0, int(start))
        except ValueError:
            params.start = 0
    if first(query, "includeTrashed") not in (None, "", "0", "false"):
        params.include_trashed = True
        nd["includeTrashed"] = "1"
    sort = first(query, "sort")
    order = first(query, "order")
    direction = first(query, "direction")
    if order is not None:
        if order in ("asc", "desc"):
            direction = order
        else:
            if sort in ("asc", "desc"):
                direction = sort
            sort = order
    if sort in ("asc", "desc"):
        direction, sort = sort, None
    if sort:
        if sort not in SORTS:
            raise ApiError(400, f"Invalid 'sort' value '{sort}'")
        if sort == "numItems":
            raise ApiError(400, "Invalid 'order' value 'numItems'")
        if sort.endswith("KeyList"):
            wanted = sort[: -len("List")]
            if KEY_PARAMS.get(kind) != wanted:
                raise ApiError(400, f"order={sort} is not valid for this request")
            if params.keys is None:
                raise ApiError(400, f"order={sort} requires the {wanted} parameter")
        params.sort = sort
        if sort != "dateModified":
            nd["sort"] = sort
    params.direction = default_direction(params.sort)
    if direction:
        if direction not in ("asc", "desc"):
            raise ApiError(400, f"Invalid 'direction' value '{direction}'")
        params.direction = direction
        if direction != default_direction(params.sort):
            nd["direction"] = direction
    params.item_types = [v for v in query.get("itemType", []) if v.strip()]
    if params.item_types:
        nd["itemType"] = ",".join(params.item_types)
    params.tags = [v for v in query.get("tag", []) if v.strip()]
    if params.tags:
        nd["tag"] = ",".join(params.tags)
    params.q = first(query, "q") or None
    if params.q:
        nd["q"] = params.q
    qmode = first(query, "qmode")
    if qmode:
        if qmode.lower() not in ("titlecreatoryear", "everything"):
            raise ApiError(400, f"Invalid 'qmode' value '{qmode}'")
        params.qmode = qmode.lower()
        if params.qmode != "titlecreatoryear":
            nd["qmode"] = params.qmode
    include = first(query, "include")
    if include is not None and params.format != "json":
        raise ApiError(400, "'include' is valid only for format=json")
    locale = first(query, "locale")
    if locale and locale != "en-US":
        nd["locale"] = locale
    return params


def _search_set(spec: str) -> tuple[bool, list[str]]:
    """DS ``getSearchParamValues``: a leading ``-`` negates the whole set (``\\-`` is a
    literal hyphen); ``a || b`` is an OR."""
    spec = spec.strip()
    negation = False
    if spec.startswith("-"):
        negation, spec = True, spec[1:]
    elif spec.startswith("\\-"):
        spec = spec[1:]
    return negation, re.split(r"\s+\|\|\s+", spec)


def _match_item_type(data: Json, spec: str) -> bool:
    negation, values = _search_set(spec)
    return (data.get("itemType") in values) != negation


def _match_tag(data: Json, spec: str) -> bool:
    """Tag names compare case-insensitively (DS ``Zotero_Tags::getIDs`` with
    ``$caseInsensitive``)."""
    negation, values = _search_set(spec)
    names = {str(t["tag"]).casefold() for t in data.get("tags", [])}
    return bool(names.intersection(v.casefold() for v in values)) != negation


_SEARCH_SPLIT = re.compile(r"""\s*("[^"]*")\s*|"\s|\s"|^"|"$|'\s|\s'|^'|'$|\s""", re.M)


def parse_search_string(q: str) -> list[str]:
    """DS ``Zotero_Utilities::parseSearchString``: words, and phrases in double quotes;
    every part must match."""
    parts: list[str] = []
    for part in _SEARCH_SPLIT.split(q):
        if not part:
            continue
        if len(part) >= 2 and part[0] == '"' and part[-1] == '"':
            part = part[1:-1]
        parts.append(part)
    return parts


def _note_title(data: Json) -> str:
    text = re.sub(r"<[^>]+>", "\n", str(data.get("note", "")))
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _match_q(data: Json, q: str, qmode: str, title_fields: set[str]) -> bool:
    """DS ``Items::search`` quick search: each part of ``q`` must be found in a title, a
    note's title, a creator's full name, or equal the year of the date (``everything`` also
    searches every other field, standing in for full text)."""
    hay: list[str] = []
    for name, value in data.items():
        if isinstance(value, str) and (qmode == "everything" or name in title_fields):
            hay.append(value.lower())
    if data.get("itemType") in ("note", "attachment"):
        hay.append(_note_title(data).lower())
    for creator in data.get("creators", []):
        full = (
            creator.get("name") or f"{creator.get('firstName', '')} {creator.get('lastName', '')}"
        )
        hay.append(str(full).strip().lower())
    parsed = parse_date(str(data.get("date") or "")) if data.get("date") else None
    year = parsed[:4] if parsed else ""
    for part in parse_search_string(q):
        needle = part.lower()
        if part != year and not any(needle in h for h in hay):
            return False
    return True


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
    wanted = None if params.keys is None else set(params.keys)  # a list: O(keys) a record
    for record in records:
        data = record.data
        if params.since is not None and record.version <= params.since:
            continue
        if wanted is not None and record.key not in wanted:
            continue
        if (
            kind == "collections"
            and params.q
            and params.q.lower() not in str(data.get("name", "")).lower()
        ):
            continue
        if kind == "items":
            if params.item_types and not all(
                _match_item_type(data, spec) for spec in params.item_types
            ):
                continue
            if params.tags and not all(_match_tag(data, spec) for spec in params.tags):
                continue
            if params.q and not _match_q(data, params.q, params.qmode, title_fields or set()):
                continue
        out.append(record)
    reverse = params.direction == "desc"
    sort = params.sort
    if sort.endswith("KeyList") and params.keys is not None:
        order = {key: index for index, key in enumerate(params.keys)}
        out.sort(key=lambda r: order.get(r.key, len(order)), reverse=reverse)
        return out

    def sort_key(record: Record) -> tuple[object, ...]:
        data = record.data
        if sort in ("dateModified", "serverDateModified"):
            primary: object = record.modified
        elif sort == "dateAdded":
            primary = record.added
        elif sort == "title":
            primary = _title(data, title_fields or {"title"}).lower()
        elif sort == "creator" and state is not None:
            primary = creator_summary(state, data).lower()  # type: ignore[arg-type]
        else:
            primary = str(data.get(sort, "")).lower()
        return (primary, record.version)

    out.sort(key=sort_key, reverse=reverse)
    return out


def _title(data: Json, title_fields: set[str]) -> str:
    if "name" in data and "itemType" not in data:
        return str(data["name"])
    for name in title_fields:
        value = data.get(name)
        if isinstance(value, str) and value:
            return value
    if data.get("itemType") == "note":
        return re.sub(r"<[^>]+>", "", str(data.get("note", ""))).strip()
    return ""


def build_links(
    base_url: str,
    path: str,
    params: ListParams,
    total: int,
    site_url: str,
) -> str:
    """The Link header (DS ``buildLinks`` / ``buildLinkHeader``): absolute URLs carrying only
    non-default parameters, sorted by name; ``first`` and ``last`` only when they differ from
    ``self``; ``alternate`` points at the website."""

    def url(start: int | None) -> str:
        query = dict(params.non_default)
        if start:
            query["start"] = str(start)
        text = urlencode(sorted(query.items()))
        return base_url + path + (("?" + text) if text else "")

    start = params.start
    limit = params.limit or 0
    links: dict[str, str] = {"self": url(start), "first": url(None)}
    if start:
        prev = start - limit
        links["prev"] = url(prev if prev > 0 else None)
    if not start and limit >= total:
        links["last"] = links["self"]
    elif limit != 0:
        if start >= total:
            last = total - limit
        else:
            last = total - (total % limit)
            if last == total:
                last = total - limit
        links["last"] = url(last if last > 0 else None)
        if start + limit < total:
            links["next"] = url(start + limit)
    parts: list[str] = []
    if links["first"] != links["self"]:
        parts.append(f'<{links["first"]}>; rel="first"')
    if "prev" in links:
        parts.append(f'<{links["prev"]}>; rel="prev"')
    if "next" in links:
        parts.append(f'<{links["next"]}>; rel="next"')
    if "last" in links and links["last"] != links["self"]:
        parts.append(f'<{links["last"]}>; rel="last"')
    parts.append(f'<{site_url}{path}>; rel="alternate"')
    return ", ".join(parts)
