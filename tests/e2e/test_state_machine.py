"""A hypothesis state machine over the whole product: a catalog, the emulator's library and a
real vault, with random edits on all sides, crashes injected mid-apply and state loss.

Invariants after every completed sync:
- every synced field agrees between Zotero and the vault (open conflicts excepted);
- no user-written tag or notes line is lost (an oracle of plain set algebra, independent of
  the merge code: tags = (base - removed on either side) | added on either side);
- a scalar changed differently on both sides is a recorded conflict, neither side overwritten;
- no duplicate items or notes; and a second sync writes nothing anywhere.

CI runs a bounded number of examples and steps; ``--run-slow`` runs many more.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pllm_sync.cli import main
from pllm_sync.paths import app_dirs
from pllm_sync.record import canonical_tag
from pllm_sync.testing.zotero_server import ZoteroEmulator
from pllm_sync.zotero import client as zclient

POOL = [
    (f"arxiv:2401.{i:05d}", f"2401.{i:05d}", f"Synthetic Paper Number {i}: A Study")
    for i in range(1, 9)
]
SECTIONS = ["Alignment", "Retrieval", "Benchmarks"]
STATUSES = ["unread", "reading", "read"]
TAGS = ["alpha", "beta", "gamma", "delta"]
COUNTER = itertools.count()


class Crash(BaseException):
    """Simulates the process dying: not an Exception, so nothing in pllm-sync catches it."""


def render_list(papers: dict[str, tuple[str, str]]) -> str:
    lines = ["# State Machine List", ""]
    for sec in SECTIONS:
        lines += [f"## {sec}", ""]
        for pid, (title, psec) in papers.items():
            if psec == sec:
                arxiv = pid.split(":", 1)[1]
                lines.append(
                    f"+ **\\[2024 EMNLP\\]** {title}. ([Paper](https://arxiv.org/abs/{arxiv}))"
                )
        lines.append("")
    return "\n".join(lines)


def split_note(text: str) -> tuple[dict[str, Any], str]:
    _, block, body = text.split("---", 2)
    return yaml.safe_load(block), body


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="pllm-sm-"))
        self.emu = ZoteroEmulator(user_id=1, api_key="TESTKEY").start()
        self.catalog: dict[str, tuple[str, str]] = {}
        self.agreed_tags: dict[str, frozenset[str]] = {}
        self.notes_lines: dict[str, set[str]] = {}
        self.state_lost = False
        self.expect_conflict: set[tuple[str, str]] = set()
        self.synced_once = False

    def teardown(self) -> None:
        self.emu.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------------ plumbing

    @property
    def vault(self) -> Path:
        return self.tmp / "vault"

    def cli(self, *args: str) -> tuple[int, str]:
        import io
        import sys

        out = io.StringIO()
        old, olderr = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, io.StringIO()
        try:
            code = main(["--config", str(self.tmp / "config.yaml"), *args])
        finally:
            sys.stdout, sys.stderr = old, olderr
        return code, out.getvalue()

    def write_catalog(self) -> None:
        (self.tmp / "list.md").write_text(render_list(self.catalog), encoding="utf-8")

    def notes(self) -> dict[str, Path]:
        out: dict[str, Path] = {}
        for p in self.vault.rglob("*.md"):
            if ".pllm-sync-trash" in p.parts or "Sections" in p.parts:
                continue
            text = p.read_text(encoding="utf-8")
            if text.startswith("---"):
                fm, _ = split_note(text)
                if fm and fm.get("pllm-sync-id"):
                    assert fm["pllm-sync-id"] not in out, "two notes for one paper"
                    out[fm["pllm-sync-id"]] = p
        return out

    def items(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for d in self.emu.get_items(include_trashed=False).values():
            if d["itemType"] in ("note", "attachment"):
                continue
            for line in d["extra"].splitlines():
                if line.startswith("pllm-sync-id: "):
                    pid = line.split(": ", 1)[1]
                    assert pid not in out, f"duplicate Zotero item for {pid}"
                    out[pid] = d
        return out

    def zotero_note(self, key: str) -> dict[str, Any] | None:
        for d in self.emu.get_items(include_trashed=False).values():
            if d.get("parentItem") == key and d["itemType"] == "note" and "pllm-sync" in d["note"]:
                return d
        return None

    @staticmethod
    def z_user_tags(item: dict[str, Any]) -> frozenset[str]:
        out = set()
        for t in item["tags"]:
            name = t["tag"]
            if name.startswith(("pllm/", "status/", "rating/")):
                continue
            c = canonical_tag(name)
            if c:
                out.add(c)
        return frozenset(out)

    def v_user_tags(self, path: Path) -> frozenset[str]:
        fm, _ = split_note(path.read_text(encoding="utf-8"))
        return frozenset(str(t) for t in fm.get("tags") or [])

    def both_sides(self) -> list[str]:
        items, notes = self.items(), self.notes()
        return sorted(set(items) & set(notes))

    # ------------------------------------------------------------------ set-up

    @initialize()
    def setup(self) -> None:
        for pid, _, title in POOL[:4]:
            self.catalog[pid] = (title, SECTIONS[len(self.catalog) % 2])
        self.write_catalog()
        cfg = {
            "catalog": {"sources": [{"name": "sm", "path": str(self.tmp / "list.md")}]},
            "zotero": {"library_id": 1, "endpoint": self.emu.base_url},
            "vault": {"path": str(self.vault)},
            "sync": {"max_delete": 100, "max_delete_percent": 100},
        }
        (self.tmp / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
        self.sync_and_check()

    # ------------------------------------------------------------------ catalog edits

    @rule(data=st.data())
    def catalog_add(self, data: st.DataObject) -> None:
        free = [p for p in POOL if p[0] not in self.catalog]
        if free:
            pid, _, title = data.draw(st.sampled_from(free))
            self.catalog[pid] = (title, data.draw(st.sampled_from(SECTIONS)))
            self.write_catalog()

    @rule(data=st.data())
    def catalog_move_or_remove(self, data: st.DataObject) -> None:
        if not self.catalog:
            return
        pid = data.draw(st.sampled_from(sorted(self.catalog)))
        if data.draw(st.booleans()):
            del self.catalog[pid]
        else:
            self.catalog[pid] = (self.catalog[pid][0], data.draw(st.sampled_from(SECTIONS)))
        self.write_catalog()

    # ------------------------------------------------------------------ user edits

    @precondition(lambda self: self.synced_once)
    @rule(data=st.data(), tag=st.sampled_from(TAGS), add=st.booleans())
    def vault_tag(self, data: st.DataObject, tag: str, add: bool) -> None:
        pids = self.both_sides()
        if not pids:
            return
        path = self.notes()[data.draw(st.sampled_from(pids))]
        fm, body = split_note(path.read_text(encoding="utf-8"))
        tags = [t for t in fm.get("tags") or [] if t != tag] + ([tag] if add else [])
        fm["tags"] = tags
        path.write_text(
            "---\n" + yaml.safe_dump(fm, sort_keys=False, allow_unicode=True) + "---" + body,
            encoding="utf-8",
        )

    @precondition(lambda self: self.synced_once)
    @rule(data=st.data(), tag=st.sampled_from(TAGS), add=st.booleans())
    def zotero_tag(self, data: st.DataObject, tag: str, add: bool) -> None:
        pids = self.both_sides()
        if not pids:
            return
        item = self.items()[data.draw(st.sampled_from(pids))]
        tags = [t for t in item["tags"] if t["tag"] != tag] + ([{"tag": tag}] if add else [])
        self.emu.edit_item(item["key"], {"tags": tags})

    @precondition(lambda self: self.synced_once)
    @rule(data=st.data(), side=st.sampled_from(["vault", "zotero"]))
    def append_notes_line(self, data: st.DataObject, side: str) -> None:
        pids = self.both_sides()
        if not pids:
            return
        pid = data.draw(st.sampled_from(pids))
        line = f"user line {next(COUNTER)} on {side}"
        if side == "vault":
            path = self.notes()[pid]
            text = path.read_text(encoding="utf-8")
            path.write_text(text.rstrip("\n") + f"\n\n{line}\n", encoding="utf-8")
        else:
            note = self.zotero_note(self.items()[pid]["key"])
            if note is None:
                return  # nothing to edit in Zotero yet
            html = note["note"]
            cut = html.rfind("</div>")
            html = (
                html[:cut] + f"<p>{line}</p>\n" + html[cut:]
                if cut >= 0
                else html + f"<p>{line}</p>"
            )
            self.emu.edit_item(note["key"], {"note": html})
        self.notes_lines.setdefault(pid, set()).add(line)

    @precondition(lambda self: self.synced_once)
    @rule(
        data=st.data(),
        status=st.sampled_from(STATUSES),
        sides=st.sampled_from(["vault", "zotero", "both"]),
    )
    def set_status(self, data: st.DataObject, status: str, sides: str) -> None:
        pids = self.both_sides()
        if not pids:
            return
        pid = data.draw(st.sampled_from(pids))
        path, item = self.notes()[pid], self.items()[pid]
        fm, _ = split_note(path.read_text(encoding="utf-8"))
        current = fm.get("status")
        other = next(s for s in STATUSES if s not in (status, current))
        if sides in ("vault", "both"):
            text = path.read_text(encoding="utf-8")
            fm2, body = split_note(text)
            fm2["status"] = status
            path.write_text(
                "---\n" + yaml.safe_dump(fm2, sort_keys=False, allow_unicode=True) + "---" + body,
                encoding="utf-8",
            )
        if sides in ("zotero", "both"):
            zval = other if sides == "both" else status
            tags = [t for t in item["tags"] if not t["tag"].startswith("status/")]
            self.emu.edit_item(item["key"], {"tags": [*tags, {"tag": f"status/{zval}"}]})
        if sides == "both" and status != current and not self.state_lost:
            self.expect_conflict.add((pid, "status"))

    # ------------------------------------------------------------------ failures

    @precondition(lambda self: self.synced_once)
    @rule(k=st.integers(min_value=1, max_value=25))
    def crash_during_zotero_writes(self, k: int) -> None:
        """The process dies right after the k-th Zotero response of a run."""
        seen = {"n": 0}
        original = zclient.ZoteroHttp._count

        def counting(http: zclient.ZoteroHttp, request: Any) -> None:
            original(http, request)
            seen["n"] += 1
            if seen["n"] > k:
                raise Crash

        expected = self.expected_tags()
        zclient.ZoteroHttp._count = counting  # type: ignore[method-assign]
        try:
            code = self.pull_maybe_crashing()
        finally:
            zclient.ZoteroHttp._count = original  # type: ignore[method-assign]
        if code is not None:  # it happened to finish: check it like any sync
            self.check_after_sync(code, expected)

    @precondition(lambda self: self.synced_once)
    @rule(n=st.integers(min_value=0, max_value=3))
    def crash_during_vault_writes(self, n: int) -> None:
        """The process dies at the n-th note write of a run (after Zotero was written)."""
        from pllm_sync.vault import store as vstore

        calls = {"n": 0}
        orig_update, orig_create = vstore.VaultStore.update_note, vstore.VaultStore.create_note

        def guard() -> None:
            calls["n"] += 1
            if calls["n"] > n:
                raise Crash

        def update(self_: Any, *a: Any, **kw: Any) -> Any:
            guard()
            return orig_update(self_, *a, **kw)

        def create(self_: Any, *a: Any, **kw: Any) -> Any:
            guard()
            return orig_create(self_, *a, **kw)

        vstore.VaultStore.update_note = update  # type: ignore[method-assign]
        expected = self.expected_tags()
        vstore.VaultStore.create_note = create  # type: ignore[method-assign]
        try:
            code = self.pull_maybe_crashing()
        finally:
            vstore.VaultStore.update_note = orig_update  # type: ignore[method-assign]
            vstore.VaultStore.create_note = orig_create  # type: ignore[method-assign]
        if code is not None:
            self.check_after_sync(code, expected)

    def pull_maybe_crashing(self) -> int | None:
        """A pull that may die midway: its exit code, or None when it crashed."""
        try:
            return self.cli("pull", "--no-progress")[0]
        except Crash:
            return None

    @precondition(lambda self: self.synced_once)
    @rule()
    def lose_state(self) -> None:
        for p in app_dirs().data.glob("state-*"):
            p.unlink()
        self.state_lost = True
        self.expect_conflict.clear()

    # ------------------------------------------------------------------ syncing

    @rule()
    def sync(self) -> None:
        self.sync_and_check()

    def expected_tags(self) -> dict[str, frozenset[str]]:
        items, notes = self.items(), self.notes()
        out = {}
        for pid in set(items) & set(notes):
            z, v = self.z_user_tags(items[pid]), self.v_user_tags(notes[pid])
            base = self.agreed_tags.get(pid)
            if base is None or self.state_lost:
                out[pid] = z | v
            else:
                out[pid] = (base - (base - z) - (base - v)) | (z - base) | (v - base)
        return out

    def sync_and_check(self) -> None:
        expected = self.expected_tags()
        code, _ = self.cli("pull", "--no-progress")
        self.check_after_sync(code, expected)

    def check_after_sync(self, code: int, expected: dict[str, frozenset[str]]) -> None:
        assert code in (0, 7), code
        self.synced_once = True
        items, notes = self.items(), self.notes()
        # every listed paper on both sides; removed ones tombstoned
        for pid in self.catalog:
            assert pid in items and pid in notes, pid
        conflicts = json.loads(self.cli("conflicts", "--json")[1] or "[]")
        open_fields = {(c["paper"], c["field"]) for c in conflicts if c["open"]}
        assert self.expect_conflict <= open_fields | self._agreeing(items, notes), (
            self.expect_conflict,
            open_fields,
        )
        for pid in set(items) & set(notes):
            fm, body = split_note(notes[pid].read_text(encoding="utf-8"))
            z_tags, v_tags = self.z_user_tags(items[pid]), self.v_user_tags(notes[pid])
            assert z_tags == v_tags, (pid, z_tags, v_tags)
            if pid in expected:
                assert v_tags == expected[pid], (pid, v_tags, expected[pid])
            self.agreed_tags[pid] = v_tags
            znote = self.zotero_note(items[pid]["key"])
            for line in self.notes_lines.get(pid, ()):
                assert line in body, (pid, line, "lost from the vault")
                assert znote is not None and line in znote["note"], (pid, line, "lost in Zotero")
            zstatus = [t["tag"][7:] for t in items[pid]["tags"] if t["tag"].startswith("status/")]
            if (pid, "status") not in open_fields:
                assert (zstatus[0] if zstatus else None) == fm.get("status"), pid
        # settle conflicts like a user would, then nothing is left to do
        for c in conflicts:
            if c["open"]:
                code, _ = self.cli("conflicts", "resolve", str(c["id"]), "--take", "vault")
                assert code in (0, 7)
        self.expect_conflict.clear()
        self.state_lost = False
        self.agreed_tags = {pid: self.v_user_tags(p) for pid, p in self.notes().items()}
        before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in self.vault.rglob("*.md")}
        self.emu.clear_log()
        code, _ = self.cli("pull", "--no-progress")
        assert code == 0, "after resolving, a sync completes cleanly"
        writes = [
            (r.method, r.path)
            for r in self.emu.request_log
            if r.method in ("POST", "PUT", "PATCH", "DELETE")
        ]
        assert writes == [], writes
        after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in self.vault.rglob("*.md")}
        assert after == before, "a second sync rewrote files"
        items, notes = self.items(), self.notes()
        for pid in set(items) & set(notes):  # resolved conflicts carried the chosen value
            fm, _ = split_note(notes[pid].read_text(encoding="utf-8"))
            z = [t["tag"][7:] for t in items[pid]["tags"] if t["tag"].startswith("status/")]
            assert (z[0] if z else None) == fm.get("status"), (pid, z, fm.get("status"))
            assert self.z_user_tags(items[pid]) == self.v_user_tags(notes[pid]), pid

    def _agreeing(self, items: dict[str, Any], notes: dict[str, Path]) -> set[tuple[str, str]]:
        """(pid, status) pairs whose sides ended up equal anyway (e.g. the same value)."""
        out = set()
        for pid, field in self.expect_conflict:
            if pid in items and pid in notes:
                fm, _ = split_note(notes[pid].read_text(encoding="utf-8"))
                z = [t["tag"][7:] for t in items[pid]["tags"] if t["tag"].startswith("status/")]
                if (z[0] if z else None) == fm.get(field):
                    out.add((pid, field))
        return out

    @invariant()
    def no_duplicates(self) -> None:
        if self.synced_once:
            self.items()  # asserts one live item per id
            self.notes()  # asserts one note per id


@pytest.mark.timeout(900)
def test_sync_state_machine(full: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", "TESTKEY")
    machine = SyncMachine.TestCase
    machine.settings = settings(
        max_examples=60 if full else 12, stateful_step_count=25 if full else 12, deadline=None
    )
    machine().runTest()
