"""The ``metadata:`` config section."""

from __future__ import annotations

import pytest

from pllm_sync.config import MetadataConfig, parse_config
from pllm_sync.errors import ConfigError


def test_defaults_point_at_the_real_services() -> None:
    m = parse_config({}, "t").metadata
    assert m == MetadataConfig()
    assert m.arxiv_url == "https://export.arxiv.org/api/query" and m.arxiv_interval_seconds == 3.0


def test_urls_and_numbers_are_read() -> None:
    m = parse_config(
        {
            "metadata": {
                "enabled": False,
                "arxiv_url": "http://127.0.0.1:9/arxiv/",
                "semanticscholar_url": None,
                "title_lookups": 5,
                "cache_days": 2,
            }
        },
        "t",
    ).metadata
    assert not m.enabled and m.arxiv_url == "http://127.0.0.1:9/arxiv"
    assert m.semanticscholar_url is None and m.title_lookups == 5 and m.cache_days == 2.0


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"arxiv_url": "ftp://x"}, "metadata.arxiv_url"),
        ({"cache_days": "soon"}, "metadata.cache_days"),
        ({"enabled": "maybe"}, "metadata.enabled"),
        ({"api_key": "x"}, "metadata.api_key"),
    ],
)
def test_bad_values_name_the_key(section: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config({"metadata": section}, "config.yaml")
    assert key in str(exc.value)


def test_env_switch_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLLM_SYNC_METADATA", "off")
    assert not MetadataConfig().active
    monkeypatch.delenv("PLLM_SYNC_METADATA")
    assert MetadataConfig().active and not MetadataConfig(enabled=False).active
