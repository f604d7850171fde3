"""Issue 8 ("Trust"), vault side: hostile files never hang or blow up a scan, symlinks follow
one documented rule, a vault that vanished is never written into, and atomic writes keep the
file's identity."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pllm_sync.atomic import atomic_write, clean_stale_temp_files, is_temp_litter
from pllm_sync.record import record_from_paper
from pllm_sync.vault import frontmatter_block as fb
from pllm_sync.vault.store import VaultGone, VaultStore

from .vault_helpers import lamp

BOMB = "\n".join(
    [
        "---",
        "pllm-sync-id: arxiv:2304.11406",
        "a0: &a0 [x, x, x, x, x, x, x, x, x]",
        *(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)),
        "method: *a8",
        "---",
        "",
    ]
)


def test_an_alias_bomb_is_refused_quickly_with_its_line() -> None:
    with pytest.raises(fb.FrontmatterProblem, match="alias") as exc:
        fb.parse(BOMB)
    assert exc.value.line is not None


def test_a_few_aliases_are_fine() -> None:
    doc = fb.parse("---\nbase: &b [a, b]\nother: *b\n---\n")
    assert doc.values["other"] == ["a", "b"]


def test_an_alias_bomb_in_a_note_is_a_problem_naming_the_file(
    store: VaultStore, age: Callable[[Path], None]
) -> None:
    path = store.papers_dir / "bomb.md"
    path.write_text(BOMB)
    scan = store.scan()
    assert [p.path for p in scan.problems] == ["Papers/bomb.md"]
    assert "alias" in str(scan.problems[0])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_called_md_is_skipped_not_opened(
    store: VaultStore, caplog: pytest.LogCaptureFixture
) -> None:
    os.mkfifo(store.papers_dir / "pipe.md")
    done: list[object] = []
    t = threading.Thread(target=lambda: done.append(store.scan()), daemon=True)
    t.start()
    t.join(timeout=20)
    assert done, "the scan hung on a named pipe"
    assert "pipe.md" in caplog.text and "not a regular file" in caplog.text


def test_symlinks_leaving_the_vault_are_followed_inside_ones_read_once(
    store: VaultStore, tmp_path: Path
) -> None:
    paper = lamp()
    info = store.create_note(paper, record_from_paper(paper))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.move(str(store.root / info.path), outside / "moved.md")
    (store.root / "Reading").symlink_to(outside, target_is_directory=True)
    (store.root / "Again").symlink_to(store.root / "Reading", target_is_directory=True)
    (store.root / "loop").symlink_to(store.root, target_is_directory=True)
    scan = store.scan()
    assert scan.notes[paper.id].path == "Reading/moved.md"
    assert scan.duplicates == {}
    # a write goes through the link to the file outside
    store.update_note(scan.notes[paper.id], {"status": "read"})
    assert "status: read" in (outside / "moved.md").read_text()
    assert (store.root / "Reading").is_symlink()


def test_a_symlinked_papers_folder_is_synced(tmp_path: Path) -> None:
    from pllm_sync.config import VaultConfig

    real = tmp_path / "cloud" / "Papers"
    real.mkdir(parents=True)
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "Papers").symlink_to(real, target_is_directory=True)
    s = VaultStore(VaultConfig(path=tmp_path / "v"))
    s.ensure(from_template=False)
    paper = lamp()
    s.create_note(paper, record_from_paper(paper))
    assert list(real.glob("*.md")), "the note went through the link"
    assert paper.id in s.scan().notes


def test_writes_refuse_a_vault_that_vanished_after_the_scan(
    store: VaultStore, tmp_path: Path
) -> None:
    store.scan()
    store.root.rename(tmp_path / "away")
    paper = lamp()
    with pytest.raises(VaultGone):
        store.create_note(paper, record_from_paper(paper))
    assert not store.root.exists()
    store.root.mkdir()  # an empty folder at the mount point is not the vault either
    with pytest.raises(VaultGone, match="replaced"):
        store.create_note(paper, record_from_paper(paper))


def test_atomic_write_keeps_the_mode_and_writes_through_a_symlinked_file(tmp_path: Path) -> None:
    target = tmp_path / "real.md"
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.md"
    link.symlink_to(target)
    atomic_write(link, b"new")
    assert link.is_symlink() and target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_only_our_old_temp_files_are_cleaned(tmp_path: Path) -> None:
    ours = tmp_path / ".note.md.ab12cd34.pllm.tmp"
    fresh = tmp_path / ".other.md.zz12cd34.pllm.tmp"
    theirs = tmp_path / "backup.tmp"
    for p in (ours, fresh, theirs):
        p.write_text("x")
    os.utime(ours, (1, 1))
    os.utime(theirs, (1, 1))
    assert clean_stale_temp_files([tmp_path], older_than=1000) == 1
    assert not ours.exists() and fresh.exists() and theirs.exists()
    assert is_temp_litter(".x.md.abcdefgh.tmp") and not is_temp_litter("x.tmp")


def test_ids_are_read_as_typed_numbers_elsewhere_stay_numbers() -> None:
    from pllm_sync.vault.note import parse_note

    p = parse_note("---\narxiv: 2310.10100\ndoi: 10.1000\nyear: 2024\nrating: 4\n---\n")
    assert p.raw["arxiv"] == "2310.10100" and p.raw["doi"] == "10.1000"
    assert p.raw["year"] == 2024 and p.raw["rating"] == 4


def test_stray_lines_are_told_from_the_region_we_render() -> None:
    from pllm_sync.vault import body as b

    region = b.render_region(
        b.ManagedContent(abstract="Abs.", links=[("paper", "https://x.org")], provenance=["l 1"]),
        ["[[A]]"],
    )
    assert b.stray_lines(region) == []
    typed = region.replace("**Sections:**", "mine\n\n- [ ] todo\n**Sections:**")
    assert b.stray_lines(typed) == ["mine", "", "- [ ] todo"]
    parts = b.rescue_stray_text(b.split_body(typed + "\nnotes\n"), "\n", "2026-12-01")
    body = b.set_region(parts, region, "\n")
    assert body is not None and body.startswith(region)
    assert b.notes_of(b.split_body(body)).endswith("mine\n\n- [ ] todo\n\nnotes")


@pytest.mark.parametrize(
    ("text", "after"),
    [
        # the closing line deleted: the body follows the properties
        ("---\nid: x\ntags:\n  - a\n# a comment\n<!-- begin -->\nbody\n", 4),
        ("---\r\nid: x\r\n\r\nMy notes.\r\n", 2),
        ("---\nid: x\n---\nbody\n", None),  # closed
        ("no properties\n---\n", None),  # none opened
        ("---\nid: x\ntitle: A tit", None),  # cut short among them: a copy still arriving
    ],
)
def test_a_properties_block_left_open_says_where_it_ends(text: str, after: int | None) -> None:
    from pllm_sync.vault.frontmatter_block import unclosed_properties

    assert unclosed_properties(text) == after
