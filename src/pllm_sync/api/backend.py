"""What the API needs from the daemon. The daemon implements it; tests may too.

Every method returns plain JSON values. ``LookupError`` means "no such thing" (404),
``ValueError`` a request that cannot be honoured as asked (400), ``ConflictClosed`` a
conflict that is already resolved (409).
"""

from __future__ import annotations

from typing import Any, Protocol

from .events import EventBus


class ConflictClosed(Exception):
    """The conflict was resolved already (by the user, or because the sides now agree)."""


class Backend(Protocol):
    events: EventBus

    def status(self) -> dict[str, Any]: ...

    def start_sync(self, dry_run: bool) -> dict[str, Any]:
        """Queue a pass now (or join one queued already); returns the run."""
        ...

    def get_run(self, run_id: str) -> dict[str, Any]: ...

    def conflicts(self) -> list[dict[str, Any]]: ...

    def resolve(self, conflict_id: int, take: str | None, value: Any) -> dict[str, Any]:
        """Record the choice (a side, or a merged value) and queue the pass that applies it."""
        ...

    def papers(self, query: str, limit: int) -> list[dict[str, Any]]: ...

    def paper(self, pllm_id: str) -> dict[str, Any]: ...
