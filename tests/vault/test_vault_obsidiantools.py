"""Generated vaults load cleanly in an independent Obsidian-vault reader (obsidiantools)."""

from __future__ import annotations

from pathlib import Path

import pytest
from obsidiantools.api import Vault

from pllm_sync.model import PaperIds, Section
from pllm_sync.record import record_from_paper
from pllm_sync.vault.store import VaultStore

from .vault_helpers import ROOT, lamp, make_paper


def test_obsidiantools_sees_front_matter_tags_and_links(
    store: VaultStore, capsys: pytest.CaptureFixture[str]
) -> None:
    store.ensure(from_template=True)
    root = Section(ROOT[0], "awesome", ROOT)
    prompting = root.child("Personalized Prompting")
    survey = root.child("1. Survey / Tutorial")
    papers = [
        lamp(),
        make_paper(
            'Colon: quotes "x" #tag [[y]]', ids=PaperIds(doi="10.4/a"), sections=(survey.path,)
        ),
        make_paper("10:00", ids=PaperIds(doi="10.4/b"), sections=(prompting.path, survey.path)),
    ]
    infos = [
        store.create_note(p, {**record_from_paper(p), "tags": {"nlp", "to-read"}}) for p in papers
    ]
    members: dict[tuple[str, ...], list[str]] = {}
    for p, info in zip(papers, infos, strict=True):
        for path in p.sections:
            members.setdefault(path, []).append(info.name)
    store.write_index_notes({"jiahongliu21": root}, members)

    vault = Vault(store.root).connect().gather()
    assert "Front matter not populated" not in capsys.readouterr().out  # no YAML errors
    files = {Path(p).as_posix() for p in vault.md_file_index.values()}

    for paper, info in zip(papers, infos, strict=True):
        fm = vault.front_matter_index[info.name]
        assert fm["title"] == paper.title and fm["pllm-sync-id"] == paper.id
        assert sorted(fm["tags"]) == ["nlp", "to-read"]
        # paper -> index notes: every section link is seen and names an existing note
        links = vault.wikilinks_index[info.name]
        section_links = [link for link in links if link.startswith("Sections/")]
        assert len(section_links) == len(paper.sections)
        assert all(f"{link}.md" in files for link in section_links)
        # index notes -> paper: seen as backlinks of the paper note
        assert len(vault.get_backlinks(info.name)) == len(paper.sections)

    index_fm = vault.front_matter_index["Personalized Prompting"]
    assert index_fm == {"pllm-sync-section": "Awesome PLLMs / Personalized Prompting"}
