"""Two followed lists with the same title (two forks of one awesome list, say).

Each list needs a root of its own, so the second gets its source name appended. Which one
is second used to follow the order of ``catalog.sources``: swapping the two in the config
swapped the roots' names, so the user's text in one list's index notes then sat above the
other list's papers, and both lists' collections were renamed. A list keeps the root name
it had, whatever the order; a list added later is the one that gets the suffix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pllm_sync.testing.zotero_server import ZoteroEmulator

from .helpers import Env, NewEnv, make_env


def _list(n: int) -> str:
    return (
        "# Awesome Personalization\n\n## Benchmarks\n\n"
        f"- **[2024 ICLR]** Paper From List {n} About Personalization. "
        f"([Paper](https://arxiv.org/abs/2404.0000{n}))\n"
    )


def _run(env: Env, *args: str) -> str:
    code, out, err = env.run(*args, "--no-progress")
    assert code == 0, (out, err)
    return out + err


def _roots(env: Env) -> dict[str, str]:
    """Collection key -> name of the lists' roots."""
    cols = env.emu.get_collections()
    top = {k for k, c in cols.items() if not c.get("parentCollection")}
    return {k: c["name"] for k, c in cols.items() if c.get("parentCollection") in top}


def _benchmarks(env: Env, root: str) -> Path:
    return env.vault / "Sections" / root / "Benchmarks.md"


def test_swapping_two_same_title_lists_in_the_config_renames_nothing(new_env: NewEnv) -> None:
    env = new_env({"a": _list(1), "b": _list(2)})
    _run(env, "pull")
    roots = _roots(env)
    assert sorted(roots.values()) == ["Awesome Personalization", "Awesome Personalization (b)"]
    for root, words in (("Awesome Personalization", "A"), ("Awesome Personalization (b)", "B")):
        with _benchmarks(env, root).open("a", encoding="utf-8") as f:
            f.write(f"\nMY NOTES ON LIST {words}\n")
    vault = env.snapshot()
    del vault["Home.md"]  # lists its lists in the config's order, which changes

    env.lists = {"b": env.lists["b"], "a": env.lists["a"]}  # b first now
    env.write_config()
    out = _run(env, "pull")
    assert _roots(env) == roots, out
    after = env.snapshot()
    del after["Home.md"]
    assert after == vault, out
    text = _benchmarks(env, "Awesome Personalization").read_text(encoding="utf-8")
    assert "MY NOTES ON LIST A" in text and "Paper From List 1" in text
    assert "Paper From List 2" not in text


def test_a_same_title_list_added_first_in_the_config_takes_the_suffix(new_env: NewEnv) -> None:
    env = new_env({"a": _list(1)})
    _run(env, "pull")
    (env.root / "b.md").write_text(_list(2), encoding="utf-8")
    env.lists = {"b": env.root / "b.md", "a": env.lists["a"]}
    env.write_config()
    _run(env, "pull")
    assert sorted(_roots(env).values()) == [
        "Awesome Personalization",
        "Awesome Personalization (b)",
    ]
    text = _benchmarks(env, "Awesome Personalization").read_text(encoding="utf-8")
    assert "Paper From List 1" in text and "Paper From List 2" not in text


def test_without_zotero_the_roots_are_kept_as_well(new_env: NewEnv) -> None:
    """A vault-only user (`--zotero off`) has no collection maps to read the roots from:
    the state keeps them from pull to pull."""
    env = new_env({"a": _list(1), "b": _list(2)})
    _run(env, "pull", "--zotero", "off")
    with _benchmarks(env, "Awesome Personalization").open("a", encoding="utf-8") as f:
        f.write("\nMY NOTES ON LIST A\n")
    vault = env.snapshot()
    del vault["Home.md"]
    env.lists = {"b": env.lists["b"], "a": env.lists["a"]}
    env.write_config()
    out = _run(env, "pull", "--zotero", "off")
    after = env.snapshot()
    del after["Home.md"]
    assert after == vault, out


def test_a_second_device_listing_them_in_another_order_makes_no_second_tree(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fresh device (no state) whose config has the two lists the other way round: it
    takes the names the library's collections already carry, not a second tree."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    lists = {"a": _list(1), "b": _list(2)}
    one = make_env(tmp_path / "one", zotero_emulator, capsys, monkeypatch, lists)
    _run(one, "pull")
    roots = _roots(one)
    two = make_env(
        tmp_path / "two", zotero_emulator, capsys, monkeypatch, dict(reversed(lists.items()))
    )
    _run(two, "pull")
    assert _roots(two) == roots
    text = _benchmarks(two, "Awesome Personalization").read_text(encoding="utf-8")
    assert "Paper From List 1" in text and "Paper From List 2" not in text
