"""Fixtures for metadata tests: the local recorded-answer server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import MetaServer, serve


@pytest.fixture
def meta() -> Iterator[MetaServer]:
    with serve(MetaServer()) as s:
        yield s
