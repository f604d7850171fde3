"""End to end: ``pull``/``enrich`` with metadata from the local recorded-answer server into
the Zotero emulator and a vault, through the real CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
import yaml
from keyring.backend import KeyringBackend

from e2e.helpers import Env, frontmatter
from pllm_sync.paths import app_dirs
from pllm_sync.testing.zotero_server import ZoteroEmulator

from .server import MetaServer, all_recorded_entries, fake_entry, recorded_json, serve

LIST = """# A test list

## Papers

+ **\\[2017 NeurIPS\\]** Attention Is All You Need. ([Paper](https://arxiv.org/pdf/1706.03762))

+ **\\[2023 Arxiv-2304\\]** Augmenting large language models with chemistry tools. ([Paper](https://arxiv.org/abs/2304.05376))

+ **\\[2016 Arxiv-1605\\]** Heat-bath random walks with Markov bases. ([Paper](https://arxiv.org/abs/1605.08386))

+ **\\[2024 Arxiv-1707\\]** Personalized Dialogue Agents with Memory. ([Paper](https://arxiv.org/abs/1707.08567))
"""
ATTENTION = "arxiv:1706.03762"
CHEM = "arxiv:2304.05376"
CHEM_ENTRY = fake_entry(
    "2304.05376",
    "ChemCrow: Augmenting large-language models with chemistry tools",
    ["Andres M Bran", "Sam Cox", "Oliver Schilter"],
    "Over the last decades, excellent computational chemistry tools have been developed.",
    ["physics.chem-ph", "cs.AI"],
)


@pytest.fixture
def env(
    tmp_path: Path,
    zotero_emulator: ZoteroEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Env, MetaServer]]:
    monkeypatch.setenv("PLLM_SYNC_ZOTERO_API_KEY", zotero_emulator.api_key)
    monkeypatch.delenv("PLLM_SYNC_METADATA")
    server = MetaServer(arxiv_entries={**all_recorded_entries(), "2304.05376": CHEM_ENTRY})
    with serve(server) as meta:
        e = Env(root=tmp_path, emu=zotero_emulator, capsys=capsys)
        (tmp_path / "list.md").write_text(LIST, encoding="utf-8")
        e.lists["test"] = tmp_path / "list.md"
        e.write_config()
        data = yaml.safe_load(e.config.read_text())
        data["metadata"] = {
            "arxiv_url": f"{meta.base_url}/arxiv/query",
            "semanticscholar_url": f"{meta.base_url}/s2",
            "arxiv_interval_seconds": 0,
            "semanticscholar_interval_seconds": 0,
            "backoff_seconds": 0,
        }
        e.config.write_text(yaml.safe_dump(data), encoding="utf-8")
        yield e, meta


def _body(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_pull_fills_creators_abstract_doi_citekey_and_a_second_pull_asks_nothing(
    env: tuple[Env, MetaServer],
) -> None:
    e, meta = env
    code, _, err = e.run("pull", "--no-progress")
    assert code == 0, err
    item = e.item_by_pid(ATTENTION)
    names = [(c.get("firstName"), c.get("lastName")) for c in item["creators"]]
    assert names[0] == ("Ashish", "Vaswani") and len(names) == 8
    assert item["abstractNote"].startswith("The dominant sequence transduction models")
    assert item["citationKey"] == "vaswaniAttentionAllYou2017"
    assert item["itemType"] == "conferencePaper"
    assert {"tag": "pllm/arxiv/cs.CL", "type": 1} in item["tags"]
    [pdf] = [k for k in e.children(item["key"]) if k["itemType"] == "attachment"]
    assert pdf["linkMode"] == "linked_url" and pdf["url"] == "https://arxiv.org/pdf/1706.03762"
    fm = frontmatter(e.note_for(ATTENTION))
    assert fm["authors"][0] == "Ashish Vaswani" and fm["citekey"] == "vaswaniAttentionAllYou2017"
    assert "> [!abstract]- Abstract\n> The dominant sequence" in _body(e.note_for(ATTENTION))
    # the list links the wrong paper for its last entry: warned with the line, not applied
    assert re.search(r"test:\d+: the list's title 'Personalized Dialogue Agents", err)
    wrong = e.item_by_pid("arxiv:1707.08567")
    assert wrong["creators"] == [] and wrong["title"] == "Personalized Dialogue Agents with Memory"

    asked = meta.requests()
    assert asked == 2  # one arXiv batch, one Semantic Scholar batch
    e.emu.clear_log()
    code, _, err = e.run("pull", "--no-progress")
    assert code == 0, err
    assert meta.requests() == asked  # the second pull makes no metadata request
    assert not e.writes()


def _set_arxiv_abstract(meta: MetaServer, aid: str, text: str) -> None:
    entry = meta.arxiv_entries[aid]
    meta.arxiv_entries[aid] = re.sub(
        r"<summary>.*?</summary>", f"<summary>{text}</summary>", entry, flags=re.S
    )


def test_users_abstract_and_authors_survive_a_re_enrich(env: tuple[Env, MetaServer]) -> None:
    e, meta = env
    assert e.run("pull", "--no-progress")[0] == 0
    item = e.item_by_pid(ATTENTION)
    mine = "My own summary of the transformer paper."
    creators: list[dict[str, Any]] = [
        {"creatorType": "author", "firstName": "A.", "lastName": "Vaswani"}
    ]
    e.emu.edit_item(item["key"], {"abstractNote": mine, "creators": creators})
    assert e.run("sync", "--no-progress")[0] == 0
    assert f"> {mine}" in _body(e.note_for(ATTENTION))  # a Zotero abstract reaches the note
    assert frontmatter(e.note_for(ATTENTION))["authors"] == ["A. Vaswani"]

    _set_arxiv_abstract(meta, "1706.03762", "A different abstract from the service.")
    code, _, err = e.run("enrich", "--refresh", "--no-progress")
    assert code == 0, err
    item = e.item_by_pid(ATTENTION)
    assert item["abstractNote"] == mine and item["creators"] == creators
    assert f"> {mine}" in _body(e.note_for(ATTENTION))
    # a paper nobody edited does take the service's new answer
    _set_arxiv_abstract(meta, "1605.08386", "Revised abstract.")
    assert e.run("enrich", "--refresh", "--no-progress")[0] == 0
    assert e.item_by_pid("arxiv:1605.08386")["abstractNote"] == "Revised abstract."


def test_preprint_later_published_is_upgraded_in_place(env: tuple[Env, MetaServer]) -> None:
    e, meta = env
    assert e.run("pull", "--no-progress")[0] == 0
    before = e.item_by_pid(CHEM)
    assert before["itemType"] == "preprint" and before["archiveID"] == "arXiv:2304.05376"
    note_path = e.note_for(CHEM)
    kids = {k["key"] for k in e.children(before["key"])}

    published = recorded_json(
        "semanticscholar/paper_DOI-lookup_journal-article-with-arxiv-id_s42256.json"
    )
    meta.s2["ARXIV:2304.05376"] = published
    code, _, err = e.run("enrich", "--refresh", "--no-progress")
    assert code == 0, err
    after = e.item_by_pid(CHEM)
    assert after["key"] == before["key"]
    assert after["itemType"] == "journalArticle"
    assert after["publicationTitle"] == "Nature Machine Intelligence"
    assert after["publisher"] == "" and "archiveID" not in after
    assert after["DOI"] == "10.1038/s42256-024-00832-8"
    assert "pllm-arxiv: 2304.05376" in after["extra"]
    assert {k["key"] for k in e.children(after["key"])} >= kids
    assert e.note_for(CHEM) == note_path
    fm = frontmatter(note_path)
    assert fm["venue"] == "Nature Machine Intelligence 2023" and fm["arxiv"] == "2304.05376"
    assert fm["doi"] == "10.1038/s42256-024-00832-8"
    e.emu.clear_log()
    assert e.run("pull", "--no-progress")[0] == 0
    assert not e.writes()


def test_services_down_the_pull_goes_on_and_a_later_pull_fills_in(
    env: tuple[Env, MetaServer],
) -> None:
    e, meta = env
    meta.queued["/arxiv/query"] = [(500, b"<html>down</html>", {})]
    meta.queued["/s2/paper/batch"] = [(503, b"", {})] * 3
    code, _, err = e.run("pull", "--no-progress")
    assert code == 0, err
    assert err.count("arXiv cannot be reached now") == 1
    assert err.count("Semantic Scholar cannot be reached now") == 1
    item = e.item_by_pid(ATTENTION)
    assert item["creators"] == [] and not item.get("abstractNote")
    assert e.children(item["key"]) == [] or all(
        k["itemType"] != "attachment" for k in e.children(item["key"])
    )

    code, _, err = e.run("pull", "--no-progress")
    assert code == 0, err
    item = e.item_by_pid(ATTENTION)
    assert item["creators"] and item["abstractNote"] and item["citationKey"]
    kids = [k for k in e.children(item["key"]) if k["itemType"] == "attachment"]
    assert [k["title"] for k in kids] == ["PDF"]
    assert "The dominant sequence" in _body(e.note_for(ATTENTION))


def test_vault_edits_of_authors_and_abstract_win_and_reach_zotero(
    env: tuple[Env, MetaServer],
) -> None:
    e, meta = env
    assert e.run("pull", "--no-progress")[0] == 0
    path = e.note_for(ATTENTION)
    text = _body(path)
    old = re.search(r"> \[!abstract\]- Abstract\n> (.*)\n", text)
    assert old is not None
    text = text.replace(old.group(1), "Fixed by hand in Obsidian.")
    text = text.replace("- Ashish Vaswani\n", "- Ashish V. Vaswani\n", 1)
    path.write_text(text, encoding="utf-8")
    code, _, err = e.run("sync", "--no-progress")
    assert code == 0, err
    item = e.item_by_pid(ATTENTION)
    assert item["abstractNote"] == "Fixed by hand in Obsidian."
    assert (item["creators"][0]["firstName"], item["creators"][0]["lastName"]) == (
        "Ashish V.",
        "Vaswani",
    )
    _set_arxiv_abstract(meta, "1706.03762", "Yet another abstract from the service.")
    assert e.run("enrich", "--refresh", "--no-progress")[0] == 0
    assert "> Fixed by hand in Obsidian." in _body(e.note_for(ATTENTION))
    assert frontmatter(e.note_for(ATTENTION))["authors"][0] == "Ashish V. Vaswani"
    assert e.item_by_pid(ATTENTION)["abstractNote"] == "Fixed by hand in Obsidian."


def test_a_damaged_cache_only_warns(env: tuple[Env, MetaServer]) -> None:
    e, _ = env

    cache = app_dirs().cache / "metadata.sqlite3"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"this is not a database" * 100)
    code, _, err = e.run("pull", "--no-progress")
    assert code == 0, err
    assert "the cache file" in err and "cannot be used" in err
    assert e.item_by_pid(ATTENTION)["abstractNote"]


class RecordingKeyring(KeyringBackend):
    """A keyring that holds one Semantic Scholar key and records every lookup."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.lookups: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.lookups.append((service, username))
        return "s2-key-from-keyring" if username == "semanticscholar" else None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NotImplementedError

    def delete_password(self, service: str, username: str) -> None:
        raise NotImplementedError


@pytest.fixture
def recording_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingKeyring]:
    monkeypatch.delenv("PLLM_SYNC_S2_API_KEY", raising=False)
    before = keyring.get_keyring()
    backend = RecordingKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(before)


def test_the_keyring_is_read_only_when_semantic_scholar_is_asked(
    env: tuple[Env, MetaServer], recording_keyring: RecordingKeyring
) -> None:
    e, meta = env
    assert e.run("pull", "--no-progress")[0] == 0
    assert recording_keyring.lookups == [("pllm-sync", "semanticscholar")]
    s2 = [h for h in meta.headers_seen if "x-api-key" in h]
    assert [h["x-api-key"] for h in s2] == ["s2-key-from-keyring"]  # sent to S2, not arXiv
    key_files = [p for p in e.root.rglob("*") if p.is_file() and b"s2-key-from" in p.read_bytes()]
    assert key_files == []
    # every answer is cached now: a second pull asks no service and reads no key
    code, _, err = e.run("pull", "--no-progress")
    assert code == 0, err
    assert meta.requests() == 2
    assert recording_keyring.lookups == [("pllm-sync", "semanticscholar")]
    assert "s2-key-from" not in err
