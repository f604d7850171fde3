"""Load and validate the YAML config.

Lookup order: ``pllm-sync --config PATH``, then ``$PLLM_SYNC_CONFIG``, then ``config.yaml`` in the
user config dir; with none of these the embedded defaults apply. Every problem is reported
with the file, the dotted key and the fix, and nothing runs on a config that fails validation.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError
from .paths import app_dirs

TYPE_CHECKING = False  # typing is not loaded at run time (mypy reads this name as True)
if TYPE_CHECKING:
    from typing import Any

CONFIG_ENV = "PLLM_SYNC_CONFIG"
LOCAL_ENDPOINT = "http://localhost:23119/api"
"""``zotero.endpoint: local``: the Zotero desktop's local API."""

DEFAULT_SOURCES: tuple[dict[str, str], ...] = (
    {
        "name": "jiahongliu21",
        "url": "https://raw.githubusercontent.com/JiahongLiu21/"
        "Awesome-Personalized-Large-Language-Models/main/README.md",
    },
    {
        "name": "vanillacreamer",
        "url": "https://raw.githubusercontent.com/VanillaCreamer/Awesome-Personalized-LLMs/main/README.md",
    },
)

CONFLICT_POLICIES = ("ask", "zotero", "vault", "newest")
VAULT_DELETE_POLICIES = ("zotero-trash", "ignore")
ZOTERO_TRASH_POLICIES = ("vault-trash", "ignore")


@dataclass(frozen=True)
class SourceConfig:
    """One catalog source: exactly one of ``url`` or ``path``."""

    name: str
    url: str | None = None
    path: Path | None = None
    include: tuple[str, ...] = ()  # section-path globs to take (empty = every section)
    exclude: tuple[str, ...] = ()  # section-path globs to leave out (wins over include)


@dataclass(frozen=True)
class CatalogConfig:
    sources: tuple[SourceConfig, ...]
    timeout_seconds: float = 20.0
    offline: bool = False
    github_raw_base: str = "https://raw.githubusercontent.com"
    """Where ``lists add github:owner/repo`` finds READMEs (tests point it at a local server)."""


@dataclass(frozen=True)
class ZoteroConfig:
    library_id: str | None = None
    library_type: str = "user"
    endpoint: str = "https://api.zotero.org"
    root_collection: str = "pllm-sync"
    stream_url: str = "wss://stream.zotero.org"
    """Zotero's streaming API (websocket) that tells ``watch`` about changes at once;
    ``off`` leaves only polling."""

    @property
    def configured(self) -> bool:
        return self.library_id is not None

    @property
    def local(self) -> bool:
        """The Zotero desktop's local API (``endpoint: local``), not the Web API."""
        parts = urlsplit(self.endpoint)
        return parts.hostname in ("localhost", "127.0.0.1") and parts.path.rstrip("/").endswith(
            "/api"
        )


@dataclass(frozen=True)
class VaultConfig:
    path: Path = Path("pllm-vault")
    papers_folder: str = "Papers"
    index_folder: str = "Sections"
    trash_folder: str = ".pllm-sync-trash"
    whats_new: bool = True
    """After a pull that brings new papers, add them to the "What's new" note."""


@dataclass(frozen=True)
class SyncConfig:
    conflict: str = "ask"
    on_vault_delete: str = "zotero-trash"
    on_zotero_trash: str = "vault-trash"
    max_delete: int = 25
    max_delete_percent: float = 20.0


@dataclass(frozen=True)
class WatchConfig:
    zotero_poll_seconds: float = 30.0
    catalog_refresh_minutes: float = 60.0
    debounce_seconds: float = 2.0
    reconcile_minutes: float = 15.0
    """Full vault scan and Zotero poll while the stream is connected: the safety net for an
    event the watcher or the stream missed."""
    delete_grace_seconds: float = 60.0
    """How long a note gone from the whole vault waits before the daemon takes it for
    deleted: a cloud sync may deliver a note's move on another device as its deletion
    first and the new file later (the daemon trashed the item meanwhile, and the other
    device then trashed its note). A one-shot ``sync`` acts at once."""


DEFAULT_API_PORT = 23120
"""The local API's fixed default port, so a plugin finds the daemon without configuration:
next to Zotero's own connector port (23119), outside the ephemeral range."""


@dataclass(frozen=True)
class ApiConfig:
    """The daemon's local HTTP API for plugin front ends (loopback only, bearer token)."""

    enabled: bool = True
    port: int = DEFAULT_API_PORT


METADATA_ENV = "PLLM_SYNC_METADATA"
"""``off`` disables metadata enrichment whatever the config says (scripts, CI, tests)."""


@dataclass(frozen=True)
class MetadataConfig:
    """Enrichment from arXiv and Semantic Scholar (see ``pllm_sync.metadata``)."""

    enabled: bool = True
    arxiv_url: str = "https://export.arxiv.org/api/query"
    semanticscholar_url: str | None = "https://api.semanticscholar.org/graph/v1"
    arxiv_interval_seconds: float = 3.0
    semanticscholar_interval_seconds: float = 1.1
    connect_timeout_seconds: float = 3.0
    timeout_seconds: float = 30.0
    backoff_seconds: float = 5.0
    cache_days: float = 30.0
    preprint_recheck_days: float = 7.0
    missing_recheck_days: float = 7.0
    title_lookups: int = 100
    title_threshold: float = 0.5

    @property
    def active(self) -> bool:
        return self.enabled and os.environ.get(METADATA_ENV, "").lower() not in ("off", "0")


@dataclass(frozen=True)
class Config:
    catalog: CatalogConfig
    zotero: ZoteroConfig = field(default_factory=ZoteroConfig)
    vault: VaultConfig = field(default_factory=VaultConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    metadata: MetadataConfig = field(default_factory=MetadataConfig)
    path: Path | None = None  # the file it came from, if any

    @property
    def state_name(self) -> str:
        """A stable name for this config's state database (one database per config)."""
        import hashlib

        ident = str(self.path.resolve()) if self.path else "defaults"
        return hashlib.sha1(ident.encode()).hexdigest()[:12]


def default_config() -> Config:
    return Config(
        catalog=CatalogConfig(
            sources=tuple(SourceConfig(name=s["name"], url=s["url"]) for s in DEFAULT_SOURCES)
        )
    )


class _Validator:
    """Collects every problem in one pass so the user fixes them all at once."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []

    def error(self, key: str, msg: str) -> None:
        self.problems.append(f"{key}: {msg}")

    def section(self, data: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        raw = data.get(key, {})
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.error(key, f"must be a mapping, got {type(raw).__name__}")
            return {}
        for unknown in sorted(set(raw) - allowed):
            self.error(f"{key}.{unknown}", f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return raw

    def string(
        self,
        sec: dict[str, Any],
        prefix: str,
        key: str,
        default: str,
        choices: tuple[str, ...] | None = None,
    ) -> str:
        val = sec.get(key, default)
        if isinstance(val, int | float) and not isinstance(val, bool):
            val = str(val)
        if not isinstance(val, str) or not val.strip():
            self.error(f"{prefix}.{key}", "must be a non-empty string")
            return default
        if choices and val not in choices:
            self.error(f"{prefix}.{key}", f"must be one of {', '.join(choices)} (got {val!r})")
            return default
        return val

    def number(
        self, sec: dict[str, Any], prefix: str, key: str, default: float, minimum: float = 0
    ) -> float:
        val = sec.get(key, default)
        if isinstance(val, bool) or not isinstance(val, int | float) or val < minimum:
            self.error(f"{prefix}.{key}", f"must be a number >= {minimum} (got {val!r})")
            return default
        return float(val)

    def boolean(self, sec: dict[str, Any], prefix: str, key: str, default: bool) -> bool:
        val = sec.get(key, default)
        if not isinstance(val, bool):
            self.error(f"{prefix}.{key}", f"must be true or false (got {val!r})")
            return default
        return val


def _folder_name(v: _Validator, sec: dict[str, Any], key: str, default: str) -> str:
    val = v.string(sec, "vault", key, default)
    parts = Path(val).parts
    if Path(val).is_absolute() or ".." in parts:
        v.error(f"vault.{key}", "must be a folder inside the vault (relative, no '..')")
        return default
    return val


def _patterns(v: _Validator, s: dict[str, Any], key: str) -> tuple[str, ...]:
    """``include`` / ``exclude``: one glob or a list of globs over section paths."""
    raw = s.get(key.rsplit(".", 1)[1])
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(x, str) and x.strip() for x in items):
        v.error(key, "must be a section pattern or a list of them, e.g. ['Benchmark*']")
        return ()
    return tuple(x.strip() for x in items)


def _raw_base(v: _Validator, cat: dict[str, Any]) -> str:
    val = v.string(cat, "catalog", "github_raw_base", "https://raw.githubusercontent.com")
    if not val.startswith(("http://", "https://")):
        v.error("catalog.github_raw_base", f"must be an http(s) URL (got {val!r})")
        return "https://raw.githubusercontent.com"
    return val.rstrip("/")


def parse_config(data: Any, origin: str, base_dir: Path | None = None) -> Config:
    """Validate a parsed YAML document into a ``Config``; raise ``ConfigError`` listing all
    problems."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{origin}: the top level must be a mapping of sections",
            hint="see config.example.yaml for the layout",
        )
    v = _Validator(origin)
    sections = {"catalog", "zotero", "vault", "sync", "watch", "api", "metadata"}
    for unknown in sorted(set(data) - sections):
        v.error(str(unknown), f"unknown section (allowed: {', '.join(sorted(sections))})")
    base = base_dir or Path.cwd()

    cat = v.section(data, "catalog", {"sources", "timeout_seconds", "offline", "github_raw_base"})
    sources: list[SourceConfig] = []
    raw_sources = cat.get("sources", list(DEFAULT_SOURCES))
    if not isinstance(raw_sources, list) or not raw_sources:
        v.error("catalog.sources", "must be a non-empty list of {name, url} or {name, path}")
        raw_sources = []
    seen: set[str] = set()
    for i, s in enumerate(raw_sources):
        key = f"catalog.sources[{i}]"
        if not isinstance(s, dict):
            v.error(key, "must be a mapping with name and url or path")
            continue
        for unknown in sorted(set(s) - {"name", "url", "path", "include", "exclude"}):
            v.error(f"{key}.{unknown}", "unknown key (allowed: name, url, path, include, exclude)")
        include = _patterns(v, s, f"{key}.include")
        exclude = _patterns(v, s, f"{key}.exclude")
        name = s.get("name")
        if not isinstance(name, str) or not name.strip():
            v.error(f"{key}.name", "must be a non-empty string")
            continue
        if name in seen:
            v.error(f"{key}.name", f"duplicate source name {name!r}; names must be unique")
        seen.add(name)
        url, path = s.get("url"), s.get("path")
        if (url is None) == (path is None):
            v.error(key, "give exactly one of url or path")
            continue
        if url is not None:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                v.error(f"{key}.url", f"must be an http(s) URL (got {url!r})")
                continue
            sources.append(SourceConfig(name=name, url=url, include=include, exclude=exclude))
        else:
            if not isinstance(path, str):
                v.error(f"{key}.path", "must be a string")
                continue
            p = Path(path).expanduser()
            sources.append(
                SourceConfig(
                    name=name,
                    path=p if p.is_absolute() else base / p,
                    include=include,
                    exclude=exclude,
                )
            )
    catalog = CatalogConfig(
        sources=tuple(sources),
        timeout_seconds=v.number(cat, "catalog", "timeout_seconds", 20.0, minimum=0.1),
        offline=v.boolean(cat, "catalog", "offline", False),
        github_raw_base=_raw_base(v, cat),
    )

    z = v.section(
        data,
        "zotero",
        {"library_id", "library_type", "endpoint", "root_collection", "stream_url", "api_key"},
    )
    if "api_key" in z:
        v.error(
            "zotero.api_key",
            "API keys do not belong in config files; remove it and run "
            "`pllm-sync init` (keyring) or set $PLLM_SYNC_ZOTERO_API_KEY",
        )
    lib_id = z.get("library_id")
    if lib_id is not None:
        if (
            isinstance(lib_id, bool)
            or not isinstance(lib_id, int | str)
            or not str(lib_id).isdigit()
        ):
            v.error(
                "zotero.library_id",
                f"must be the numeric library id (got {lib_id!r}); "
                "find it at zotero.org/settings/keys",
            )
            lib_id = None
        else:
            lib_id = str(lib_id)
    endpoint = v.string(z, "zotero", "endpoint", "https://api.zotero.org")
    if endpoint == "local":
        endpoint = LOCAL_ENDPOINT
    if not endpoint.startswith(("http://", "https://")):
        v.error("zotero.endpoint", f"must be an http(s) base URL (got {endpoint!r})")
    stream_url = v.string(z, "zotero", "stream_url", "wss://stream.zotero.org")
    if stream_url != "off" and not stream_url.startswith(("ws://", "wss://")):
        v.error("zotero.stream_url", f"must be a ws(s):// URL or off (got {stream_url!r})")
    zotero = ZoteroConfig(
        library_id=lib_id,
        library_type=v.string(z, "zotero", "library_type", "user", ("user", "group")),
        endpoint=endpoint.rstrip("/"),
        root_collection=v.string(z, "zotero", "root_collection", "pllm-sync"),
        stream_url=stream_url.rstrip("/"),
    )
    if zotero.local:  # the desktop serves the logged-in user's own library as user 0
        if zotero.library_type != "user":
            v.error("zotero.library_type", "the desktop's local API serves only your own library")
        zotero = replace(zotero, library_id=zotero.library_id or "0")

    vs = v.section(
        data, "vault", {"path", "papers_folder", "index_folder", "trash_folder", "whats_new"}
    )
    vpath = Path(v.string(vs, "vault", "path", "pllm-vault")).expanduser()
    vault = VaultConfig(
        path=vpath if vpath.is_absolute() else base / vpath,
        papers_folder=_folder_name(v, vs, "papers_folder", "Papers"),
        index_folder=_folder_name(v, vs, "index_folder", "Sections"),
        trash_folder=_folder_name(v, vs, "trash_folder", ".pllm-sync-trash"),
        whats_new=v.boolean(vs, "vault", "whats_new", True),
    )

    sy = v.section(
        data,
        "sync",
        {"conflict", "on_vault_delete", "on_zotero_trash", "max_delete", "max_delete_percent"},
    )
    sync = SyncConfig(
        conflict=v.string(sy, "sync", "conflict", "ask", CONFLICT_POLICIES),
        on_vault_delete=v.string(
            sy, "sync", "on_vault_delete", "zotero-trash", VAULT_DELETE_POLICIES
        ),
        on_zotero_trash=v.string(
            sy, "sync", "on_zotero_trash", "vault-trash", ZOTERO_TRASH_POLICIES
        ),
        max_delete=int(v.number(sy, "sync", "max_delete", 25)),
        max_delete_percent=v.number(sy, "sync", "max_delete_percent", 20.0),
    )

    w = v.section(
        data,
        "watch",
        {
            "zotero_poll_seconds",
            "catalog_refresh_minutes",
            "debounce_seconds",
            "reconcile_minutes",
            "delete_grace_seconds",
        },
    )
    watch = WatchConfig(
        zotero_poll_seconds=v.number(w, "watch", "zotero_poll_seconds", 30.0, minimum=1),
        catalog_refresh_minutes=v.number(w, "watch", "catalog_refresh_minutes", 60.0, minimum=1),
        debounce_seconds=v.number(w, "watch", "debounce_seconds", 2.0),
        reconcile_minutes=v.number(w, "watch", "reconcile_minutes", 15.0, minimum=0.01),
        delete_grace_seconds=v.number(w, "watch", "delete_grace_seconds", 60.0, minimum=0),
    )

    a = v.section(data, "api", {"enabled", "port"})
    port = a.get("port", DEFAULT_API_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        v.error("api.port", f"must be a port number 0-65535, 0 = any free port (got {port!r})")
        port = DEFAULT_API_PORT
    api = ApiConfig(enabled=v.boolean(a, "api", "enabled", True), port=port)
    metadata = _metadata_config(v, data)

    if v.problems:
        listing = "\n  ".join(v.problems)
        raise ConfigError(
            f"{origin}: invalid config:\n  {listing}",
            hint="fix the keys above; config.example.yaml documents every key",
        )
    return Config(
        catalog=catalog,
        zotero=zotero,
        vault=vault,
        sync=sync,
        watch=watch,
        api=api,
        metadata=metadata,
    )


def _metadata_config(v: _Validator, data: dict[str, Any]) -> MetadataConfig:
    d = MetadataConfig()
    numbers = (
        "arxiv_interval_seconds",
        "semanticscholar_interval_seconds",
        "connect_timeout_seconds",
        "timeout_seconds",
        "backoff_seconds",
        "cache_days",
        "preprint_recheck_days",
        "missing_recheck_days",
        "title_lookups",
        "title_threshold",
    )
    m = v.section(data, "metadata", {"enabled", "arxiv_url", "semanticscholar_url", *numbers})
    urls: dict[str, str | None] = {}
    for key, default in (
        ("arxiv_url", d.arxiv_url),
        ("semanticscholar_url", d.semanticscholar_url),
    ):
        raw = m.get(key, default)
        if raw is None and key == "semanticscholar_url":
            urls[key] = None  # null: do not use the service
            continue
        if not isinstance(raw, str) or not raw.startswith(("http://", "https://")):
            v.error(f"metadata.{key}", f"must be an http(s) URL (got {raw!r})")
            raw = default
        urls[key] = raw.rstrip("/") if raw else raw
    vals = {k: v.number(m, "metadata", k, float(getattr(d, k)), minimum=0) for k in numbers}
    return MetadataConfig(
        enabled=v.boolean(m, "metadata", "enabled", True),
        arxiv_url=urls["arxiv_url"] or d.arxiv_url,
        semanticscholar_url=urls["semanticscholar_url"],
        title_lookups=int(vals.pop("title_lookups")),
        **vals,
    )


def find_config_path(explicit: str | Path | None = None) -> Path | None:
    """The config file in force, or None when the embedded defaults apply."""
    if explicit:
        p = Path(explicit).expanduser()
        if p.is_dir():
            raise ConfigError(
                f"{p} is a folder, not a config file", hint="pass the YAML file itself to --config"
            )
        if not p.is_file():
            raise ConfigError(
                f"config file not found: {p}", hint="check the path given to --config"
            )
        return p
    env = os.environ.get(CONFIG_ENV)
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise ConfigError(
                f"config file not found: {p} (from ${CONFIG_ENV})",
                hint=f"fix or unset ${CONFIG_ENV}",
            )
        return p
    p = app_dirs().config / "config.yaml"
    return p if p.is_file() else None


def read_config_text(path: Path) -> str:
    """The config file's text, or a ConfigError that names the file and the fix."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read config {path}: {exc}",
            hint="check the file's permissions and that it is UTF-8 text",
        ) from exc


def load_config(explicit: str | Path | None = None) -> Config:
    """Find, read and validate the config; embedded defaults when there is none."""
    path = find_config_path(explicit)
    if path is None:
        from .default_vault import follow

        cfg = default_config()
        return replace(cfg, vault=replace(cfg.vault, path=follow(cfg.vault.path)))
    text = read_config_text(path)
    cache = _parsed_cache_file(path)
    data = _cached_parse(cache, text)
    fresh = data is _MISS
    if fresh:
        data = _parse_yaml(path, text)
    cfg = parse_config(data, str(path), base_dir=path.absolute().parent)  # absolute paths
    if fresh:
        _cache_parse(cache, text, data)  # only a config that validated is kept
    return replace(cfg, path=path)


def _parse_yaml(path: Path, text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(
            f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})",
            hint="fix the YAML syntax at that line",
        ) from exc


# The parsed config, cached as JSON next to the text it was parsed from.
#
# Loading PyYAML costs more than everything else ``status`` or ``--help`` does, and the config
# rarely changes. So a config that parsed and validated is kept in the cache dir with its
# exact text; a later run that reads the same text takes the parsed document from there and
# validates it as always (``parse_config`` runs every time, so every result and every message
# is the one YAML would give). Any other text -- one character changed, another file at that
# path -- misses and is parsed by YAML again. Only documents JSON holds exactly (mappings with
# string keys, lists, strings, finite numbers, booleans, null) are kept: dates, binary or
# other YAML-only values always go through YAML. A cache that cannot be read or written is
# simply not used.

_MISS: Any = object()
_CACHE_FORMAT = 1


def _parsed_cache_file(path: Path) -> Path | None:
    import hashlib

    try:
        ident = str(path.absolute())
        return app_dirs().cache / "config" / f"{hashlib.sha1(ident.encode()).hexdigest()}.json"
    except (OSError, ValueError):
        return None


def _cached_parse(cache: Path | None, text: str) -> Any:
    if cache is None:
        return _MISS
    import json

    try:
        entry = json.loads(cache.read_bytes())
    except (OSError, ValueError):
        return _MISS
    if (
        not isinstance(entry, dict)
        or entry.get("format") != _CACHE_FORMAT
        or entry.get("text") != text
        or "data" not in entry
    ):
        return _MISS
    return entry["data"]


def _json_exact(value: Any) -> bool:
    """Whether JSON gives ``value`` back exactly as YAML built it."""
    kind = type(value)
    if value is None or kind in (str, int, bool):
        return True
    if kind is float:
        return bool(value - value == 0)  # finite: NaN and infinities are YAML-only here
    if kind is list:
        return all(_json_exact(v) for v in value)
    if kind is dict:
        return all(type(k) is str and _json_exact(v) for k, v in value.items())
    return False


def _cache_parse(cache: Path | None, text: str, data: Any) -> None:
    if cache is None:
        return
    try:
        if not _json_exact(data):
            return
    except RecursionError:  # a YAML alias inside itself
        return
    import json

    blob = json.dumps({"format": _CACHE_FORMAT, "text": text, "data": data}).encode("utf-8")
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, cache)  # whole or not at all: a reader never sees half an entry
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
