"""Create a vault from the bundled template, or merge the template into an existing vault.

The template (``vault_template/`` at the top of the repository, the one copy; ``setup.py``
copies it into the wheel as ``pllm_sync/data/vault_template/``) is a vault a researcher can open as is: a home note, the
reading queue, a Bases view of all papers, a template for papers added by hand and the
property types. Merging never overwrites a user's file: a file that exists is left alone,
whatever its content; only ``.obsidian/types.json`` is merged, key by key, with the user's
existing types winning.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from ..atomic import atomic_write
from ..errors import VaultError
from .properties import PROPERTY_TYPES, merge_types

log = logging.getLogger(__name__)

TYPES_FILE = ".obsidian/types.json"
DEFAULT_PAPERS = "Papers"
DEFAULT_INDEX = "Sections"
_TEXT_SUFFIXES = (".md", ".base")


@dataclass
class TemplateReport:
    """What a merge did, for the CLI to show."""

    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # existed already: left byte-identical
    types_added: list[str] = field(default_factory=list)
    types_kept: list[str] = field(default_factory=list)  # user typed them differently


CHECKOUT_TEMPLATE = Path(__file__).resolve().parents[3] / "vault_template"


def template_dir() -> Traversable:
    """The template: the copy an installed wheel carries, else (a source checkout or an
    editable install) the repository's own ``vault_template/``."""
    packaged = resources.files("pllm_sync").joinpath("data", "vault_template")
    if packaged.is_dir():
        return packaged
    return CHECKOUT_TEMPLATE


def template_files(root: Traversable | None = None) -> Iterator[tuple[str, Traversable]]:
    """Every file of the template as (POSIX relative path, resource), sorted, dot-files too."""
    base = root if root is not None else template_dir()

    def walk(node: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                yield from walk(child, rel + "/")
            elif child.name != "__pycache__":
                yield rel, child

    if not base.is_dir():
        raise VaultError(
            "the vault template is missing from this installation",
            hint="reinstall pllm-sync (pip install --force-reinstall pllm-sync)",
        )
    yield from walk(base, "")


def _adapt(rel: str, data: bytes, papers_folder: str, index_folder: str) -> bytes:
    """Point the template's views and notes at the configured folder names."""
    if not rel.endswith(_TEXT_SUFFIXES):
        return data
    text = data.decode("utf-8")
    for default, actual in ((DEFAULT_PAPERS, papers_folder), (DEFAULT_INDEX, index_folder)):
        if actual != default:
            text = text.replace(f'"{default}"', json.dumps(actual, ensure_ascii=False))
            text = text.replace(f"`{default}/`", f"`{actual}/`")
    return text.encode("utf-8")


def merge_template(
    vault: Path,
    *,
    papers_folder: str = DEFAULT_PAPERS,
    index_folder: str = DEFAULT_INDEX,
    dry_run: bool = False,
) -> TemplateReport:
    """Copy every template file that is missing from ``vault`` and merge the property types.

    Existing files are never opened for writing; ``types.json`` gains only missing keys.
    """
    report = TemplateReport()
    if not dry_run:
        vault.mkdir(parents=True, exist_ok=True)
    for rel, src in template_files():
        dest = vault / rel
        if rel == TYPES_FILE:
            _merge_types_file(dest, report, dry_run)
            continue
        if dest.exists() or dest.is_symlink():
            report.kept.append(rel)
            continue
        if not dry_run:
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                atomic_write(
                    dest,
                    _adapt(rel, src.read_bytes(), papers_folder, index_folder),
                    exclusive=True,
                )
            except FileExistsError:  # appeared meanwhile: it is the user's now
                report.kept.append(rel)
                continue
        report.created.append(rel)
    return report


def _merge_types_file(dest: Path, report: TemplateReport, dry_run: bool) -> None:
    try:
        existing = dest.read_text(encoding="utf-8") if dest.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise VaultError(
            f"cannot read {dest}: {exc}", hint="fix the file's permissions or encoding"
        ) from exc
    merged = merge_types(existing, PROPERTY_TYPES, str(dest))
    report.types_added = merged.added
    report.types_kept = merged.kept
    if merged.text is None:
        report.kept.append(TYPES_FILE)
        return
    if existing is None:
        report.created.append(TYPES_FILE)
    if not dry_run:
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dest, merged.text.encode("utf-8"))
    log.info("property types added to %s: %s", dest, ", ".join(merged.added))
