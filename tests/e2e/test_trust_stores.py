"""Issue 8 ("Trust"), the store side: each scenario once lost, duplicated or corrupted a
researcher's data, or hung or blocked every run. Each test drives the CLI against the emulator.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from pllm_sync.config import load_config
from pllm_sync.sync.state import default_state_path
from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import Env, NewEnv, edit_frontmatter, frontmatter

LIST = """# Trust List

## Alignment

+ **\\[2024 EMNLP\\]** Synthetic Paper One: A Study. ([Paper](https://arxiv.org/abs/2401.00001))
+ **\\[2024 EMNLP\\]** Synthetic Paper Two: A Study. ([Paper](https://arxiv.org/abs/2401.00002))
+ **\\[2024 EMNLP\\]** Synthetic Paper Three: A Study. ([Paper](https://arxiv.org/abs/2401.00003))
"""
FOURTH = (
    "+ **\\[2024 EMNLP\\]** Synthetic Paper Four: A Study. "
    "([Paper](https://arxiv.org/abs/2401.00004))\n"
)
A, B, C = "arxiv:2401.00001", "arxiv:2401.00002", "arxiv:2401.00003"


@pytest.fixture
def env(new_env: NewEnv) -> Env:
    return new_env({"trust": LIST})


def pull(env: Env, *args: str) -> str:
    code, out, err = env.run("pull", "--no-progress", *args)
    assert code == 0, (out, err)
    return out


def trashed(env: Env) -> list[dict[str, Any]]:
    return list(env.items(trashed=True).values())


# --- 6: state and lock follow the vault, not the config file ------------------------------


def test_a_second_config_for_the_same_vault_shares_state_and_lock(env: Env) -> None:
    pull(env)
    _, plan_a, _ = env.run("sync", "--dry-run", "--no-progress")
    other = env.root / "elsewhere" / "copy.yaml"
    other.parent.mkdir()
    shutil.copyfile(env.config, other)
    env.config.rename(env.root / "moved.yaml")  # moving the config keeps the state too
    env.capsys.readouterr()
    from pllm_sync.cli import main

    code = main(["--config", str(other), "sync", "--dry-run", "--no-progress"])
    plan_b, err_b = env.capsys.readouterr()
    assert code == 0, err_b
    assert plan_b == plan_a, "another config for the same vault saw a different state"
    assert "warning" not in err_b.lower()
    # and one lock: a run through the first config keeps the second one out
    cfg = load_config(str(env.root / "moved.yaml"))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(default_state_path(cfg))],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        code = main(["--config", str(other), "sync", "--no-progress"])
        _, err = env.capsys.readouterr()
        assert code == 6 and "another pllm-sync" in err
    finally:
        holder.kill()
        holder.wait()


_HOLD_LOCK = """
import sys, time
from pllm_sync.sync.state import StateDB
db = StateDB.open(sys.argv[1])
db.acquire_lock("watch")
print("locked", flush=True)
time.sleep(60)
"""


def _point_config_at(env: Env, vault: Path) -> None:
    data = yaml.safe_load(env.config.read_text(encoding="utf-8"))
    data["vault"]["path"] = str(vault)
    env.config.write_text(yaml.safe_dump(data), encoding="utf-8")


def _status_tags(env: Env, pid: str) -> set[str]:
    return {t["tag"] for t in env.item_by_pid(pid)["tags"] if t["tag"].startswith("status/")}


def test_a_moved_vault_keeps_its_state_and_an_edit_made_before_the_move(env: Env) -> None:
    """Moving the vault folder (into iCloud Drive, onto another disk) and pointing the
    config at it once started an empty state: an edit not yet synced came undone (a
    cleared status came back from Zotero) and every note was rewritten."""
    pull(env)
    edit_frontmatter(env.note_for(A), status="read")
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert _status_tags(env, A) == {"status/read"}
    old_state = default_state_path(load_config(str(env.config)))

    edit_frontmatter(env.note_for(A), status=None)  # cleared, then the vault moves
    moved = env.root / "Cloud" / "Research vault"
    moved.parent.mkdir()
    env.vault.rename(moved)
    _point_config_at(env, moved)
    before = {p: p.read_bytes() for p in moved.rglob("*.md")}
    code, _out, err = env.run("status")  # a look takes nothing over; a run does
    assert code == 0 and old_state.exists(), err
    code, _out, err = env.run("sync", "--no-progress")
    assert code == 0, err
    assert "the vault moved from" in err and str(env.root / "vault") in err
    assert _status_tags(env, A) == set(), "the edit made before the move reached Zotero"
    [note_a] = [p for p in before if f"pllm-sync-id: {A}\n" in p.read_text(encoding="utf-8")]
    assert frontmatter(note_a)["status"] is None
    rewritten = [p for p in moved.rglob("*.md") if before.get(p) != p.read_bytes()]
    assert rewritten == [], "no note rewritten: the state knew them all"
    assert not old_state.exists(), "the old state was taken over, not copied"
    assert len(env.items()) == 3 and not trashed(env)
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0 and "moved" not in err


def test_a_moved_vault_whose_daemon_still_runs_on_the_old_path_is_refused(env: Env) -> None:
    """The daemon kept running after the vault was renamed: a run on the new path once
    started an empty state (an edit not yet synced came undone) and never took the old one
    over. It now stops, says why and what to do, and changes nothing."""
    pull(env)
    old_state = default_state_path(load_config(str(env.config)))
    edit_frontmatter(env.note_for(A), status="read")
    moved = env.root / "Renamed vault"
    env.vault.rename(moved)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(old_state)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        _point_config_at(env, moved)
        code, _, err = env.run("sync", "--no-progress")
        assert code == 6 and "stop it" in err and "nothing was changed" in err, err
        assert old_state.exists()
        assert not default_state_path(load_config(str(env.config))).exists()
    finally:
        holder.kill()
        holder.wait()
    code, _, err = env.run("sync", "--no-progress")  # the daemon stopped: taken over
    assert code == 0 and "the vault moved from" in err, err
    assert _status_tags(env, A) == {"status/read"}


def test_a_copied_vault_starts_its_own_state_and_leaves_the_original_alone(env: Env) -> None:
    """A copy is a second vault (the original is still there): it does not take the
    original's state, which stays where it was, for the original."""
    pull(env)
    old_state = default_state_path(load_config(str(env.config)))
    copy = env.root / "copy of vault"
    shutil.copytree(env.vault, copy)
    _point_config_at(env, copy)
    code, _, err = env.run("sync", "--dry-run", "--no-progress")
    assert code == 0, err
    assert "moved" not in err
    assert old_state.exists()
    assert default_state_path(load_config(str(env.config))) != old_state
    # its own state knows no sections yet: each run says how to learn them, and pull does
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0 and "next step: `pllm-sync" in err and " pull` reads the lists'" in err
    pull(env)
    code, _, err = env.run("sync", "--no-progress")
    assert code == 0 and "warning" not in err.lower(), err
    assert len(env.items()) == 3 and not trashed(env)


# --- 7: the vault disappears mid-run -----------------------------------------------------


def test_a_vault_that_vanishes_mid_run_is_not_recreated_nor_taken_as_deleted(
    env: Env,
) -> None:
    pull(env)
    env.lists["trust"].write_text(LIST + FOURTH)
    away = env.root / "vault-unmounted"

    def unmount(emu: ZoteroEmulator, method: str, path: str) -> None:
        if method == "POST" and env.vault.exists():
            env.vault.rename(away)  # the drive goes away while Zotero is written

    env.emu.on_request(unmount)
    code, _, err = env.run("pull", "--no-progress")
    env.emu.on_request(None)
    assert code == 6, err
    assert "disappeared" in err
    assert not env.vault.exists(), "the vault folder was recreated while it was away"
    away.rename(env.vault)  # the drive is back
    pull(env)
    assert not trashed(env), "papers were taken as deleted once the vault came back"
    for pid in (A, B, C, "arxiv:2401.00004"):
        env.note_for(pid)
        env.item_by_pid(pid)


def test_a_vault_away_after_every_paper_was_deleted_is_not_recreated(env: Env) -> None:
    """Found by the state machine: every item trashed in Zotero (so every note went to the
    vault's trash), then the vault is away for a run. The state still knows the vault: the
    run stops and makes no new vault in its place."""
    env.write_config(max_delete_percent=100)  # every paper deleted, on purpose
    pull(env)
    for key in env.items():
        env.emu.trash_item(key)
    pull(env)
    assert not list(env.papers.glob("*.md")), "the notes followed their items to the trash"
    away = env.root / "vault-unmounted"
    env.vault.rename(away)
    version = env.emu.library_version()
    code, _, err = env.run("pull", "--no-progress")
    assert code == 6, err
    assert "is missing" in err
    assert not env.vault.exists(), "a new vault was made in place of the one away"
    assert env.emu.library_version() == version


def test_every_note_moved_out_of_the_papers_folder_still_syncs(env: Env) -> None:
    """Found by the state machine: the papers folder emptied because the user moved every
    note into a folder of their own is not a vanished vault: the run goes on, and the notes
    keep their papers (nothing trashed)."""
    pull(env)
    reading = env.vault / "Reading"
    reading.mkdir()
    for note in env.papers.glob("*.md"):
        note.rename(reading / note.name)
    assert not any(env.papers.iterdir())
    pull(env)
    assert not trashed(env)
    for pid in (A, B, C):
        assert env.note_for(pid).parent == reading
    env.papers.rmdir()  # not even the folder
    pull(env)
    assert not trashed(env)


# --- 8: switching the Zotero library ------------------------------------------------------


def test_switching_the_library_plans_no_trash_and_fills_the_new_library(env: Env) -> None:
    pull(env)
    first_keys = {pid: env.item_by_pid(pid)["key"] for pid in (A, B, C)}
    real = ZoteroEmulator(user_id=2, api_key=env.emu.api_key)
    real.start()
    try:
        data = yaml.safe_load(env.config.read_text())
        data["zotero"] = {"library_id": real.user_id, "endpoint": real.base_url}
        env.config.write_text(yaml.safe_dump(data))
        code, plan, err = env.run("sync", "--dry-run", "--no-progress")
        assert code == 0, err
        assert "trash" not in plan.lower(), plan
        code, out, err = env.run("sync", "--no-progress")
        assert code == 0, (out, err)
        items = [d for d in real.get_items().values() if d["itemType"] != "note"]
        assert sorted(d["extra"].split("pllm-sync-id: ")[1].split("\n")[0] for d in items) == [
            A,
            B,
            C,
        ]
        for pid in (A, B, C):
            note = env.note_for(pid)
            assert "Trash" not in str(note)
            key = next(d["key"] for d in items if pid in d["extra"])
            assert key in str(frontmatter(note).get("zotero"))
        assert not trashed(env), "the old library lost items"
        assert {pid: env.item_by_pid(pid)["key"] for pid in (A, B, C)} == first_keys
    finally:
        real.stop()


# --- 16: lock after a reboot, owner of a rewritten note, temp litter ------------------------


def test_a_lock_row_left_by_a_reused_pid_does_not_block_runs(env: Env) -> None:
    """After a reboot the pid in an old lock row can belong to a live, unrelated process."""
    pull(env)
    path = default_state_path(load_config(str(env.config)))
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT OR REPLACE INTO lock (id, owner, pid, hostname, acquired_at) "
        "VALUES (1, 'watch', ?, ?, 0)",
        (os.getppid(), socket.gethostname()),
    )
    conn.commit()
    conn.close()
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_rewritten_note_keeps_its_owner_and_mode(env: Env) -> None:
    pull(env)
    note = env.note_for(A)
    os.chown(note, 1234, 2345)
    note.chmod(0o640)
    item = env.item_by_pid(A)
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "from-zotero"}]})
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)
    assert "from-zotero" in (frontmatter(note).get("tags") or [])
    st = note.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1234, 2345, 0o640)


def test_temp_files_left_by_a_killed_run_are_cleaned_and_nothing_else(env: Env) -> None:
    pull(env)
    litter = [
        env.papers / ".Synthetic Paper One.md.k3j4h5g6.tmp",  # from older versions
        env.papers / ".Synthetic Paper Two.md.a1b2c3d4.pllm.tmp",
        env.vault / "Sections" / ".Alignment.md.zz99yy88.pllm.tmp",
    ]
    theirs = [env.papers / "draft.tmp", env.papers / ".obsidian-thing.tmp"]
    old = time.time() - 3600
    for p in litter + theirs:
        p.write_text("half a note")
        os.utime(p, (old, old))
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)
    assert [p for p in litter if p.exists()] == []
    assert all(p.exists() for p in theirs), "removed a file that is not ours"


# --- 15: symlinks -------------------------------------------------------------------------


def test_a_symlinked_papers_folder_and_a_symlinked_reading_folder_trash_nothing(
    env: Env,
) -> None:
    env.write_config(max_delete_percent=100, max_delete=100)  # no guard to hide behind
    pull(env)
    note = env.note_for(A)
    cloud = env.root / "cloud"
    cloud.mkdir()
    shutil.move(str(env.papers), cloud / "Papers")
    env.papers.symlink_to(cloud / "Papers", target_is_directory=True)
    reading = env.root / "elsewhere"
    reading.mkdir()
    shutil.move(str(env.papers / note.name), reading / note.name)
    (env.vault / "Reading").symlink_to(reading, target_is_directory=True)
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)
    assert not trashed(env), "a note behind a symlink was taken as deleted"
    assert f"pllm-sync-id: {A}" in (env.vault / "Reading" / note.name).read_text()
    assert not list((env.vault / ".pllm-sync-trash").rglob("*.md"))
    item = env.item_by_pid(B)
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "linked"}]})
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)
    (b_note,) = [
        p for p in (cloud / "Papers").glob("*.md") if f"pllm-sync-id: {B}\n" in p.read_text()
    ]
    assert "linked" in (frontmatter(b_note).get("tags") or [])
    assert env.papers.is_symlink()


@pytest.mark.timeout(60)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_and_an_alias_bomb_are_skipped_with_a_warning(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    pull(env)
    note = env.note_for(A)
    os.mkfifo(env.papers / "pipe.md")
    lines = note.read_text().split("\n")
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)
    ]
    note.write_text("\n".join([lines[0], *bomb, "method: *a8", *lines[1:]]))
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)
    logged = caplog.text + err
    assert "pipe.md" in logged and "not a regular file" in logged
    assert note.name in logged and "alias" in logged
    assert not trashed(env), "an unreadable note trashed its item"


# --- 12: hand-added notes -----------------------------------------------------------------


def test_an_unquoted_arxiv_id_is_read_as_typed(env: Env) -> None:
    pull(env)
    (env.papers / "Hand Added Paper.md").write_text(
        "---\ntitle: Hand Added Paper\narxiv: 2310.10100\n---\nmy notes\n"
    )
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)
    item = env.item_by_pid("arxiv:2310.10100")
    assert item["title"] == "Hand Added Paper"
    assert "2310.101\n" not in item["extra"] and "arxiv:2310.101\n" not in item["extra"]
    fm = frontmatter(env.papers / "Hand Added Paper.md")
    assert fm["pllm-sync-id"] == "arxiv:2310.10100"


def test_a_second_hand_added_note_for_a_paper_is_reported_naming_both(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    pull(env)
    existing = env.note_for(B)
    extra = env.papers / "My copy of paper two.md"
    extra.write_text('---\ntitle: My copy\narxiv: "2401.00002"\n---\nthoughts\n')
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)
    said = caplog.text + err
    assert extra.name in said and existing.name in said
    assert extra.read_text() == '---\ntitle: My copy\narxiv: "2401.00002"\n---\nthoughts\n'
    assert len([d for d in env.items().values() if B in d["extra"]]) == 1


# --- 14: Templater code from every source ---------------------------------------------------


def test_templater_code_from_headings_and_zotero_never_reaches_the_vault(env: Env) -> None:
    env.lists["trust"].write_text(
        LIST.replace("## Alignment", "## Alignment <% tp.system.prompt('x') %>")
    )
    pull(env)
    item = env.item_by_pid(A)
    env.emu.edit_item(
        item["key"],
        {
            "title": "Synthetic Paper One <% tp.file.rename('pwned') %>",
            "creators": [
                {"creatorType": "author", "firstName": "<%* app.vault", "lastName": "Evil %>"}
            ],
        },
    )
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)
    texts = {p: p.read_text() for p in env.vault.rglob("*.md")}
    assert [str(p) for p in texts if "<%" in str(p) or "%>" in str(p)] == []
    leaked = [str(p) for p, t in texts.items() if "<%" in t or "%>" in t]
    assert leaked == [], "Templater code reached the vault"
    fm = frontmatter(env.note_for(A))
    assert "tp.file.rename" in fm["title"], "the title is kept, only made inert"
    code, out, err = env.run("sync", "--no-progress")  # and it settles: no ping-pong
    assert code == 0 and "nothing to change" in out, (out, err)


# --- 16: malformed JSON from the server ------------------------------------------------------


def test_a_server_answering_html_gives_a_clear_error_not_a_traceback(env: Env) -> None:
    """A captive portal or a broken proxy answers 200 with HTML instead of JSON."""
    import http.server
    import threading

    class Portal(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body>Please log in to the hotel Wi-Fi</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Last-Modified-Version", "5")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Portal)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        data = yaml.safe_load(env.config.read_text())
        data["zotero"]["endpoint"] = f"http://127.0.0.1:{server.server_address[1]}"
        env.config.write_text(yaml.safe_dump(data))
        code, out, err = env.run("pull", "--no-progress")
    finally:
        server.shutdown()
        server.server_close()
    assert code == 4, (out, err)
    assert "not the JSON expected" in err and "Traceback" not in err


# --- 10: text typed inside the managed region ----------------------------------------------


def test_text_typed_inside_the_managed_region_is_moved_below_it_not_dropped(env: Env) -> None:
    pull(env)
    note = env.note_for(A)
    text = note.read_text()
    marker = "**Sections:**"
    assert marker in text
    text = text.replace(marker, "My key insight: use the\nsecond loss.\n\n" + marker, 1)
    note.write_text(text)
    # an unrelated update rewrites the region: the list adds a code link to the paper
    env.lists["trust"].write_text(
        LIST.replace(
            "([Paper](https://arxiv.org/abs/2401.00001))",
            "([Paper](https://arxiv.org/abs/2401.00001)) ([Code](https://github.com/o/r))",
        )
    )
    pull(env)
    after = note.read_text()
    assert "github.com/o/r" in after, "the region was updated"
    region_end = after.index("<!-- pllm-sync:end -->")
    assert after.index("My key insight: use the\nsecond loss.") > region_end
    assert "pllm-sync moved the text below out of the managed region on" in after
    assert after.count("My key insight") == 1
    pull(env)  # the moved text is now notes: it reaches Zotero and then settles
    (child,) = [c for c in env.children(env.item_by_pid(A)["key"]) if c["itemType"] == "note"]
    assert "My key insight" in child["note"]
    assert "nothing to change" in pull(env)


# --- 16: a tag Zotero refuses ---------------------------------------------------------------


def test_a_tag_too_long_for_zotero_stays_in_the_note_and_blocks_nothing(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    from .helpers import edit_frontmatter

    pull(env)
    note = env.note_for(A)
    long_tag = "x" * 300
    edit_frontmatter(note, tags=["ok-tag", long_tag])
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)
    said = caplog.text + err
    assert note.name in said and "longer than the 255 characters" in said
    tags = {t["tag"] for t in env.item_by_pid(A)["tags"]}
    assert "ok-tag" in tags and long_tag not in tags, "the rest of the edit reached Zotero"
    assert long_tag in frontmatter(note)["tags"], "the note keeps the tag"
    item = env.item_by_pid(A)
    env.emu.edit_item(item["key"], {"tags": [*item["tags"], {"tag": "from-zotero"}]})
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0, (out, err)
    assert {"ok-tag", long_tag, "from-zotero"} <= set(frontmatter(note)["tags"])
    code, out, err = env.run("sync", "--no-progress")
    assert code == 0 and "nothing to change" in out, (out, err)


# --- 3: a change to the Zotero notes child keeps the vault's spelling -----------------------

NOTES = (
    "The update $\\theta_{t+1} = \\theta_t - \\eta g_t$ uses snake_case_names.\n"
    "A second line of the same paragraph.\n"
    "\n"
    "* first point\n"
    "* second point\n"
    "\n"
    "Last paragraph with *emphasis*.\n"
)


def _notes_child(env: Env, pid: str) -> dict[str, Any]:
    (child,) = [c for c in env.children(env.item_by_pid(pid)["key"]) if c["itemType"] == "note"]
    return child


def _body_after_region(note: Path) -> str:
    return note.read_text().split("<!-- pllm-sync:end -->\n", 1)[1]


def test_a_zotero_notes_edit_changes_only_what_changed_in_zotero(env: Env) -> None:
    pull(env)
    note = env.note_for(A)
    note.write_text(note.read_text() + "\n" + NOTES)
    pull(env)
    before = _body_after_region(note)
    assert "$\\theta_{t+1}" in before and "* first point" in before
    child = _notes_child(env, A)
    env.emu.edit_item(child["key"], {"note": child["note"]})  # a re-save, no text change
    pull(env)
    assert _body_after_region(note) == before, "a re-save respelled the vault notes"
    child = _notes_child(env, A)
    env.emu.edit_item(
        child["key"], {"note": child["note"].replace("</div>", "<p>Added in Zotero.</p></div>")}
    )
    pull(env)
    after = _body_after_region(note)
    assert after == before.rstrip("\n") + "\n\nAdded in Zotero.\n", after
    assert "nothing to change" in pull(env)
