"""The README's own code blocks, run as a new user would: every `pllm-sync` command of every
bash block, in order, in a fresh working directory and PLLM_SYNC_HOME, with the installed
package. The network is closed (a dead local proxy): the defaults fall back to the bundled
lists. `pip install` lines are covered by the installed package (and the wheel test), and the
test command is this suite; `init`, which asks in a terminal, gets its answers as options with
the emulator standing in for the user's Zotero library."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)


def readme_commands() -> list[list[str]]:
    """Every `pllm-sync ...` command in the README's bash blocks, in order, comments cut."""
    found = []
    for block in BLOCK.findall(README.read_text(encoding="utf-8")):
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words and words[0] == "pllm-sync":
                    found.append(words)
    return found


def test_readme_quick_start_and_move_run_as_printed(
    tmp_path: Path, zotero_emulator: ZoteroEmulator, isolated_home: Path
) -> None:
    run_readme(Path(sys.executable).parent / "pllm-sync", tmp_path, zotero_emulator, isolated_home)


@pytest.mark.slow
def test_readme_from_a_fresh_clone(
    tmp_path: Path, zotero_emulator: ZoteroEmulator, isolated_home: Path
) -> None:
    """`pip install .` from a clone into a new venv (dependencies borrowed from this one, so
    no registry is needed), then the README's commands with that install."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(README.parent), str(clone)], check=True)
    for rel in ("setup.py", "MANIFEST.in", "README.md", "pyproject.toml"):
        shutil.copy2(README.parent / rel, clone / rel)  # uncommitted edits of a dev tree too
    shutil.rmtree(clone / "vault_template")
    shutil.copytree(README.parent / "vault_template", clone / "vault_template")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = sysconfig.get_paths()["purelib"]
    py = venv / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "borrowed-deps.pth").write_text(purelib + "\n", encoding="utf-8")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(clone),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    run_readme(venv / "bin" / "pllm-sync", tmp_path / "work", zotero_emulator, isolated_home)
    assert (tmp_path / "work" / "pllm-vault" / ".obsidian" / "types.json").is_file()


def run_readme(
    exe: Path, tmp_path: Path, zotero_emulator: ZoteroEmulator, isolated_home: Path
) -> None:
    tmp_path.mkdir(exist_ok=True)
    commands = readme_commands()
    assert ["pllm-sync", "pull", "--zotero", "sandbox"] in commands
    assert ["pllm-sync", "init"] in commands
    dead = "http://127.0.0.1:9"  # nothing listens: any internet fetch fails at once, locally
    env = {
        **os.environ,
        "PLLM_SYNC_HOME": str(isolated_home),
        "HTTPS_PROXY": dead,
        "HTTP_PROXY": dead,
        "https_proxy": dead,
        "http_proxy": dead,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "PLLM_SYNC_ZOTERO_API_KEY": zotero_emulator.api_key,
    }
    for words in commands:
        args = words[1:]
        if args == ["init"]:
            args += [
                "--library-id",
                str(zotero_emulator.user_id),
                "--endpoint",
                zotero_emulator.base_url,
                "--vault",
                str(tmp_path / "pllm-vault"),
                "--no-keyring",
            ]
        res = subprocess.run(
            [str(exe), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            stdin=subprocess.DEVNULL,
        )
        assert res.returncode == 0, (words, res.stdout[-2000:], res.stderr[-2000:])
        assert "Traceback" not in res.stderr, words
    notes = list((tmp_path / "pllm-vault" / "Papers").glob("*.md"))
    items = [
        d
        for d in zotero_emulator.get_items().values()
        if d["itemType"] not in ("note", "attachment")
    ]
    assert len(notes) > 200 and len(items) == len(notes), "moved to the library, no duplicates"
