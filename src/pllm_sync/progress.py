"""A progress bar for long work that stays quiet when stderr is not a terminal (CI, pipes)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(
    items: Iterable[T], desc: str, total: int | None = None, enabled: bool | None = None
) -> Iterator[T]:
    """Wrap ``items`` in a tqdm bar on stderr; disabled automatically off a TTY."""
    show = sys.stderr.isatty() if enabled is None else enabled
    yield from tqdm(
        items, desc=desc, total=total, disable=not show, file=sys.stderr, leave=False, unit="item"
    )
