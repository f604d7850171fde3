"""When a sync may skip deciding: the settled mark.

A sync reads four things: the state database, Zotero's change feed, the vault's notes and
the config (plus the code that decides). ``decide`` is pure, so a run whose inputs are
exactly those of an earlier run decides exactly what that run decided. The settled mark
makes that argument checkable without building a single paper view:

1. A full sync (not ``pull``, not the daemon's incremental pass) that read an empty change
   feed, re-read no note (every reading came from the scan cache, and every one was old
   enough to be trusted), decided an empty plan, warned about nothing (in the plan or the
   log) and wrote **no row** (the connection's change counter did not move, and no other
   connection committed meanwhile: SQLite's ``data_version``) leaves the mark: a
   fingerprint of the config and the code (:func:`fingerprint`).
2. SQLite triggers drop the mark on any later write to what a sync reads from the state
   (papers, scan cache, conflicts, collections, library versions), whoever writes it.
3. The next sync finds the mark with its own fingerprint (same config, same code), asks
   Zotero its one conditional question (304: the feed is empty, as it was), and walks the
   vault: the same files, each with the size and mtime its cached reading was taken at
   (``VaultStore.unchanged_since``), so the scan would hand back the very readings of step 1.
   Every input equals step 1's, so the plan is step 1's: empty. Nothing is decoded, decided
   or written.

Notes the cloud evicted (iCloud's "Optimize Mac Storage" leaves ``.X.md.icloud`` for
``X.md``) are the one warning a settled run may have: a known note that only its placeholder
stands for is left alone with a "not downloaded" notice, and with iCloud that is a large
vault's normal state, so a run warning of nothing else settles too. Such a plan's warnings
depend on the vault only through which placeholders there are (and nothing at their notes'
paths), so the mark (:class:`Mark`) holds the placeholders the settling run's walk passed and
its notices: the settled walk must pass the very same placeholders, each still alone, and
the settled run's plan is the settling run's, notices included (said again every run).

Anything else (a note saved, touched or added, a note downloaded or evicted, an item edited or trashed in Zotero, a state
row written by any command, a changed config or pllm-sync version) misses one of the checks
and the run decides in full, as before; ``tests/e2e/test_settled.py`` pins each case and
that the plan with the mark equals the plan without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__

if TYPE_CHECKING:  # a settled sync checks with the state, the walk and one request only
    from ..config import Config
    from ..vault.store import VaultScan
    from ..zotero.store import ZoteroSnapshot
    from .plan import Plan
    from .state import LibraryRef, StateDB

FORMAT = "settled-1"
"""Bumped when what the fingerprint covers changes."""

_PACKAGE = Path(__file__).resolve().parents[1]


def code_stamp() -> str:
    """The package's modules by path, size and mtime: an upgrade (or an edit of an editable
    install) changes it, so a mark left by other code never skips this code's decisions."""
    parts: list[str] = []
    stack = [str(_PACKAGE)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                if e.name not in ("__pycache__", "testing", "data"):
                    stack.append(e.path)
            elif e.name.endswith(".py"):
                st = e.stat()
                parts.append(f"{e.path}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(sorted(parts))


def fingerprint(
    config: Config,
    library: LibraryRef | None,
    *,
    zotero: bool,
    read_only: bool,
    vault_root: Path,
) -> str:
    """What a run's decisions depend on besides the state, the feed and the notes. The
    endpoint a sandbox is served at changes every run; the library names it instead."""
    zcfg = replace(config.zotero, endpoint=library.endpoint if library else "", stream_url="")
    parts = (
        FORMAT,
        __version__,
        code_stamp(),
        repr(replace(config, zotero=zcfg)),
        repr(library),
        str(zotero),
        str(read_only),
        os.path.realpath(vault_root),
    )
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


class _WarningCount(logging.Handler):
    """Counts the warnings pllm-sync logs: a run that warned (a hand-added note for a paper
    that has one, a file that is not a regular file) does not settle, so every later run
    warns again as it did before the mark existed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


_WARNINGS = _WarningCount()


def warnings_logged() -> int:
    """How many warnings pllm-sync has logged in this process (from the first call on)."""
    logger = logging.getLogger("pllm_sync")
    if _WARNINGS not in logger.handlers:  # the CLI replaces the handlers when it starts
        logger.addHandler(_WARNINGS)
    return _WARNINGS.count


@dataclass(frozen=True)
class Mark:
    """What the settled row holds: the fingerprint, the cloud placeholders the settling
    run's walk passed (sorted) and its plan's warnings, each a "not downloaded" notice of a
    known note a placeholder stands for (``Plan.evicted``). A mark with neither is stored as
    the bare fingerprint, as before there were others."""

    fingerprint: str
    placeholders: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()

    def encode(self) -> str:
        if not (self.placeholders or self.notices):
            return self.fingerprint
        extra = {"placeholders": list(self.placeholders), "notices": list(self.notices)}
        return f"{self.fingerprint}\n{json.dumps(extra, ensure_ascii=False)}"

    @classmethod
    def decode(cls, text: str | None) -> Mark | None:
        """The mark ``text`` holds; None for none, or one this code cannot read (then
        the run decides in full, and leaves its own)."""
        if text is None:
            return None
        fingerprint, newline, rest = text.partition("\n")
        if not newline:
            return cls(fingerprint)
        try:
            extra = json.loads(rest)
            placeholders = tuple(str(p) for p in extra["placeholders"])
            notices = tuple(str(n) for n in extra["notices"])
        except (ValueError, KeyError, TypeError):
            return None
        return cls(fingerprint, placeholders, notices)


def settles(
    plan: Plan,
    *,
    errors: int,
    applied: bool,
    snap: ZoteroSnapshot | None,
    zotero: bool,
    scan: VaultScan,
    warned: bool = False,
) -> bool:
    """Whether a finished full sync may leave the mark (step 1 of the module docstring);
    that it wrote no row is checked when the mark is written (``StateDB.set_settled``). Its
    only warnings may be the "not downloaded" notices of evicted notes (``Plan.evicted``,
    each also among ``Plan.warnings``), from a walk that listed the placeholders."""
    if not plan.empty or len(plan.warnings) != len(plan.evicted) or errors or applied or warned:
        return False
    if zotero and (snap is None or not snap.unchanged):
        return False
    if scan.reread or scan.problems or scan.duplicates or scan.placeholders is None:
        return False
    return all(s.trusted for s in scan.stats.values())


def probe(
    config: Config, state: StateDB, library: LibraryRef, api_key: str
) -> tuple[str, float, tuple[str, ...]]:
    """Step 3 of the module docstring, before the engine and the stores are even loaded (a
    settled ``sync`` then costs little more than its walk and its request): ``"settled"``
    when every input is the settled run's, with the settled plan's warnings (the "not
    downloaded" notices, for the caller to say as a full run would); ``"unsettled"`` when the mark or the vault says
    otherwise (Zotero was not asked); ``"asked"`` when only Zotero's answer to the lean
    request was not a 304 (the engine then reads through its client at once, without the
    lean request again: ``RunOptions.zotero_asked``, so no request is added). For a Zotero
    Web API user library, what ``SyncEngine.run`` would find: the same mark, walk and request.
    With ``"asked"`` comes the monotonic time before which the next request must not go out
    (the answer's ``Backoff`` / ``Retry-After``; 0.0 for none), for the engine's client.
    """
    from ..vault.store import VaultStore

    vault = VaultStore(config.vault, config.zotero.library_type, config.zotero.library_id)
    key = fingerprint(config, library, zotero=True, read_only=False, vault_root=vault.root)
    mark = Mark.decode(state.settled())
    if mark is None or mark.fingerprint != key:
        return "unsettled", 0.0, ()
    since = state.get_library_version(library)
    if since is None or not vault.unchanged_since(state.scan_cache_stats(), mark.placeholders):
        return "unsettled", 0.0, ()
    from ..zotero.client import ZoteroHttp
    from ..zotero.lean import items_unchanged_since

    waits: list[float] = []
    http = ZoteroHttp(config.zotero, api_key, sleep=waits.append)
    if items_unchanged_since(http, since):
        return "settled", 0.0, mark.notices
    if not http.request_count:  # not asked (a proxy is set): the engine asks as it always has
        return "unsettled", 0.0, ()
    http.backoff.wait()  # what the answer asked for, taken (not slept) for the engine's client
    return "asked", (time.monotonic() + waits[0]) if waits else 0.0, ()
