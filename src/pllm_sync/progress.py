"""A progress bar for long work that stays quiet when stderr is not a terminal (CI, pipes).

A listener (the daemon's API) can follow the same steps: ``set_listener(fn)`` has
``fn(desc, done, total)`` called at the start, at most every ``LISTEN_EVERY`` seconds, and at
the end of each wrapped loop.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import TypeVar

T = TypeVar("T")

Listener = Callable[[str, int, "int | None"], None]
LISTEN_EVERY = 0.5
_listener: Listener | None = None


def set_listener(fn: Listener | None) -> None:
    global _listener
    _listener = fn


def progress(
    items: Iterable[T], desc: str, total: int | None = None, enabled: bool | None = None
) -> Iterator[T]:
    """Wrap ``items`` in a tqdm bar on stderr; disabled automatically off a TTY."""
    show = sys.stderr.isatty() if enabled is None else enabled
    bar: Iterable[T] = items  # no bar, no tqdm import (a no-op sync shows none)
    if show:
        from tqdm import tqdm

        bar = tqdm(items, desc=desc, total=total, file=sys.stderr, leave=False, unit="item")
    listener = _listener
    if listener is None:
        yield from bar
        return
    if total is None and isinstance(items, Sized):
        total = len(items)
    listener(desc, 0, total)
    last, done = time.monotonic(), 0
    for item in bar:
        yield item
        done += 1
        now = time.monotonic()
        if now - last >= LISTEN_EVERY:
            listener(desc, done, total)
            last = now
    listener(desc, done, total)
