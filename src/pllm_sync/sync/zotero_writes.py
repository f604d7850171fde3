"""A run's Zotero writes, made by one worker thread while the engine writes the vault.

A first pull waits for Zotero to answer a hundred batch writes or more; the notes of new papers
do not need those answers, only their items' keys, which the client makes. So the engine plans
the writes (``ZoteroPlan``), hands them to ``ZoteroWrites`` and goes on rendering and staging
notes: before the note of a paper being created it waits for that paper's outcome (``key``),
and before anything that needs the whole outcome (a note update of a paper written to Zotero,
the vault commit, the state commit) it calls ``finish``. The waits for the server release the
GIL, so they overlap the notes' rendering. While the worker runs, the interpreter's switch
interval is 1 ms instead of 5: the rendering thread holds the GIL, and each answer the worker
reads (a few per request) would otherwise wait up to 5 ms for it, so the worker fell behind
the notes.

The worker does exactly what the engine did inline: creates, updates, notes, trash, in that
order, stopping at the first exception. It touches nothing of the engine's: the engine absorbs
the reports in its own thread after ``finish``, which hands back the worker's exception (if
any) with the reports completed before it, for the engine to absorb them and re-raise it, as
when the writes ran inline. When the engine itself stops (an interrupt, a simulated crash),
``cancel`` stops the worker at the next paper to settle (after at most one more batch), or
at once when it waits for the server (``Retry-After``: the delayed request is not sent), and
waits for it.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field

from ..zotero.client import Backoff
from ..zotero.store import ItemChange, NewItem, NoteUpsert, WriteReport
from .ports import ZoteroPort

SWITCH_INTERVAL = 0.001
"""Seconds a thread holds the GIL while another waits for it, during the writes."""


_POLL = 0.2
"""Seconds between checks for a signal while the run waits for the worker: a wait without
a timeout is not woken by a Ctrl-C that the kernel delivered to another thread, and only the
main thread acts on it (the run would stop only once the worker reported)."""


@dataclass
class ZoteroPlan:
    """Every Zotero write of a run, by kind; ``owner``: object key -> the paper's id."""

    creates: list[NewItem] = field(default_factory=list)
    updates: list[ItemChange] = field(default_factory=list)
    notes: list[NoteUpsert] = field(default_factory=list)
    trash: list[str] = field(default_factory=list)
    owner: dict[str, str] = field(default_factory=dict)

    def papers(self) -> set[str]:
        """The ids of the papers this plan writes (whose Zotero outcome is pending)."""
        return {e.paper.id for e in self.creates} | set(self.owner.values())


@dataclass
class ZoteroReports:
    """The reports of the writes made (None: that kind was not written)."""

    creates: WriteReport | None = None
    updates: WriteReport | None = None
    notes: WriteReport | None = None
    trash: WriteReport | None = None


class Cancelled(BaseException):
    """Stops the worker once the run itself stopped (never seen outside this module)."""


class ZoteroWrites:
    """The writes of ``plan``, in a worker thread when ``background`` (else made at once)."""

    def __init__(self, zotero: ZoteroPort, plan: ZoteroPlan, *, background: bool) -> None:
        self.plan = plan
        self.reports = ZoteroReports()
        self._zotero = zotero
        self._cond = threading.Condition()
        self._keys: dict[str, str | None] = {}
        self._done = False
        self._cancelled = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._switch: float | None = None  # the switch interval to restore
        self._backoff: Backoff | None = None  # its waits end when the run stops
        if background:
            backoff = getattr(getattr(zotero, "http", None), "backoff", None)
            if isinstance(backoff, Backoff):
                self._backoff, backoff.stop = backoff, threading.Event()
            self._switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch, SWITCH_INTERVAL))
            self._thread = threading.Thread(target=self._run, name="pllm-zotero-writes")
            self._thread.start()
        else:
            self._run()

    def _run(self) -> None:
        plan, z, out = self.plan, self._zotero, self.reports
        try:
            if plan.creates:
                out.creates = z.create_papers(plan.creates, on_settled=self._settled)
            if plan.updates:
                out.updates = z.update_items(plan.updates)
            if plan.notes:
                out.notes = z.upsert_notes(plan.notes)
            if plan.trash:
                out.trash = z.trash(plan.trash)
        except BaseException as exc:  # handed to the engine's thread by ``finish``
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def _settled(self, pid: str, key: str | None) -> None:
        with self._cond:
            if self._cancelled:
                raise Cancelled
            self._keys[pid] = key
            self._cond.notify_all()

    def key(self, pid: str) -> tuple[bool, str | None]:
        """Wait for the outcome of creating ``pid``: (True, its item key, or None when it did
        not land whole), or (False, None) when the writes ended without it (they failed:
        ``finish`` says how)."""
        with self._cond:
            while pid not in self._keys and not self._done:
                self._cond.wait(_POLL)  # timed: Ctrl-C may be delivered to the worker
            if pid in self._keys:
                return True, self._keys[pid]
            return False, None

    def finish(self) -> BaseException | None:
        """Wait for every write; the exception that stopped them, if one did (``reports``
        holds the reports of the kinds written before it)."""
        if self._thread is not None:
            while self._thread.is_alive():
                self._thread.join(_POLL)  # timed, as in ``key``
            self._thread = None
        if self._backoff is not None:
            self._backoff.stop, self._backoff = None, None
        if self._switch is not None:
            if sys.getswitchinterval() == min(self._switch, SWITCH_INTERVAL):
                sys.setswitchinterval(self._switch)  # unless someone else set it meanwhile
            self._switch = None
        return self._error

    def cancel(self) -> None:
        """Stop the writes (at the next paper to settle, or a wait for the server) and wait for
        the worker."""
        with self._cond:
            self._cancelled = True
        if self._backoff is not None and self._backoff.stop is not None:
            self._backoff.stop.set()  # a wait for the server ends now, and sends nothing
        self.finish()
