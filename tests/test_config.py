from __future__ import annotations

from pathlib import Path

import pytest

from pllm_sync.config import load_config
from pllm_sync.errors import ConfigError
from pllm_sync.paths import app_dirs


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_without_config() -> None:
    cfg = load_config()
    assert [s.name for s in cfg.catalog.sources] == ["jiahongliu21", "vanillacreamer"]
    assert cfg.zotero.endpoint == "https://api.zotero.org"
    assert not cfg.zotero.configured


def test_home_isolates_every_dir(isolated_home: Path) -> None:
    dirs = app_dirs()
    for d in (dirs.config, dirs.data, dirs.cache, dirs.logs):
        assert isolated_home in d.parents


def test_env_var_and_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(
        tmp_path,
        "catalog:\n  sources:\n    - {name: mine, path: lists/a.md}\n"
        "vault: {path: vault}\nzotero: {library_id: 123}\n",
    )
    monkeypatch.setenv("PLLM_SYNC_CONFIG", str(p))
    cfg = load_config()
    assert cfg.catalog.sources[0].path == tmp_path / "lists" / "a.md"
    assert cfg.vault.path == tmp_path / "vault"
    assert cfg.zotero.library_id == "123"


def test_user_config_dir_is_found(isolated_home: Path) -> None:
    d = app_dirs().config
    d.mkdir(parents=True)
    (d / "config.yaml").write_text("zotero: {library_id: '42'}\n")
    assert load_config().zotero.library_id == "42"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("zotero: {library_type: team}\n", "zotero.library_type"),
        ("zotero: {library_id: abc}\n", "zotero.library_id"),
        ("zotero: {api_key: SECRETKEY123}\n", "zotero.api_key"),
        ("catalog: {sources: [{name: a}]}\n", "catalog.sources[0]"),
        ("catalog: {sources: [{name: a, url: 'ftp://x'}]}\n", "catalog.sources[0].url"),
        ("vault: {papers_folder: ../outside}\n", "vault.papers_folder"),
        ("sync: {conflict: coinflip}\n", "sync.conflict"),
        ("bogus: 1\n", "bogus"),
        ("sync: {max_delete: -1}\n", "sync.max_delete"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(p)
    msg = str(err.value)
    assert needle in msg and str(p) in msg and "next step" in msg
    assert "SECRETKEY123" not in msg


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    p = write(tmp_path, "zotero:\n  library_id: 1\n  endpoint: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert f"{p}:" in str(err.value)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
