"""The public API: routing, authentication, preconditions, and response assembly.

Framework-free: :meth:`Api.handle` takes a parsed :class:`Request` and returns a
:class:`Response`; ``app.py`` adapts it to ``http.server``. The order of checks follows the
dataserver's ``ApiController::init`` and the per-object controllers, because clients can tell
the order apart (e.g. a reused write token is a 412 even before the library is looked at).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from .groups import group_grant, group_library_id, is_group, parse_group_id
from .library import (
    LABELS,
    ApiError,
    ApiKey,
    EmulatorState,
    Json,
    Library,
    Record,
    Report,
    VersionClock,
)
from .query import (
    ListParams,
    build_links,
    first,
    parse_list_params,
    requested_keys,
    select,
)
from .render import Renderer, dumps
from .validation import LINK_MODES, MAX_BATCH, ObjectError, is_valid_key

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_BEARER_RE = re.compile(r"^bearer +([a-z0-9]+)$", re.IGNORECASE)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(value: Any, status: int = 200, **headers: object) -> Response:
    """A JSON response; keyword names become header names (``Total_Results`` ->
    ``Total-Results``)."""
    out = {"Content-Type": "application/json"}
    out.update({k.replace("_", "-"): str(v) for k, v in headers.items()})
    return Response(status, dumps(value), out)


def error_text(message: str) -> bytes:
    # The dataserver sends error bodies through htmlspecialchars().
    return html.escape(message, quote=False).replace('"', "&quot;").encode("utf-8")


@dataclass
class Auth:
    key: ApiKey | None

    def access(self) -> Json:
        return self.key.access if self.key else {}

    def can_read(self, user_id: int) -> bool:
        if self.key is not None and is_group(user_id):
            return bool(group_grant(self.access(), user_id).get("library"))
        if self.key is None or self.key.user_id != user_id:
            return False
        user = self.access().get("user") or {}
        return bool(user.get("library"))

    def can_write(self, user_id: int) -> bool:
        if not self.can_read(user_id):
            return False
        if is_group(user_id):
            return bool(group_grant(self.access(), user_id).get("write"))
        return bool((self.access().get("user") or {}).get("write"))

    def can_see_notes(self, user_id: int) -> bool:
        return bool((self.access().get("user") or {}).get("notes", True))


class Api:
    def __init__(self, state: EmulatorState, renderer: Renderer) -> None:
        self.state = state
        self.renderer = renderer

    @property
    def base_url(self) -> str:
        return self.renderer.base_url

    # ------------------------------------------------------------------ entry
    def handle(self, req: Request) -> Response:
        try:
            response = self._dispatch(req)
        except ApiError as exc:
            response = Response(
                exc.status, error_text(exc.message), {"Content-Type": "text/plain; charset=utf-8"}
            )
            if exc.library_version is not None:
                response.headers["Last-Modified-Version"] = str(exc.library_version)
            response.headers.update(exc.headers)
        response.headers.setdefault("Zotero-API-Version", "3")
        response.headers.setdefault("Zotero-Schema-Version", str(self.state.schema.version))
        return response

    def _dispatch(self, req: Request) -> Response:
        parts = [p for p in req.path.split("/") if p]
        if not parts:
            raise ApiError(400, "Invalid Request")
        head = parts[0]
        if head == "keys":
            return self._keys(req, parts[1:])
        if head in (
            "itemTypes",
            "itemFields",
            "itemTypeFields",
            "itemTypeCreatorTypes",
            "creatorFields",
            "schema",
        ):
            return self._mapping(req, head, parts[1:])
        if head == "items" and parts[1:] == ["new"]:
            return self._template(req)
        if head == "groups":
            auth = self._authenticate(req)
            group_id = parse_group_id(parts[1]) if len(parts) >= 2 else None
            if group_id is None or group_library_id(group_id) not in self.state.libraries:
                raise ApiError(404, "Group not found")
            return self._user_route(req, auth, group_library_id(group_id), parts[2:])
        if head != "users" or len(parts) < 2:
            raise ApiError(404, "Not found")
        try:
            user_id = int(parts[1])
        except ValueError:
            raise ApiError(400, "Invalid user ID") from None
        if user_id <= 0:
            raise ApiError(400, "Invalid user ID")
        auth = self._authenticate(req)
        return self._user_route(req, auth, user_id, parts[2:])

    # ----------------------------------------------------------- authentication
    def _authenticate(self, req: Request) -> Auth:
        key = req.header("Zotero-API-Key") or None
        param = first(req.query, "key")
        if param is not None:
            if key is None:
                key = param
            elif param != key:
                raise ApiError(400, "Zotero-API-Key header and 'key' parameter differ")
        if key is None:
            authorization = req.header("Authorization")
            if authorization and authorization.lower().startswith("bearer"):
                match = _BEARER_RE.match(authorization.strip())
                if not match:
                    raise ApiError(400, "Invalid Authorization header format")
                key = match.group(1)
        if key is None:
            if req.method in WRITE_METHODS:
                raise ApiError(403, "An API key is required for write requests.")
            return Auth(None)
        with self.state.lock:
            api_key = self.state.keys.get(key)
            if api_key is None:
                raise ApiError(403, "Invalid key")
            if req.method in WRITE_METHODS:
                token = self._write_token(req, api_key)
                if token is not None and self.state.token_used(api_key.key, token):
                    raise ApiError(412, "Write token already used")
        return Auth(api_key)

    def _write_token(self, req: Request, api_key: ApiKey | None) -> str | None:
        token = req.header("Zotero-Write-Token")
        if not token:
            return None
        if not 5 <= len(token) <= 32:
            raise ApiError(400, "Write token must be 5-32 characters in length")
        if api_key is None:
            raise ApiError(400, "Write token cannot be used without an API key")
        return token

    def _remember_token(self, req: Request, auth: Auth) -> None:
        token = self._write_token(req, auth.key)
        if token is not None and auth.key is not None:
            self.state.remember_token(auth.key.key, token)

    # --------------------------------------------------------------- key info
    def _key_info(self, api_key: ApiKey) -> Json:
        user = self.state.users.get(api_key.user_id)
        info: Json = {
            "key": api_key.key,
            "userID": api_key.user_id,
            "username": user.username if user else "",
            "displayName": user.display_name if user else "",
        }
        if api_key.access:
            info["access"] = api_key.access
        return info

    def _keys(self, req: Request, rest: list[str]) -> Response:
        if len(rest) != 1:
            raise ApiError(404, "Not found")
        if req.method not in ("GET", "HEAD"):
            raise ApiError(405, "Method not allowed", headers={"Allow": "GET"})
        with self.state.lock:
            if rest[0] == "current":
                auth = self._authenticate(req)
                if auth.key is None:
                    raise ApiError(403, "Forbidden")
                return json_response(self._key_info(auth.key))
            api_key = self.state.keys.get(rest[0])
            if api_key is None:
                raise ApiError(404, "Key not found")
            return json_response(self._key_info(api_key))

    # ---------------------------------------------------------- mapping routes
    def _mapping(self, req: Request, head: str, rest: list[str]) -> Response:
        if rest:
            raise ApiError(404, "Not found")
        schema = self.state.schema
        if head == "schema":
            return json_response(schema.raw)
        if head == "itemTypes":
            names = [t for t in schema.types if t not in ("attachment", "annotation")]
            rows = [{"itemType": t, "localized": schema.locale_types.get(t, t)} for t in names]
            rows.sort(key=lambda r: r["localized"])
            return json_response(rows)
        if head == "itemFields":
            rows = [
                {"field": f, "localized": schema.locale_fields.get(f, f)}
                for f in sorted(schema.all_fields)
            ]
            rows.sort(key=lambda r: r["localized"])
            return json_response(rows)
        if head == "creatorFields":
            return json_response(
                [
                    {"field": "firstName", "localized": "First"},
                    {"field": "lastName", "localized": "Last"},
                    {"field": "name", "localized": "Name"},
                ]
            )
        item_type = first(req.query, "itemType")
        if not item_type:
            raise ApiError(400, "'itemType' not provided")
        if item_type not in schema.types:
            raise ApiError(400, f"Invalid item type '{item_type}'")
        info = schema.type_info(item_type)
        if head == "itemTypeFields":
            return json_response(
                [{"field": f, "localized": schema.locale_fields.get(f, f)} for f in info.fields]
            )
        rows = [
            {"creatorType": c, "localized": schema.locale_creators.get(c, c)}
            for c in info.creator_types
        ]
        primary = [r for r in rows if r["creatorType"] == info.primary_creator]
        others = sorted(
            (r for r in rows if r["creatorType"] != info.primary_creator),
            key=lambda r: r["localized"].lower(),
        )
        return json_response(primary + others)

    def _template(self, req: Request) -> Response:
        schema = self.state.schema
        item_type = first(req.query, "itemType")
        if not item_type:
            raise ApiError(400, "'itemType' not provided")
        if item_type not in schema.types or item_type == "annotation":
            raise ApiError(400, f"Invalid item type '{item_type}'")
        if item_type == "note":
            return json_response(
                {"itemType": "note", "note": "", "tags": [], "collections": [], "relations": {}}
            )
        info = schema.type_info(item_type)
        if item_type == "attachment":
            link_mode = first(req.query, "linkMode")
            if not link_mode:
                raise ApiError(400, "linkMode required for attachment template")
            if link_mode not in LINK_MODES:
                raise ApiError(400, f"Invalid linkMode '{link_mode}'")
            tpl: Json = {"itemType": "attachment", "linkMode": link_mode}
            for name in info.fields:
                tpl[name] = ""
            tpl.update({"note": "", "tags": [], "collections": [], "relations": {}})
            tpl.update({"contentType": "", "charset": ""})
            if link_mode in ("imported_file", "imported_url", "embedded_image"):
                tpl.update({"filename": "", "md5": None, "mtime": None})
            elif link_mode == "linked_file":
                tpl["path"] = ""
            return json_response(tpl)
        title = schema.title_field(item_type)
        tpl = {"itemType": item_type}
        if title:
            tpl[title] = ""
        tpl["creators"] = [
            {"creatorType": info.primary_creator or "author", "firstName": "", "lastName": ""}
        ]
        for name in info.fields:
            if name != title:
                tpl[name] = ""
        tpl.update({"tags": [], "collections": [], "relations": {}})
        return json_response(tpl)

    # ------------------------------------------------------------ user routes
    def _user_route(self, req: Request, auth: Auth, user_id: int, rest: list[str]) -> Response:
        state = self.state
        with state.lock:
            if not rest:
                raise ApiError(404, "Not found")
            action = rest[0]
            writing = req.method in WRITE_METHODS
            if action not in (
                "items",
                "collections",
                "searches",
                "deleted",
                "tags",
                "settings",
                "groups",
            ):
                raise ApiError(404, "Not found")
            if writing:
                if not auth.can_write(user_id):
                    raise ApiError(403, "Write access denied")
            elif not auth.can_read(user_id):
                raise ApiError(403, "Forbidden")
            lib = state.library(user_id)
            single = len(rest) >= 2 and rest[1] not in ("top", "trash") and len(rest) == 2
            if (
                action in ("items", "collections", "searches", "settings", "tags")
                and not writing
                and not single
            ):
                imsv = req.header("If-Modified-Since-Version")
                if imsv is not None and imsv.strip().isdigit() and lib.version <= int(imsv):
                    return Response(304)
            if action == "deleted":
                return self._deleted(req, lib)
            if action == "groups":
                if len(rest) > 1:
                    raise ApiError(404, "Not found")
                return json_response([], Total_Results=0)
            if action == "settings":
                if writing:
                    raise ApiError(501, "Settings are not supported by this emulator")
                if len(rest) > 1:
                    raise ApiError(404, "Setting not found")
                return json_response({}, Last_Modified_Version=lib.version)
            if action == "tags":
                return self._tags(req, auth, lib, rest[1:])
            return self._objects(req, auth, lib, action, rest[1:])

    def _objects(
        self, req: Request, auth: Auth, lib: Library, kind: str, rest: list[str]
    ) -> Response:
        method = req.method
        if not rest:
            if method == "POST":
                return self._post(req, auth, lib, kind)
            if method == "DELETE":
                return self._multi_delete(req, lib, kind)
            self._allow(method, ("GET", "HEAD", "POST", "DELETE"))
            records = self._base(lib, kind, req, by_key=True)
            return self._list(req, auth, lib, kind, records, req.path)
        if rest == ["top"] and kind == "items":
            self._allow(method, ("GET", "HEAD"))
            return self._list(req, auth, lib, kind, self._base(lib, kind, req), req.path, top=True)
        if rest == ["top"] and kind == "collections":
            self._allow(method, ("GET", "HEAD"))
            records = [r for r in self._base(lib, kind, req) if not self._parent(kind, r)]
            return self._list(req, auth, lib, kind, records, req.path)
        if rest == ["trash"] and kind == "items":
            self._allow(method, ("GET", "HEAD"))
            records = [r for r in lib.items.values() if r.data.get("deleted")]
            return self._list(req, auth, lib, kind, records, req.path, force_trash=True)
        key = rest[0]
        if len(rest) == 1:
            self._allow(method, ("GET", "HEAD", "PUT", "PATCH", "DELETE"))
            if not is_valid_key(key):
                raise ApiError(404, "Not found")
            if method in ("GET", "HEAD"):
                return self._single(req, auth, lib, kind, key)
            return self._single_write(req, auth, lib, kind, key)
        if not is_valid_key(key):
            raise ApiError(404, "Not found")
        if kind == "items" and rest[1:] == ["children"]:
            self._allow(method, ("GET", "HEAD"))
            parent = lib.items.get(key)
            if parent is None:
                raise ApiError(404, "Item not found")
            records = [r for r in self._base(lib, "items", req) if r.data.get("parentItem") == key]
            return self._list(req, auth, lib, kind, records, req.path)
        if kind == "collections" and rest[1:] in (["collections"], ["items"], ["items", "top"]):
            self._allow(method, ("GET", "HEAD"))
            if key not in lib.collections:
                raise ApiError(404, "Collection not found")
            if rest[1] == "collections":
                records = [
                    r
                    for r in self._base(lib, "collections", req)
                    if r.data.get("parentCollection") == key
                ]
                return self._list(req, auth, lib, "collections", records, req.path)
            members = [
                r for r in self._base(lib, "items", req) if key in (r.data.get("collections") or ())
            ]
            if rest[1:] == ["items"]:
                member_keys = {r.key for r in members}
                members += [
                    r
                    for r in self._base(lib, "items", req)
                    if r.data.get("parentItem") in member_keys
                ]
            return self._list(req, auth, lib, "items", members, req.path)
        if kind == "items" and rest[1:] == ["tags"]:
            self._allow(method, ("GET", "HEAD"))
            record = lib.items.get(key)
            if record is None:
                raise ApiError(404, "Item not found")
            return self._tag_list(lib, [record])
        if kind == "collections" and rest[1:] == ["tags"]:
            self._allow(method, ("GET", "HEAD"))
            if key not in lib.collections:
                raise ApiError(404, "Collection not found")
            members = [
                r for r in self._base(lib, "items", req) if key in (r.data.get("collections") or ())
            ]
            return self._tag_list(lib, members)
        if kind == "searches" and rest[1:] == ["items"]:
            raise ApiError(501, "Running saved searches is not supported by this emulator")
        raise ApiError(404, "Not found")

    @staticmethod
    def _allow(method: str, methods: tuple[str, ...]) -> None:
        if method not in methods:
            raise ApiError(405, "Method not allowed", headers={"Allow": ", ".join(methods)})

    @staticmethod
    def _parent(kind: str, record: Record) -> object:
        if kind == "items":
            return record.data.get("parentItem")
        if kind == "collections":
            return record.data.get("parentCollection")
        return None

    def _base(self, lib: Library, kind: str, req: Request, *, by_key: bool = False) -> list[Record]:
        """All objects of ``kind`` the request may see (trash excluded unless
        ``includeTrashed=1``). ``by_key``: only those the request names by key, if it names
        any (``select`` filters by them anyway): a client reading back 50 items must not
        cost a walk of the whole library, or a mass edit is quadratic."""
        include_trashed = first(req.query, "includeTrashed") in ("1", "true")
        objs: Iterable[Record] = lib.objects[kind].values()
        if by_key and (keys := requested_keys(req.query, kind)):  # none valid: no filter
            objs = lib.by_keys(kind, keys)
        return [r for r in objs if include_trashed or not r.data.get("deleted")]

    # ------------------------------------------------------------------ reads
    def _list(
        self,
        req: Request,
        auth: Auth,
        lib: Library,
        kind: str,
        records: list[Record],
        path: str,
        *,
        force_trash: bool = False,
        top: bool = False,
    ) -> Response:
        params: ListParams = parse_list_params(req.query, kind)
        if kind == "items" and not auth.can_see_notes(lib.user_id):
            records = [r for r in records if r.data.get("itemType") != "note"]
        title_fields = {"title"} | {
            info.base_of["title"]
            for info in self.state.schema.types.values()
            if "title" in info.base_of
        }
        if top:
            chosen = self._select_top(lib, records, params, title_fields)
        else:
            chosen = select(records, params, kind=kind, title_fields=title_fields, state=self.state)
        total = len(chosen)
        end = None if params.limit is None else params.start + params.limit
        page = chosen[params.start : end]
        headers = {
            "Total-Results": str(total),
            "Link": build_links(self.base_url, path, params, total, self.renderer.site_url),
            "Last-Modified-Version": str(lib.version),
        }
        if params.format == "versions":
            return Response(
                200,
                dumps({r.key: r.version for r in page}),
                {"Content-Type": "application/json", **headers},
            )
        if params.format == "keys":
            text = "\n".join(r.key for r in page) + "\n"
            return Response(200, text.encode(), {"Content-Type": "text/plain", **headers})
        counts = lib.child_counts() if kind == "items" else None
        ccounts = self.renderer.collection_counts(lib) if kind == "collections" else None
        body = [
            self.renderer.render(kind, lib, r, child_counts=counts, collection_counts=ccounts)
            for r in page
        ]
        return Response(200, dumps(body), {"Content-Type": "application/json", **headers})

    def _select_top(
        self, lib: Library, records: list[Record], params: ListParams, title_fields: set[str]
    ) -> list[Record]:
        """``/items/top`` (DS ``Items::search`` with ``$onlyTopLevel``): without ``itemKey``,
        ``itemType`` or ``q`` only top-level items are searched; with any of them every item
        is matched and each match stands for its top-level item (a child note found by ``q``
        returns its parent once). ``tag`` and ``since`` always test the top-level item itself
        (DS joins them on ``COALESCE(topLevelItemID, itemID)``), and a trashed parent hides
        its children's matches."""
        visible = {r.key: r for r in records}
        if not (params.keys or params.item_types or params.q):
            tops = [r for r in records if not r.data.get("parentItem")]
            return select(tops, params, kind="items", title_fields=title_fields, state=self.state)
        matched = select(
            records,
            replace(params, since=None, tags=[]),
            kind="items",
            title_fields=title_fields,
            state=self.state,
        )
        found: dict[str, Record] = {}
        for record in matched:
            top = record
            while top.data.get("parentItem"):
                parent = lib.items.get(str(top.data["parentItem"]))
                if parent is None:
                    break
                top = parent
            if top.key in visible:
                found.setdefault(top.key, top)
        only_order = replace(params, keys=None, item_types=[], q=None)
        if params.sort.endswith("KeyList"):
            only_order = replace(only_order, sort="dateModified")
        return select(
            list(found.values()),
            only_order,
            kind="items",
            title_fields=title_fields,
            state=self.state,
        )

    def _single(self, req: Request, auth: Auth, lib: Library, kind: str, key: str) -> Response:
        record = lib.objects[kind].get(key)
        if record is None or (
            kind == "items"
            and record.data.get("itemType") == "note"
            and not auth.can_see_notes(lib.user_id)
        ):
            raise ApiError(
                404, "Item does not exist" if kind == "items" else f"{LABELS[kind]} not found"
            )
        fmt = first(req.query, "format")
        if fmt is not None and fmt != "json":
            if kind == "items" and fmt in ("keys", "versions"):
                raise ApiError(400, f"Invalid 'format' value '{fmt}'")
            if fmt not in ("keys", "versions"):
                parse_list_params({"format": [fmt]}, kind)  # raises the format error
        return json_response(
            self.renderer.render(kind, lib, record), Last_Modified_Version=record.version
        )

    def _deleted(self, req: Request, lib: Library) -> Response:
        self._allow(req.method, ("GET", "HEAD"))
        since = first(req.query, "since")
        if since is None:
            since = first(req.query, "newer")
        if since is None or since == "":
            raise ApiError(400, "'since' parameter must be provided")
        try:
            since_v = int(since)
        except ValueError:
            raise ApiError(400, "Invalid value for 'since' parameter") from None
        body = {
            kind: [k for k, v in lib.delete_log[kind].items() if v > since_v]
            for kind in ("collections", "items", "searches", "tags", "settings")
        }
        return json_response(body, Last_Modified_Version=lib.version)

    def _tags(self, req: Request, auth: Auth, lib: Library, rest: list[str]) -> Response:
        if rest:
            raise ApiError(404, "Not found")
        if req.method == "DELETE":
            self._check_library_isuv(req, lib)
            raw = first(req.query, "tag")
            if not raw:
                raise ApiError(400, "'tag' parameter must be provided")
            names = [n for n in re.split(r"\s+\|\|\s+", raw) if n]
            clock = VersionClock(lib, self.state.per_object_versions)
            self.state.delete_tags(lib, names, clock)
            return Response(204, b"", {"Last-Modified-Version": str(lib.version)})
        self._allow(req.method, ("GET", "HEAD", "DELETE"))
        return self._tag_list(lib, self._base(lib, "items", req))

    def _tag_list(self, lib: Library, records: list[Record]) -> Response:
        """Tags of ``records`` with the number of items carrying each (``/tags``,
        ``/items/<K>/tags``, ``/collections/<K>/tags``)."""
        counts: dict[tuple[str, int], int] = {}
        for record in records:
            for tag in record.data.get("tags", []):
                ident = (tag["tag"], int(tag.get("type", 0)))
                counts[ident] = counts.get(ident, 0) + 1
        rows = sorted(counts.items(), key=lambda kv: kv[0][0].lower())
        username = self.renderer.username(lib.user_id)
        body = [
            {
                "tag": name,
                "links": {
                    "self": {
                        "href": f"{self.base_url}/users/{lib.user_id}/tags/{quote(name)}",
                        "type": "application/json",
                    },
                    "alternate": {
                        "href": f"{self.renderer.site_url}/{username}/tags/{quote(name)}",
                        "type": "text/html",
                    },
                },
                "meta": {"type": ttype, "numItems": n},
            }
            for (name, ttype), n in rows
        ]
        return json_response(body, Last_Modified_Version=lib.version, Total_Results=len(body))

    # ----------------------------------------------------------------- writes
    def _body(self, req: Request) -> object:
        if not req.body:
            raise ApiError(400, f"{req.method} data not provided")
        try:
            return json.loads(req.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(400, "JSON Error: Syntax error, malformed JSON") from None

    def _check_library_isuv(self, req: Request, lib: Library) -> bool:
        header = req.header("If-Unmodified-Since-Version")
        if header is None:
            return False
        if not header.strip().isdigit():
            raise ApiError(400, "Invalid If-Unmodified-Since-Version value")
        expected = int(header)
        if lib.version > expected:
            raise ApiError(
                412,
                f"Library has been modified since specified version (expected {expected}, found {lib.version})",
                library_version=lib.version,
            )
        return True

    def _post(self, req: Request, auth: Auth, lib: Library, kind: str) -> Response:
        header_checked = self._check_library_isuv(req, lib)
        body = self._body(req)
        if not isinstance(body, list):
            raise ApiError(400, "Uploaded data must be a JSON array")
        if len(body) > MAX_BATCH:
            raise ApiError(413, f"Cannot add more than {MAX_BATCH} {kind} at a time")
        clock = VersionClock(lib, self.state.per_object_versions, batch=True)
        report = Report()
        for index, obj in enumerate(body):
            name = str(index)
            try:
                if not isinstance(obj, dict):
                    singular = LABELS[kind].lower()
                    raise ObjectError(
                        400,
                        f"Invalid value for index {index} in uploaded data; expected JSON {singular} object",
                    )
                result = self.state.write_object(
                    kind,
                    lib,
                    obj,
                    clock=clock,
                    mode="post",
                    header_checked=header_checked,
                    zotero_client=_zotero_client(req),
                )
            except ObjectError as exc:
                failure: Json = {}
                given = obj.get("key") if isinstance(obj, dict) else None
                if isinstance(obj, dict) and isinstance(obj.get("data"), dict):
                    given = obj["data"].get("key", given)
                if given:
                    failure["key"] = given
                failure["code"] = exc.code
                # DS Results::generateReport: htmlspecialchars($message, ENT_COMPAT)
                failure["message"] = html.escape(exc.message, quote=False).replace('"', "&quot;")
                if exc.data is not None:
                    failure["data"] = exc.data
                report.failed[name] = failure
                continue
            if result.changed:
                record = lib.objects[kind][result.key]
                # A just-created object cannot have children yet: skip the scan.
                counts: dict[str, int] | None = {} if result.created else None
                report.successful[name] = self.renderer.render(
                    kind, lib, record, fresh=result.created, child_counts=counts
                )
                report.success[name] = result.key
            else:
                report.unchanged[name] = result.key
        self._remember_token(req, auth)
        return json_response(report.to_json(), Last_Modified_Version=lib.version)

    def _single_write(
        self, req: Request, auth: Auth, lib: Library, kind: str, key: str
    ) -> Response:
        existing = lib.objects[kind].get(key)
        isuv = req.header("If-Unmodified-Since-Version")
        if req.method == "DELETE":
            self.state.check_single_write_version(kind, existing, "DELETE", isuv, None)
            if existing is not None:
                self.state.delete_objects(kind, lib, [key])
            return Response(204, b"", {"Last-Modified-Version": str(lib.version)})
        body = self._body(req)
        if not isinstance(body, dict):
            raise ApiError(400, "Uploaded data must be a JSON object")
        self.state.check_single_write_version(kind, existing, req.method, isuv, body)
        clock = VersionClock(lib, self.state.per_object_versions)
        try:
            self.state.write_object(
                kind,
                lib,
                body,
                clock=clock,
                mode="put" if req.method == "PUT" else "patch",
                url_key=key,
                version_validated=True,
                zotero_client=_zotero_client(req),
            )
        except ObjectError as exc:
            raise ApiError(exc.code, exc.message) from None
        self._remember_token(req, auth)
        return Response(204, b"", {"Last-Modified-Version": str(lib.version)})

    def _multi_delete(self, req: Request, lib: Library, kind: str) -> Response:
        self._check_library_isuv(req, lib)
        # Invalid keys are ignored (DS parseQueryParams), so they delete nothing.
        keys = requested_keys(req.query, kind) or []
        if len(keys) > MAX_BATCH:
            raise ApiError(413, f"Cannot delete more than {MAX_BATCH} {kind} at a time")
        self.state.delete_objects(kind, lib, keys)
        return Response(204, b"", {"Last-Modified-Version": str(lib.version)})


def _zotero_client(req: Request) -> bool:
    """DS ``updateFromJSON``'s "tmp Zotero client hack" applies to Zotero's own clients."""
    agent = req.header("user-agent") or ""
    return "Firefox" in agent or "Zotero" in agent


__all__ = ["Api", "Auth", "Request", "Response"]
