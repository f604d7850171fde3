"""Break each trust rule once and check that its fast rule test fails.

Each entry below removes or inverts the code that carries one rule of issue 8 (in a copy of
``src``; the tree is never touched) and runs the matching test of
``tests/sync/test_engine_rules.py`` against it, on the in-memory doubles. A rule whose test
still passes with the rule broken is reported as MISSED: that test would not catch a
regression.

    python benchmarks/mutate_rules.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = "tests/sync/test_engine_rules.py"

# (rule, file under src/pllm_sync, code as it is, code with the rule broken, test -k)
BREAKS: list[tuple[str, str, str, str, str]] = [
    (
        "a copy never takes the identity (the path the state knows wins)",
        "sync/decide.py",
        "    if known in options:\n        return str(known)\n",
        "",
        "copy_that_sorts_first",
    ),
    (
        "a note back from one run's absence restores its item",
        "sync/decide.py",
        "        z_retired, restore_item = False, True",
        "        z_retired, restore_item = True, False",
        "absent_for_one_run",
    ),
    (
        "an item back from Zotero's trash restores its note",
        "sync/decide.py",
        "        v_retired, restore_note = False, True  #",
        "        v_retired, restore_note = True, False  #",
        "restored_from_zotero_trash",
    ),
    (
        "the restored note is the trashed one, not a new one",
        "sync/engine.py",
        "        note = self.vault.restore_trashed(v.pid, st.note_path)\n",
        "        note = None\n",
        "restored_from_zotero_trash",
    ),
    (
        "modify beats delete: the user's children",
        "sync/decide.py",
        "not differs(v.zrecord, base) and not v.z_user_children:",
        "not differs(v.zrecord, base):",
        "user_gave_a_child",
    ),
    (
        "modify beats delete: the item's fields",
        "sync/decide.py",
        "not differs(v.zrecord, base) and not v.z_user_children:",
        "not v.z_user_children:",
        "item_edited_in_zotero",
    ),
    (
        "identity follows a catalog id change",
        "sync/identity.py",
        "    if catalog_read:\n        out = follow_renamed_papers(out, papers)",
        "    pass",
        "id_change_keeps",
    ),
    (
        "the tool's own write is not a user's edit",
        "sync/engine.py",
        "            if landed and out.get(name, _UNSET) != value:",
        "            if False:",
        "tools_own_zotero_write",
    ),
    (
        "text typed in the managed region is kept",
        "vault/body.py",
        "    if not parts.has_region:\n        return parts\n    stray",
        "    return parts\n    stray",
        "typed_in_the_managed_region",
    ),
    (
        "per-paper Zotero state is per library",
        "sync/state.py",
        "        self._library = None if lib is None else _lib_key(lib)",
        "        self._library = None",
        "switching_the_library",
    ),
    (
        "the mass-delete guard",
        "sync/engine.py",
        "        if removing > limit or pct > self.cfg.sync.max_delete_percent:",
        "        if False:",
        "mass_delete_guard",
    ),
    (
        "a vault that went away is not taken as deleted notes",
        "sync/engine.py",
        "        if not self.vault.exists():\n            raise SafetyAbort(",
        "        if False:\n            raise SafetyAbort(",
        "vault_that_went_away",
    ),
]


def main() -> int:
    missed = 0
    with tempfile.TemporaryDirectory(prefix="pllm-rules-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(ROOT / "src", src)
        shutil.copytree(ROOT / "vault_template", Path(tmp) / "vault_template")  # beside src
        for rule, rel, old, new, k in BREAKS:
            path = src / "pllm_sync" / rel
            original = path.read_text(encoding="utf-8")
            if old not in original:
                print(f"STALE   {rule}: the code moved; update this script")
                missed += 1
                continue
            path.write_text(original.replace(old, new, 1), encoding="utf-8")
            res = subprocess.run(
                [
                    *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
                    *("-p", "no:xdist", "-p", "no:randomly", TESTS, "-k", k),
                ],
                cwd=ROOT,
                env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "HOME": tmp},
                capture_output=True,
                text=True,
            )
            path.write_text(original, encoding="utf-8")
            tail = (res.stdout.strip().splitlines() or ["?"])[-1]
            caught = res.returncode == 1 and " failed" in tail and " error" not in tail
            missed += not caught
            print(f"{'caught' if caught else 'MISSED'}  {rule}: {tail}")
    print(f"{len(BREAKS) - missed} of {len(BREAKS)} broken rules caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
