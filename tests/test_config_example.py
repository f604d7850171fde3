from __future__ import annotations

from pathlib import Path

import yaml

from pllm_sync.config import default_config, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_example_config_is_valid_and_matches_defaults() -> None:
    """config.example.yaml documents every key with its default value."""
    cfg = load_config(ROOT / "config.example.yaml")
    default = default_config()
    assert cfg.catalog == default.catalog
    assert cfg.sync == default.sync
    assert cfg.watch == default.watch
    assert cfg.metadata == default.metadata
    assert cfg.zotero == default.zotero
    assert cfg.vault.papers_folder == default.vault.papers_folder


def test_example_config_documents_every_key() -> None:
    data = yaml.safe_load((ROOT / "config.example.yaml").read_text())
    from dataclasses import fields

    from pllm_sync import config as c

    for section, cls in (
        ("catalog", c.CatalogConfig),
        ("zotero", c.ZoteroConfig),
        ("vault", c.VaultConfig),
        ("sync", c.SyncConfig),
        ("watch", c.WatchConfig),
        ("api", c.ApiConfig),
        ("metadata", c.MetadataConfig),
    ):
        assert set(data[section]) == {f.name for f in fields(cls)}, section
