"""The vault template and `pllm-sync vault init`: a new vault, or a merge into an existing
one that leaves every user file byte-identical and merges types.json key by key."""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from pllm_sync.cli import main
from pllm_sync.vault.properties import PROPERTY_TYPES
from pllm_sync.vault.template import template_dir, template_files

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "vault_template"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_one_copy_of_the_template() -> None:
    """A source checkout reads the top-level vault_template/ itself; no second copy in src/
    can drift from it (setup.py copies it into wheels)."""
    assert not (REPO / "src" / "pllm_sync" / "data" / "vault_template").exists()
    assert {rel for rel, _ in template_files()} == set(_files(TEMPLATE))
    assert Path(str(template_dir())).resolve() == TEMPLATE.resolve()


def test_a_built_wheel_carries_the_template(tmp_path: Path) -> None:
    """`pip install .` installs a wheel: it must hold every template file, dot-folders too."""
    tree = tmp_path / "src"
    for rel in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, tree / rel)
    shutil.copytree(
        REPO / "src", tree / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    shutil.copytree(TEMPLATE, tree / "vault_template")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(tree),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
        ],
        capture_output=True,
        text=True,
        cwd=tree,
    )
    assert res.returncode == 0, res.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    prefix = "pllm_sync/data/vault_template/"
    with zipfile.ZipFile(wheel) as zf:
        shipped = {n[len(prefix) :]: zf.read(n) for n in zf.namelist() if n.startswith(prefix)}
    assert shipped == _files(TEMPLATE)


def test_template_contents_are_usable() -> None:
    types = json.loads((TEMPLATE / ".obsidian" / "types.json").read_text())
    assert types == {"types": PROPERTY_TYPES}
    base = yaml.safe_load((TEMPLATE / "Papers.base").read_text())
    assert 'file.hasProperty("pllm-sync-id")' in base["filters"]["and"], "found by property"
    views = {v["name"]: v for v in base["views"]}
    assert views["By section"]["groupBy"]["property"] == "note.sections"
    assert views["By status"]["groupBy"]["property"] == "note.status"
    assert views["By year"]["groupBy"]["property"] == "note.year"
    assert "Reading queue" in views
    queue = (TEMPLATE / "Reading queue.md").read_text()
    assert "```dataview" in queue and "![[Papers.base#Reading queue]]" in queue
    paper = (TEMPLATE / "Templates" / "Paper.md").read_text()
    fm = yaml.safe_load(paper.split("---\n")[1])
    assert set(fm) == {"title", "arxiv", "doi", "url", "status", "tags"}


def test_vault_init_creates_a_new_vault(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vault = tmp_path / "new vault"
    assert main(["vault", "init", str(vault)]) == 0
    files = _files(vault)
    for rel, data in _files(TEMPLATE).items():
        assert files[rel] == data
    assert (vault / "Papers").is_dir() and (vault / "Sections").is_dir()
    assert "created a new vault" in capsys.readouterr().out


def test_vault_init_merges_without_touching_user_files(tmp_path: Path) -> None:
    vault = tmp_path / "existing"
    (vault / ".obsidian").mkdir(parents=True)
    user_types = {"types": {"year": "text", "mine": "checkbox"}, "other": [1, 2]}
    (vault / ".obsidian" / "types.json").write_text(json.dumps(user_types))
    (vault / ".obsidian" / "app.json").write_text('{"vimMode": true}')
    (vault / "Home.md").write_bytes(b"my own home\r\nnote")
    (vault / "Daily").mkdir()
    (vault / "Daily" / "2024-01-01.md").write_text("diary")
    before = _files(vault)

    assert main(["vault", "init", str(vault)]) == 0
    after = _files(vault)
    for rel, data in before.items():
        if rel != ".obsidian/types.json":
            assert after[rel] == data, rel  # byte-identical
    merged = json.loads(after[".obsidian/types.json"])
    assert merged["other"] == [1, 2]
    assert merged["types"]["year"] == "text"  # the user's type wins
    assert merged["types"]["mine"] == "checkbox"
    for key, kind in PROPERTY_TYPES.items():
        if key != "year":
            assert merged["types"][key] == kind
    assert after["Papers.base"] == (TEMPLATE / "Papers.base").read_bytes()

    # Running it again changes nothing at all.
    stamp = {p: p.stat().st_mtime_ns for p in vault.rglob("*") if p.is_file()}
    assert main(["vault", "init", str(vault)]) == 0
    assert {p: p.stat().st_mtime_ns for p in vault.rglob("*") if p.is_file()} == stamp


def test_broken_types_json_is_reported_and_left_alone(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / ".obsidian" / "types.json").write_text('{"types": {,}}')
    assert main(["vault", "init", str(vault)]) == 5
    assert (vault / ".obsidian" / "types.json").read_text() == '{"types": {,}}'


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vault = tmp_path / "v"
    assert main(["vault", "init", "--dry-run", str(vault)]) == 0
    assert not vault.exists()
    assert "would create: Papers.base" in capsys.readouterr().out


def test_custom_folders_are_written_into_the_views(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("vault:\n  path: v\n  papers_folder: Reading/Papers\n")
    assert main(["--config", str(cfg), "vault", "init"]) == 0
    base = (tmp_path / "v" / "Papers.base").read_text()
    assert 'file.hasProperty("pllm-sync-id")' in base and "inFolder" not in base
    assert (tmp_path / "v" / "Reading" / "Papers").is_dir()
    assert filecmp.cmp(tmp_path / "v" / "Home.md", TEMPLATE / "Home.md") is False
