"""``pllm-sync catalog`` end to end through ``pllm_sync.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pllm_sync.cli import main

from .helpers import SEEDS
from .test_sources import LIST_V1, Server, dead_url

KEYS = {"id", "title", "method", "venue", "year", "urls", "ids", "sections", "sources", "authors"}


def test_json_on_a_local_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = SEEDS / "001_bullet-list.md"
    assert main(["catalog", "--source", str(path), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    papers = json.loads(out)
    # 101 entries; Personality Alignment, Neuron-based Personality, Web Agents and Guided
    # Profile Generation are each listed twice, MC-LLaVA twice with two different arXiv ids.
    assert len(papers) == 97
    assert all(set(p) == KEYS for p in papers)
    judge = next(p for p in papers if p["title"] == "Can LLM be a Personalized Judge?")
    assert judge["id"] == "arxiv:2406.11657"
    assert judge["urls"] == {
        "paper": ["https://arxiv.org/pdf/2406.11657"],
        "code": ["https://github.com/dong-river/Personalized-Judge"],
    }
    assert judge["venue"]["label"] == "EMNLP 2024" and judge["year"] == 2024
    assert judge["sources"] == ["001-bullet-list:230"]
    assert judge["sections"] == [
        [
            "Awesome Personalized Large Language Models",
            "Preference Alignment",
            "Parameter-Efficient-Fine-Tuning (PEFT)-based Methods",
        ]
    ]
    pa = next(p for p in papers if p["title"] == "Personality Alignment of Large Language Models")
    assert pa["ids"] == {"arxiv": "2408.11779", "openreview": "0DZEs8NpUH"}
    assert len(pa["sections"]) == 2
    # Warnings: stderr, one per line, each naming source:line.
    lines = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert "warning: 001-bullet-list:16: not a paper (tagged GitHub); skipped" in "\n".join(lines)
    assert all(ln.startswith("warning: 001-bullet-list:") for ln in lines)
    assert "97 papers" in err


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--source", str(SEEDS / "000_table-list.md")]) == 0
    out, _ = capsys.readouterr()
    rows = out.splitlines()
    assert rows[0].split() == ["ID", "YEAR", "VENUE", "METHOD", "TITLE"]
    cue = next(r for r in rows if r.startswith("arxiv:2305.11792"))
    assert "2023" in cue and "EMNLP 2023 Findings" in cue and "Cue-CoT" in cue
    assert all(len(r) <= 200 for r in rows)


def _config(tmp_path: Path, text: str) -> str:
    p = tmp_path / "config.yaml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_default_sources_offline_use_the_bundled_snapshots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config(tmp_path, "catalog:\n  offline: true\n")
    assert main(["--config", cfg, "catalog", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    papers = json.loads(out)
    sources = {s.split(":")[0] for p in papers for s in p["sources"]}
    assert sources == {"jiahongliu21", "vanillacreamer"}
    assert "bundled" in err
    # 129 + 143 papers, 19 of them in both lists
    assert len(papers) == 253


def test_unreachable_default_urls_fall_back_to_bundled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = dead_url()
    cfg = _config(
        tmp_path,
        f"catalog:\n  timeout_seconds: 2\n  sources:\n    - {{name: jiahongliu21, url: '{url}'}}\n",
    )
    assert main(["--config", cfg, "catalog"]) == 0
    out, err = capsys.readouterr()
    assert "arxiv:2304.11406" in out
    assert "could not fetch" in err and "bundled" in err


def test_source_url_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = Server()
    try:
        assert main(["catalog", "--source", server.url, "--format", "json"]) == 0
        out, _ = capsys.readouterr()
        assert [p["title"] for p in json.loads(out)] == ["First Paper"]
        assert server.state.text == LIST_V1
    finally:
        server.stop()
    assert main(["catalog", "--source", "no-such-source"]) == 3
    _, err = capsys.readouterr()
    assert "unknown catalog source 'no-such-source'" in err and "next step:" in err
    cfg = _config(tmp_path, f"catalog:\n  sources:\n    - {{name: mine, url: '{dead_url()}'}}\n")
    assert main(["--config", cfg, "catalog"]) == 3
    _, err = capsys.readouterr()
    assert "cannot read catalog source 'mine'" in err
