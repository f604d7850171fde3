"""``pllm-sync lists``, ``lists add`` and ``lists remove`` against a local HTTP server that
stands in for raw.githubusercontent.com (``catalog.github_raw_base`` points at it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from pllm_sync.catalog import load_catalog
from pllm_sync.cli import main
from pllm_sync.config import load_config

AGENTS = (
    "# Agent Papers\n## Planning\n"
    "- [2023/10] **Planning Paper One** *Ann Poe et al.* [[paper](https://arxiv.org/abs/2310.00001)]\n"
    "- [2023/11] **Planning Paper Two** [[paper](https://arxiv.org/abs/2311.00002)]\n"
    "## Memory\n### Long-term\n"
    "- **Memory Paper Three** [[paper](https://arxiv.org/abs/2312.00003)]\n"
    "## Benchmarks\n| Title | Venue | Paper |\n| --- | --- | --- |\n"
    "| Bench Paper Four | ACL 2024 | [[pdf]](https://arxiv.org/pdf/2401.00004) |\n"
    "| Planning Paper One | arXiv | [[pdf]](https://arxiv.org/pdf/2310.00001) |\n"
)
NOT_A_LIST = "# Just prose\nSee [our site](https://example.com) and https://example.org.\n"

CONFIG = """\
# my pllm-sync config: keep this comment
catalog:
  sources:
    - name: mine   # my own list
      path: {mine}
  offline: false
vault:
  path: {vault}   # where the notes go
"""


class Repo:
    def __init__(self) -> None:
        self.files = {
            "/someone/agent-papers/HEAD/README.md": AGENTS,
            "/someone/prose/HEAD/README.md": NOT_A_LIST,
        }
        self.hits: list[str] = []
        files, hits = self.files, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                body = files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def repo() -> Iterator[Repo]:
    r = Repo()
    yield r
    r.stop()


@pytest.fixture
def cfg_path(tmp_path: Path, repo: Repo) -> Path:
    mine = tmp_path / "mine.md"
    mine.write_text(
        "# Mine\n## S\n- **My Only Paper** [[paper](https://arxiv.org/abs/2405.00005)]\n"
        "- **Memory Paper Three** [[paper](https://arxiv.org/abs/2312.00003)]\n",
        encoding="utf-8",
    )
    p = tmp_path / "config.yaml"
    p.write_text(
        CONFIG.format(mine=mine, vault=tmp_path / "vault") + "  # test override\n",
        encoding="utf-8",
    )
    text = p.read_text(encoding="utf-8").replace(
        "  offline: false\n", f"  offline: false\n  github_raw_base: {repo.base}\n"
    )
    p.write_text(text, encoding="utf-8")
    return p


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_github_repo_follows_its_readme_and_keeps_comments(
    cfg_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "--config", str(cfg_path), "lists", "add", "github:someone/agent-papers"
    )
    assert code == 0, err
    assert "following 'someone-agent-papers'" in out and "4 papers" in out
    assert repo.hits == ["/someone/agent-papers/HEAD/README.md"]
    text = cfg_path.read_text(encoding="utf-8")
    assert "# my pllm-sync config: keep this comment" in text
    assert "# my own list" in text and "# where the notes go" in text
    cfg = load_config(cfg_path)
    assert [s.name for s in cfg.catalog.sources] == ["mine", "someone-agent-papers"]
    assert cfg.catalog.sources[1].url == f"{repo.base}/someone/agent-papers/HEAD/README.md"

    code, out, err = run(capsys, "--config", str(cfg_path), "lists")
    assert code == 0, err
    lines = {ln.split()[0]: ln.split() for ln in out.splitlines()[2:] if ln.strip()}
    assert lines["mine"][1:4] == ["2", "1", "0"]  # papers, sections, warnings
    assert lines["someone-agent-papers"][1:4] == ["4", "4", "0"]
    assert "(local file)" in out and "20" in lines["someone-agent-papers"][4]  # fetched-at date


def test_add_with_name_and_section_patterns(
    cfg_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{repo.base}/someone/agent-papers/HEAD/README.md"
    code, out, err = run(
        capsys,
        "--config",
        str(cfg_path),
        "lists",
        "add",
        url,
        "--name",
        "agents",
        "--include",
        "Planning",
        "--include",
        "Memory/*",
        "--exclude",
        "long-term",
    )
    assert code == 0, err
    assert "2 papers" in out
    cfg = load_config(cfg_path)
    src = cfg.catalog.sources[1]
    assert (src.name, src.include, src.exclude) == (
        "agents",
        ("Planning", "Memory/*"),
        ("long-term",),
    )
    cat = load_catalog(cfg.catalog, only="agents")
    assert sorted(p.title for p in cat.papers) == ["Planning Paper One", "Planning Paper Two"]


def test_add_refuses_what_it_cannot_read_and_changes_nothing(
    cfg_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    before = cfg_path.read_bytes()
    code, _, err = run(capsys, "--config", str(cfg_path), "lists", "add", "github:someone/missing")
    assert code != 0 and "HTTP 404" in err
    code, _, err = run(capsys, "--config", str(cfg_path), "lists", "add", "github:not a repo")
    assert code != 0 and "github:owner/repo" in err
    code, _, err = run(
        capsys, "--config", str(cfg_path), "lists", "add", str(cfg_path.parent / "nope.md")
    )
    assert code != 0 and "neither an existing file" in err
    code, _, err = run(
        capsys, "--config", str(cfg_path), "lists", "add", "github:someone/prose", "--name", "mine"
    )
    assert code != 0 and "already followed" in err and "--name" in err
    assert cfg_path.read_bytes() == before


def test_add_of_a_list_without_papers_says_why(
    cfg_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--config", str(cfg_path), "lists", "add", "github:someone/prose")
    assert code == 0
    assert "0 papers" in out
    assert "no paper entries found" in err and "lists remove someone-prose" in err


def test_remove_names_the_file_and_counts_the_papers_it_retires(
    cfg_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(capsys, "--config", str(cfg_path), "lists", "add", "github:someone/agent-papers")[0]
        == 0
    )
    code, out, err = run(
        capsys, "--config", str(cfg_path), "lists", "remove", "someone-agent-papers"
    )
    assert code == 0, err
    assert str(cfg_path) in out
    assert "3 of its 4 papers are in no other list" in out  # Memory Paper Three is also mine's
    assert "# my own list" in cfg_path.read_text(encoding="utf-8")
    assert [s.name for s in load_config(cfg_path).catalog.sources] == ["mine"]

    before = cfg_path.read_bytes()
    code, _, err = run(capsys, "--config", str(cfg_path), "lists", "remove", "nosuch")
    assert code == 2 and str(cfg_path) in err and "followed: mine" in err
    code, _, err = run(capsys, "--config", str(cfg_path), "lists", "remove", "mine")
    assert code == 2 and "only followed list" in err and "lists add" in err
    assert cfg_path.read_bytes() == before


def test_first_add_without_sources_keeps_the_default_lists(
    tmp_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"# only an override\ncatalog:\n  github_raw_base: {repo.base}\n", encoding="utf-8"
    )
    code, _, err = run(capsys, "--config", str(cfg), "lists", "add", "github:someone/agent-papers")
    assert code == 0, err
    names = [
        s["name"] for s in yaml.safe_load(cfg.read_text(encoding="utf-8"))["catalog"]["sources"]
    ]
    assert names == ["jiahongliu21", "vanillacreamer", "someone-agent-papers"]
    assert cfg.read_text(encoding="utf-8").startswith("# only an override")


def test_broken_config_is_named_with_its_line_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("catalog:\n  sources: [\n", encoding="utf-8")
    before = cfg.read_bytes()
    code, _, err = run(capsys, "--config", str(cfg), "lists", "remove", "x")
    assert code == 2 and str(cfg) in err
    assert cfg.read_bytes() == before


def test_without_a_config_file_add_creates_one_in_the_config_dir(
    tmp_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    from pllm_sync.paths import app_dirs

    lst = tmp_path / "reading.md"
    lst.write_text(AGENTS, encoding="utf-8")
    code, out, err = run(capsys, "lists", "add", str(lst))
    assert code == 0, err
    created = app_dirs().config / "config.yaml"
    assert str(created) in out
    names = [s.name for s in load_config(created).catalog.sources]
    assert names == ["jiahongliu21", "vanillacreamer", "reading"]


def test_show_says_how_to_fetch_a_list_never_fetched(
    cfg_path: Path, repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    text = cfg_path.read_text(encoding="utf-8").replace(
        "  offline: false\n",
        "  offline: false\n  # later\n",
    )
    cfg_path.write_text(text, encoding="utf-8")
    url = f"{repo.base}/someone/agent-papers/HEAD/README.md"
    assert run(capsys, "--config", str(cfg_path), "lists", "add", url, "--name", "agents")[0] == 0
    import shutil

    from pllm_sync.catalog.sources import cache_dir

    shutil.rmtree(cache_dir())
    repo.hits.clear()
    code, out, _ = run(capsys, "--config", str(cfg_path), "lists")
    assert code == 0
    assert "not fetched yet" in out and "lists --refresh" in out
    assert repo.hits == []  # showing never touches the network
    code, out, _ = run(capsys, "--config", str(cfg_path), "lists", "--refresh")
    assert code == 0 and repo.hits == ["/someone/agent-papers/HEAD/README.md"]
    assert "not fetched yet" not in out
