"""The daemon's single worker loop.

Every pass is an ordinary engine run, so the daemon can never do anything a one-shot
``sync`` would not. Passes never overlap: vault changes (debounced), Zotero polls and
catalog refreshes are all served by this one loop, in order.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..config import WatchConfig
from .watcher import VaultSignal

log = logging.getLogger(__name__)


@dataclass
class LoopStats:
    passes: int = 0
    pulls: int = 0
    failures: int = 0
    reasons: list[str] = field(default_factory=list)


class WatchLoop:
    """Decides when to run a pass; ``run_pass(pull_catalog, reason)`` does the work."""

    def __init__(
        self,
        cfg: WatchConfig,
        signal_: VaultSignal,
        run_pass: Callable[[bool, str], None],
        *,
        tick: float = 0.2,
    ) -> None:
        self.cfg = cfg
        self.signal = signal_
        self.run_pass = run_pass
        self.tick = tick
        self.stop_event = threading.Event()
        self.stats = LoopStats()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop_event.set())

    def _do(self, pull: bool, reason: str) -> None:
        try:
            self.run_pass(pull, reason)
            self.stats.passes += 1
            self.stats.pulls += int(pull)
            self.stats.reasons.append(reason)
        except Exception as exc:  # keep the daemon alive; the next pass retries
            self.stats.failures += 1
            log.error("watch: %s pass failed: %s", reason, exc)

    def run(self, *, max_seconds: float | None = None, max_passes: int | None = None) -> LoopStats:
        start = time.monotonic()
        next_poll = start + self.cfg.zotero_poll_seconds
        next_pull = start + self.cfg.catalog_refresh_minutes * 60
        self._do(True, "start")
        while not self.stop_event.is_set():
            now = time.monotonic()
            if max_seconds is not None and now - start >= max_seconds:
                break
            if max_passes is not None and self.stats.passes >= max_passes:
                break
            if now >= next_pull:
                self._do(True, "catalog refresh")
                next_pull = now + self.cfg.catalog_refresh_minutes * 60
                next_poll = now + self.cfg.zotero_poll_seconds
            elif self.signal.take_if_quiet(self.cfg.debounce_seconds):
                self._do(False, "vault change")
            elif now >= next_poll:
                self._do(False, "zotero poll")
                next_poll = now + self.cfg.zotero_poll_seconds
            self.stop_event.wait(self.tick)
        return self.stats
