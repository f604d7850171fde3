"""Edit ``catalog.sources`` in the user's config file, keeping their comments and layout.

``pllm-sync lists add/remove`` change the config file the user also edits by hand, so the
file is round-tripped with ruamel.yaml (comments, key order and quoting survive) and written
atomically; the result is validated with the normal config loader before it replaces the
old file, so a bad edit changes nothing. A config without ``catalog.sources`` follows the
two default lists implicitly; the first edit writes them out, so adding a list never drops
them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from .atomic import atomic_write
from .config import DEFAULT_SOURCES, parse_config, read_config_text
from .errors import ConfigError


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never fold long URLs
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _load(path: Path) -> tuple[str, Any]:
    text = read_config_text(path) if path.exists() else ""
    try:
        data = _yaml().load(text) if text.strip() else None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(
            f"{where}: not valid YAML, so the list was not changed",
            hint="fix the YAML syntax at that line, then run the command again",
        ) from exc
    if data is None:
        data = CommentedMap()
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections; the list was not changed",
            hint="see config.example.yaml for the layout",
        )
    return text, data


def _sources(path: Path, data: Any) -> Any:
    cat = data.get("catalog")
    if cat is None:
        cat = CommentedMap()
        data["catalog"] = cat
    if not isinstance(cat, dict):
        raise ConfigError(
            f"{path}: catalog must be a mapping; the list was not changed",
            hint="see config.example.yaml for the layout",
        )
    sources = cat.get("sources")
    if sources is None:
        sources = CommentedSeq([CommentedMap(s) for s in DEFAULT_SOURCES])
        cat["sources"] = sources
    if not isinstance(sources, list):
        raise ConfigError(
            f"{path}: catalog.sources must be a list; the list was not changed",
            hint="write catalog.sources as a YAML list of {name, url} entries",
        )
    return sources


def _save(path: Path, old_text: str, data: Any) -> None:
    buf = io.StringIO()
    _yaml().dump(data, buf)
    new_text = buf.getvalue()
    # Validate exactly what will be written, with the normal loader, before writing it.
    parse_config(yaml.safe_load(new_text), str(path), base_dir=path.parent)
    if new_text == old_text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, new_text.encode("utf-8"))


def add_source(path: Path, entry: dict[str, Any]) -> None:
    """Append ``entry`` ({name, url|path[, include, exclude]}) to ``catalog.sources``."""
    text, data = _load(path)
    sources = _sources(path, data)
    name = entry["name"]
    for s in sources:
        if not isinstance(s, dict):
            continue
        if s.get("name") == name:
            raise ConfigError(
                f"{path}: a list named {name!r} is already followed; nothing was changed",
                hint=f"choose another name with --name, or `pllm-sync lists remove {name}` first",
            )
        same = [k for k in ("url", "path") if k in entry and s.get(k) == entry[k]]
        if same:
            raise ConfigError(
                f"{path}: {entry[same[0]]} is already followed as {s.get('name')!r}; "
                "nothing was changed",
                hint="`pllm-sync lists` shows the followed lists",
            )
    sources.append(CommentedMap(entry))
    _save(path, text, data)


def remove_source(path: Path, name: str) -> dict[str, Any]:
    """Drop the source ``name`` from ``catalog.sources``; returns what it was."""
    text, data = _load(path)
    sources = _sources(path, data)
    names = [s.get("name") for s in sources if isinstance(s, dict)]
    if name not in names:
        raise ConfigError(
            f"{path}: no followed list is named {name!r} (followed: "
            f"{', '.join(str(n) for n in names) or 'none'}); nothing was changed",
            hint="`pllm-sync lists` shows the names",
        )
    if len(sources) == 1:
        raise ConfigError(
            f"{path}: {name!r} is the only followed list; pllm-sync needs at least one",
            hint="add another list first with `pllm-sync lists add`",
        )
    idx = names.index(name)
    removed = dict(sources[idx])
    del sources[idx]
    _save(path, text, data)
    return removed
