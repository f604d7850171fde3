"""The stores never import the engine: data flows one way (sources -> papers -> decide -> apply
-> state), and only ``sync/`` sees more than one side. An import that runs upward fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "pllm_sync"

# Package -> packages it must never import (directly or by relative import).
FORBIDDEN: dict[str, set[str]] = {
    "catalog": {"sync", "zotero", "vault", "daemon", "commands", "cli"},
    "zotero": {"sync", "vault", "catalog", "daemon", "commands", "cli"},
    "vault": {"sync", "zotero", "daemon", "commands", "cli"},
    "sync": {"commands", "cli", "daemon", "api"},
    "api": {"sync", "daemon", "commands", "cli", "vault", "zotero", "catalog", "metadata"},
    "metadata": {"sync", "zotero", "vault", "daemon", "commands", "cli"},
}


def _imported_packages(path: Path, root: Path = PKG) -> set[str]:
    """Top-level ``pllm_sync`` subpackages a module imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel_parts = path.relative_to(root).with_suffix("").parts
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "pllm_sync" and len(parts) > 1:
                    found.add(parts[1])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] == "pllm_sync" and len(parts) > 1:
                    found.add(parts[1])
            else:
                base = list(rel_parts[: len(rel_parts) - node.level])
                target = base + (node.module.split(".") if node.module else [])
                if target:
                    found.add(target[0])
                else:  # ``from .. import x``: x is a subpackage of pllm_sync
                    found.update(a.name for a in node.names)
    return found


def _modules(pkg: str) -> list[Path]:
    return sorted((PKG / pkg).rglob("*.py"))


@pytest.mark.parametrize("pkg", sorted(FORBIDDEN))
def test_no_upward_imports(pkg: str) -> None:
    bad = []
    for mod in _modules(pkg):
        hits = _imported_packages(mod) & FORBIDDEN[pkg]
        if hits:
            bad.append(f"{mod.relative_to(PKG)} imports {sorted(hits)}")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_checker_sees_every_import_shape(tmp_path: Path) -> None:
    """The checker itself must catch each shape an upward import takes."""
    mod = tmp_path / "vault" / "x.py"
    mod.parent.mkdir()
    mod.write_text(
        "from ..sync.engine import A\n"
        "from .. import daemon\n"
        "import pllm_sync.commands.pull\n"
        "from pllm_sync.cli import main\n"
        "from .note import B\n",
        encoding="utf-8",
    )
    assert _imported_packages(mod, tmp_path) == {"sync", "daemon", "commands", "cli", "vault"}
