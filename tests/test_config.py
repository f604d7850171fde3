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


# The parsed-config cache (config.py): a config that validated is not parsed by YAML again
# while its text is unchanged, and every result and message stays the one YAML gives.

QUIRKY = (
    "# YAML 1.1 as PyYAML reads it: yes is true, ~ is null, 0123 is octal, 1e3 a string\n"
    "catalog:\n"
    "  offline: yes\n"
    "  timeout_seconds: 2.5\n"
    "  sources:\n"
    "    - &src {name: mine, path: lists/a.md, include: [Bench*, 'x: y']}\n"
    "    - {name: '1e3', path: b.md, exclude: Survey}\n"
    "zotero: {library_id: 0123, root_collection: pllm, stream_url: 'off'}\n"
    "vault: {path: ~/notes, whats_new: no}\n"
    "metadata: {semanticscholar_url: ~, title_lookups: 7}\n"
    "api: {port: 0}\n"
)


def _yaml_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("parsed by YAML again")

    monkeypatch.setattr(yaml, "safe_load", refuse)


def test_unchanged_config_is_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = write(tmp_path, QUIRKY)
    first = load_config(p)
    assert first.catalog.offline and first.zotero.stream_url == "off"
    assert first.catalog.sources[1].name == "1e3" and first.zotero.library_id == "83"
    assert first.metadata.semanticscholar_url is None and not first.vault.whats_new
    _yaml_refused(monkeypatch)
    assert load_config(p) == first
    assert load_config(str(p)) == first


def test_edited_config_is_read_again(tmp_path: Path) -> None:
    p = write(tmp_path, "zotero: {library_id: 11}\n")
    assert load_config(p).zotero.library_id == "11"
    p.write_text("zotero: {library_id: 12}\n", encoding="utf-8")  # same size, maybe same mtime
    assert load_config(p).zotero.library_id == "12"
    p.write_text("zotero: {library_id: 1x}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"zotero\.library_id"):
        load_config(p)


@pytest.mark.parametrize(
    "text", ["zotero: {library_type: team}\n", "zotero:\n  endpoint: [unclosed\n"]
)
def test_bad_config_gives_the_same_message_every_time(tmp_path: Path, text: str) -> None:
    p = write(tmp_path, text)
    messages = []
    for _ in range(2):
        with pytest.raises(ConfigError) as err:
            load_config(p)
        messages.append(str(err.value))
    assert messages[0] == messages[1]


def test_refused_config_is_never_copied_to_the_cache(tmp_path: Path) -> None:
    """An API key pasted into the config is refused, and not kept anywhere else either."""
    p = write(tmp_path, "zotero: {library_id: 1, api_key: SECRETKEY123}\n")
    with pytest.raises(ConfigError):
        load_config(p)
    cache = app_dirs().cache
    kept = [f.read_text() for f in cache.rglob("*") if f.is_file()] if cache.exists() else []
    assert not any("SECRETKEY123" in t for t in kept)


def test_values_only_yaml_holds_are_always_parsed_by_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value JSON would not give back as YAML built it (here an infinite timeout, which
    validates) is never cached: every load parses the text with YAML."""
    import yaml

    calls: list[str] = []
    real = yaml.safe_load

    def counting(text: str) -> object:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(yaml, "safe_load", counting)
    p = write(tmp_path, "catalog: {timeout_seconds: .inf}\n")
    assert load_config(p).catalog.timeout_seconds == float("inf")
    assert load_config(p).catalog.timeout_seconds == float("inf")
    assert len(calls) == 2
    p.write_text("catalog: {timeout_seconds: 9.5}\n", encoding="utf-8")
    assert load_config(p).catalog.timeout_seconds == load_config(p).catalog.timeout_seconds
    assert len(calls) == 3  # a plain document is parsed once
