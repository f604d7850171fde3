"""A vault to live in: Home links into each list's tree and the reading queue, the two
default roots are told apart, "Listed in" links to the line upstream, and a pull that brings
new papers adds them to "What's new"."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import yaml

from pllm_sync.vault.names import sanitize_name
from pllm_sync.vault.provenance import upstream_line_url

from .conftest import Run

DATA = Path(__file__).resolve().parents[1] / "data" / "catalogs" / "jiahongliu21"
WIKILINK = re.compile(r"\[\[([^\]|#]+)(?:\|([^\]]*))?\]\]")


def test_home_lists_and_upstream_links(cli: Run, offline_config: Path, tmp_path: Path) -> None:
    code, _, err = cli("--config", str(offline_config), "pull", "--zotero", "off")
    assert code == 0, err
    vault = tmp_path / "pllm-vault"
    home = (vault / "Home.md").read_text(encoding="utf-8")
    links = dict(WIKILINK.findall(home.split("## Lists", 1)[1].split("## Read", 1)[0]))
    assert len(links) == 2, home
    assert len(set(links.values())) == 2, "the two default roots have distinct names"
    for target in links:
        assert (vault / f"{target}.md").is_file(), f"Home links to a missing note: {target}"
    assert "[[Reading queue]]" in home and "[[What's new]]" in home
    assert not (vault / "What's new.md").exists(), "the first import is not news"
    note = next(
        p
        for p in (vault / "Papers").glob("*.md")
        if "pllm-sync-id: arxiv:2502.11528\n" in p.read_text()
    )
    assert (
        "- [vanillacreamer line 42](<https://github.com/VanillaCreamer/Awesome-Personalized-LLMs"
        "/blob/main/README.md#L42>)" in note.read_text(encoding="utf-8")
    )


def test_upstream_line_url() -> None:
    raw = "https://raw.githubusercontent.com/a/b/main/docs/My List.md"
    assert upstream_line_url(raw, 7) == "https://github.com/a/b/blob/main/docs/My%20List.md#L7"
    assert upstream_line_url("https://github.com/a/b/blob/dev/README.md", 3) == (
        "https://github.com/a/b/blob/dev/README.md#L3"
    )
    assert upstream_line_url("https://example.org/list.md", 3) is None
    assert upstream_line_url(None, 3) is None


def test_a_pull_with_new_papers_writes_whats_new(cli: Run, tmp_path: Path) -> None:
    lst = tmp_path / "list.md"
    shutil.copyfile(DATA / "2025-01-06_266e55a.md", lst)
    cfg = tmp_path / "c.yaml"
    data = {
        "catalog": {"sources": [{"name": "jiahongliu21", "path": str(lst)}]},
        "vault": {"path": str(tmp_path / "v")},
    }
    cfg.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert cli("--config", str(cfg), "pull", "--zotero", "off")[0] == 0
    digest = tmp_path / "v" / "What's new.md"
    assert not digest.exists()
    shutil.copyfile(DATA / "2026-03-31_dd027af.md", lst)
    code, out, err = cli("--config", str(cfg), "pull", "--zotero", "off")
    assert code == 0, err
    assert "what's new:" in out
    text = digest.read_text(encoding="utf-8")
    today = dt.date.today().isoformat()
    m = re.search(rf"^## {today}: (\d+) new papers$", text, re.M)
    assert m and int(m.group(1)) > 10, text
    assert "### jiahongliu21" in text
    targets = [t for t, _alias in WIKILINK.findall(text)]
    assert targets and all((tmp_path / "v" / f"{t}.md").is_file() for t in targets)
    # the user's own words in the digest survive the next one
    digest.write_text(text + "\nMy reading plan.\n", encoding="utf-8")
    shutil.copyfile(DATA / "2025-01-06_266e55a.md", lst)
    # going back retires every paper listed since: the guard asks first, the limits raised
    assert cli("--config", str(cfg), "pull", "--zotero", "off")[0] == 6
    data["sync"] = {"max_delete": 100_000, "max_delete_percent": 100}
    cfg.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert cli("--config", str(cfg), "pull", "--zotero", "off")[0] == 0
    assert "My reading plan." in digest.read_text(encoding="utf-8")


def test_long_titles_are_cut_at_a_word_boundary() -> None:
    title = "Playing Devil's Advocate: Off-the-Shelf Persona Vectors Rival Targeted " * 3
    whole = sanitize_name(title, 10_000)
    for limit in range(60, 120, 7):
        name = sanitize_name(title, limit)
        assert len(name.encode()) <= limit
        assert whole.startswith(name) and whole[len(name)] == " ", (limit, name)
