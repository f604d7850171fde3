"""The emulator state and the rules that change it: accounts, write tokens, object writes
(dispatched to the item, collection and search rules) and permanent deletes.

Everything here runs under :attr:`EmulatorState.lock` (one lock around all library state, so
the threaded HTTP server never interleaves two writes). The rules and messages follow the
dataserver (``controllers/ApiController.php``, ``model/DataObjects.inc.php``,
``model/Items.inc.php``, ``model/Item.inc.php``) and its API tests
(``tests/remote/tests/3/version.test.js``); where the docs disagree with the code, the code
wins, because that is what clients meet in production.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterable
from typing import Any

from .collection_rules import CollectionRules
from .item_rules import ItemRules
from .model import (
    DELETE_LOG_KINDS,
    FULL_ACCESS,
    KINDS,
    LABELS,
    READ_ONLY_ACCESS,
    WRITE_TOKEN_TTL,
    ApiError,
    ApiKey,
    Json,
    Library,
    Record,
    Report,
    User,
    VersionClock,
    WriteResult,
    new_api_key,
    now_iso,
    parse_version,
)
from .validation import Schema, clean_json, load_schema

__all__ = [
    "DELETE_LOG_KINDS",
    "FULL_ACCESS",
    "KINDS",
    "LABELS",
    "READ_ONLY_ACCESS",
    "ApiError",
    "ApiKey",
    "EmulatorState",
    "Json",
    "Library",
    "Record",
    "Report",
    "User",
    "VersionClock",
    "WriteResult",
    "new_api_key",
    "parse_version",
]


class EmulatorState(ItemRules, CollectionRules):
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
    # ================================================================== shared
    def write_object(self, kind: str, lib: Library, body: object, **kw: Any) -> WriteResult:
        # The server strips control characters from every string it decodes (DS
        # ApiController::jsonDecode -> cleanStringRecursive) before any rule sees them.
        body = clean_json(body)
        if kind == "items":
            return self.write_item(lib, body, **kw)
        kw.pop("zotero_client", None)
        if kind == "collections":
            return self.write_collection(lib, body, **kw)
        return self.write_search(lib, body, **kw)

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
