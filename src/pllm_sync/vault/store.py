"""The vault side of the sync: find paper notes, read them as records, apply changes.

The engine talks to the vault only through :class:`VaultStore`. Three promises hold:

- **Nothing user-written is lost.** Only our own frontmatter keys and the managed region are
  ever rewritten (see ``note.py``, ``frontmatter_block.py``, ``body.py``); a note that changed
  on disk since it was scanned is refused, not overwritten; notes are trashed by moving them,
  never unlinked; a note whose YAML does not parse is reported and left alone.
- **No write without a change.** Every write compares the new bytes with the old ones first,
  so a sync with nothing to do keeps every file's bytes and mtime.
- **Scans scale.** A note whose size and mtime match the previous scan's is not opened again;
  its cached reading (``NoteStat``) is reused. Notes modified within ``RACY_NS`` of a scan are
  re-read next time, because a second edit in the same timestamp tick would be invisible.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import secrets
import shutil
import stat as stat_mod
import time
from collections.abc import (
    Callable,
    Collection,
    ItemsView,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    ValuesView,
)
from dataclasses import dataclass, field, fields, replace
from glob import escape as glob_escape
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from ..atomic import WriteBatch, atomic_write, clean_stale_temp_files, fsync_dir
from ..config import VaultConfig
from ..errors import NoteChangedMeanwhile, SafetyAbort, VaultError
from ..model import Paper, Section, SectionPath, normalize_whitespace
from ..progress import progress as progress_bar
from ..record import (
    MAX_TAG_LENGTH,
    SECTION_SEP,
    SYNCED_FIELDS,
    Record,
    canonical_tag,
    normalize_record,
    reserved_tag,
    section_key,
)
from . import body as body_mod
from . import frontmatter_block as fb
from . import note as note_mod
from .body import ManagedContent
from .digest import WHATS_NEW
from .names import (
    PLACEHOLDER_SUFFIX,
    is_litter,
    note_stem,
    placeholder_path,
    placeholder_target,
    short_hash,
    with_suffix,
)
from .place import dangling_link_error
from .sections import (
    HOME_NOTE,
    SECTION_KEY_PROPERTY,
    ListSummary,
    SectionLinks,
    render_home_region,
    render_index_region,
    root_alias,
)
from .template import TemplateReport, merge_template
from .yamlio import WikiLink, dump_mapping

log = logging.getLogger(__name__)

__all__ = [
    "ManagedContent",
    "NoteInfo",
    "NoteStat",
    "NoteViews",
    "VaultProblem",
    "VaultScan",
    "VaultStore",
]

RACY_NS = 2_000_000_000
"""Files modified less than this long before a scan are not trusted from cache next time
(2 s covers the coarsest common timestamp granularity, FAT/exFAT)."""

_ID_MARKER = b"pllm-sync-"
_SYNCED = frozenset(SYNCED_FIELDS)


@dataclass(frozen=True)
class VaultProblem:
    """A note pllm-sync could not read and left untouched."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.message}"
            if self.line
            else f"{self.path}: {self.message}"
        )


@dataclass(frozen=True, slots=True)
class NoteInfo:
    """One paper note as the engine sees it. ``path`` is relative to the vault root (POSIX)."""

    path: str
    pllm_id: str | None
    record: Record
    zotero_key: str | None
    size: int
    mtime_ns: int
    sha256: str
    conflict_flag: bool = False

    @property
    def name(self) -> str:
        """The note's name as Obsidian links it (file name without ``.md``)."""
        return PurePosixPath(self.path).stem


@dataclass(frozen=True, slots=True)
class NoteStat:
    """What one scan learnt about one markdown file, persisted by the engine between runs.

    ``kind``: ``paper`` (has our id), ``candidate`` (a paper the user added by hand),
    ``index`` (an index note), ``problem`` (unreadable; ``problem``/``line`` say why) or
    ``other`` (not ours). ``record`` keeps section entries raw (resolved on every scan).
    ``ctime_ns``: the file's status-change time when it was read (0: not known). A later
    scan trusts a reading only while size, mtime *and* ctime are as read: tools set an mtime
    back (``touch -r``, ``cp -p``, ``rsync -t``, a restore from backup), and an edit of the
    same size with its old mtime put back was never seen again; no tool can set a ctime
    back, so a moved ctime is checked against the hash (git's ``core.trustctime`` does the
    same). Where ctime means creation (Windows) it never moves and changes nothing.
    Slotted: the daemon keeps one per markdown file in the vault between passes.
    """

    size: int
    mtime_ns: int
    sha256: str
    kind: str
    pllm_id: str | None = None
    record: Record | None = None
    zotero_key: str | None = None
    conflict_flag: bool = False
    section_key: str | None = None
    line: int | None = None
    problem: str | None = None
    trusted: bool = True
    ctime_ns: int = 0

    @property
    def hash(self) -> str:
        return self.sha256

    def as_dict(self) -> dict[str, Any]:
        """The fields by name (what ``NoteStat(**d)`` takes back)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable form (sets and tuples become lists)."""
        out = {k: v for k, v in self.as_dict().items() if k != "record"}
        if self.record is not None:
            out["record"] = {
                k: sorted(v)
                if isinstance(v, frozenset | set)
                else list(v)
                if isinstance(v, tuple)
                else v
                for k, v in self.record.items()
            }
        else:
            out["record"] = None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NoteStat:
        stat = cls(**data)
        if stat.record is not None:
            stat = replace(stat, record=note_mod.canonical_raw(stat.record))
        return stat


def _no_view(rel: str, stat: NoteStat) -> NoteInfo:
    raise KeyError(rel)  # an empty NoteViews holds no reading to build from


class NoteViews(Mapping[str, NoteInfo]):
    """A scan's paper notes by id, each view (``NoteInfo``) built when it is first read.

    A warm scan takes most readings unchanged from the cache; building every note's view
    there (its record copied, its sections resolved) cost more than the walk and the stat.
    Each view is made from the reading the scan took (size, time, hash and record of that
    moment), never from the file as it is when read later, so a view read after the file
    changed still carries the scan's hash and a write through it is refused. Sections are
    resolved with the vault's section links as they are at that first read (the engine
    reads every view right after the scan). Iterates in path order, as the scan's notes
    always did."""

    __slots__ = ("_build", "_built", "_complete", "_order", "_paths", "_stats")

    def __init__(
        self,
        paths: dict[str, str] | None = None,
        stats: dict[str, NoteStat] | None = None,
        build: Callable[[str, NoteStat], NoteInfo] | None = None,
    ) -> None:
        # each note's path by id, and the scan's readings by path (a copy: a note written
        # afterwards gets a new reading in the store's, not in this one)
        self._paths = paths if paths is not None else {}
        self._stats = stats if stats is not None else {}
        self._build = build or _no_view
        self._built: dict[str, NoteInfo] = {}
        self._complete = False  # ``_built`` holds every view, in path order
        self._order: list[str] | None = None

    def __getitem__(self, pid: str) -> NoteInfo:
        view = self._built.get(pid)
        if view is None:
            rel = self._paths[pid]
            view = self._built[pid] = self._build(rel, self._stats[rel])
        return view

    def __contains__(self, pid: object) -> bool:
        return pid in self._paths

    def __len__(self) -> int:
        return len(self._paths)

    def __iter__(self) -> Iterator[str]:
        if self._order is None:
            self._order = sorted(self._paths, key=self._paths.__getitem__)
        return iter(self._order)

    def _all(self) -> dict[str, NoteInfo]:
        """Every view, built in one loop (the engine reads them all), in path order. Built
        in the order the scan read the notes, which is the order their readings lie in
        memory: in path order, copying each record would be a cache miss."""
        built = self._built
        if not self._complete:
            stats, build = self._stats, self._build
            for pid, rel in self._paths.items():
                if pid not in built:
                    built[pid] = build(rel, stats[rel])
            self._built = built = {pid: built[pid] for pid in self}
            self._complete = True
        return built

    def items(self) -> ItemsView[str, NoteInfo]:
        return self._all().items()

    def values(self) -> ValuesView[NoteInfo]:
        return self._all().values()

    def __repr__(self) -> str:
        return f"NoteViews({len(self)} notes)"


@dataclass
class VaultScan:
    """The result of a scan. ``duplicates`` maps an id found in several files to all of them,
    in path order; ``notes`` holds the first."""

    notes: Mapping[str, NoteInfo] = field(default_factory=NoteViews)
    stats: dict[str, NoteStat] = field(default_factory=dict)
    new_notes: list[NoteInfo] = field(default_factory=list)
    problems: list[VaultProblem] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    reread: int = 0  # files opened and parsed in this scan (the rest came from the cache)
    # the cloud placeholders the walk passed (``placeholder_target``), sorted; None for a
    # scan of named paths (the daemon's), which walks nothing
    placeholders: list[str] | None = None
    previous: dict[str, NoteStat] = field(default_factory=dict)  # the readings it was given

    def cache_changes(self, cached: Iterable[str] = ()) -> tuple[dict[str, NoteStat], list[str]]:
        """What the scan cache must change to hold ``stats``: the readings that are not the
        very ones it was given (new, changed, re-read or written since), and the paths that
        are gone (from ``previous`` and ``cached``, the paths the cache holds). A scan that
        found nothing new returns nothing, so saving it writes nothing."""
        upserts = {rel: s for rel, s in self.stats.items() if self.previous.get(rel) is not s}
        gone = (set(self.previous) | set(cached)) - set(self.stats)
        return upserts, sorted(gone)


STAGING_STALE_S = 120.0
"""How old a half-made vault beside the vault must be to be removed (see ``_clean_staging``)."""

SF_DATALESS = 0x40000000
"""macOS's flag for a file whose bytes are in the cloud only (iCloud Drive or a File
Provider such as Dropbox evicted it: "Optimize Mac Storage")."""


def _same_ctime(st: os.stat_result, ctime_ns: int) -> bool:
    """Whether ``st``'s ctime says the file is as read at ``ctime_ns`` (see ``NoteStat``).
    On macOS, evicting a file to the cloud changes its flags, so its ctime, and reading it
    would download it (or fail offline): a dataless file whose size and mtime are as read
    is trusted by those, as before ctimes were kept."""
    return st.st_ctime_ns == ctime_ns or bool(getattr(st, "st_flags", 0) & SF_DATALESS)


def _head(text: str, doc: fb.Document) -> str:
    """``text`` (an edit of ``doc``, ending with ``doc.body``) without that body."""
    return text[: len(text) - len(doc.body)] if doc.body else text


def _join(head: str, body: str, nl: str) -> str:
    """Frontmatter + body; a closing ``---`` at the very end of a file gets a line break
    before a body is added after it."""
    if body and head and not head.endswith(("\n", "\r")):
        head += nl
    return head + body


class _Staged(NamedTuple):
    """A note written in this run's batch, not committed yet: its bytes, the size and mtime
    it will have, the stat its file was read with (None: a new note), the file written
    (the note's own path, or where its symlink points) and the note's vault path.
    Paths as ``str``, as the batch takes them: a pull stages thousands of new notes, and a
    ``Path`` for each, hashed as a key and turned into text, cost ~0.1 s at 5,000 (a named
    tuple, not a frozen dataclass, for the same reason)."""

    data: bytes
    st: tuple[int, int]
    old: os.stat_result | None
    target: str
    rel: str


def note_names(stem: str, pid: str) -> Iterator[str]:
    """File names to try for a new note, best first (made one by one: nearly always the
    first is free)."""
    yield f"{stem}.md"
    yield f"{with_suffix(stem, pid)}.md"
    for n in range(2, 50):
        yield f"{with_suffix(stem, f'{pid}#{n}')}.md"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class VaultGone(SafetyAbort):
    """The vault folder vanished or was swapped during a run: stop before writing."""


class VaultStore:
    """Reads and writes paper notes and index notes in one Obsidian vault."""

    def __init__(
        self, config: VaultConfig, library_type: str = "user", library_id: str | None = None
    ) -> None:
        self.config = config
        self.library_type = library_type
        self.library_id = library_id
        self.root = Path(config.path)
        self.papers_dir = self.root / config.papers_folder
        self.index_dir = self.root / config.index_folder
        self.trash_dir = self.root / config.trash_folder
        self._papers_rel = PurePosixPath(config.papers_folder).as_posix().strip("/")
        self._index_rel = PurePosixPath(config.index_folder).as_posix().strip("/")
        self._trash_rel = PurePosixPath(config.trash_folder).as_posix().strip("/")
        self.links = SectionLinks(config.index_folder)
        self._taken: set[str] | None = None
        self._papers_made = False  # the papers folder was made in this batch
        self._papers_prefix = ""  # the papers folder's vault path, with a "/" (or "")
        self._papers_path = ""  # str(papers_dir / name) less the name, for any name
        # The last scan's readings (its ``stats``, not its notes): notes written afterwards
        # are entered as they are written, so the scan cache saved after the run already
        # knows them. Only the readings: a long-lived store (the daemon's) would otherwise
        # hold every note's record twice between passes.
        self._stats: dict[str, NoteStat] | None = None
        # Between begin_batch() and commit_batch(): notes staged for one durable commit.
        self._batch: WriteBatch | None = None
        self._staged: dict[str, _Staged] = {}  # by the note's path (as ``str(Path)``)
        self._root_id: tuple[int, int] | None = None

    def _pin_root(self) -> None:
        """Remember which folder the vault is (device and inode), so a write can tell that
        the vault went away (an unmounted drive, a renamed folder) since the scan."""
        try:
            st = os.stat(self.root)
        except OSError:
            return
        self._root_id = (st.st_dev, st.st_ino)

    def check_root(self) -> None:
        """Refuse to write when the vault folder vanished or was replaced since the scan:
        writing would recreate it (an empty folder at the old place, or on the mount point)
        and the real vault's notes, once back, would look deleted. Raises ``VaultGone``
        (a guard: the run stops, exit code 6). A store that never saw its vault (no scan,
        no ``ensure``) has nothing to compare with and creates folders as needed."""
        if self._root_id is None:
            return
        try:
            st = os.stat(self.root)
        except OSError:
            st = None
        if st is None or not stat_mod.S_ISDIR(st.st_mode):
            raise VaultGone(
                f"the vault folder {self.root} disappeared during the run; stopped before "
                "writing into a folder that is not the vault",
                hint="mount or restore the vault (or fix vault.path) and run again; nothing "
                "is taken as deleted while it is away",
            )
        if self._root_id is not None and (st.st_dev, st.st_ino) != self._root_id:
            raise VaultGone(
                f"the vault folder {self.root} was replaced by another folder during the run "
                "(a drive unmounted or remounted?); stopped",
                hint="check that the right vault is at that path and run again",
            )

    # --- vault ----------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.root.is_dir()

    def holds_notes(self) -> bool:
        """Whether the vault holds any markdown file the scan would read (a vault just made
        in Obsidian holds only its hidden settings folder)."""
        return self.root.is_dir() and bool(self._walk()[0])

    def papers_present(self) -> bool:
        """Whether the papers folder is there and holds anything: a vault emptied or
        unmounted under a state that knows notes must stop the run, not read as deletions."""
        return self.papers_dir.is_dir() and any(self.papers_dir.iterdir())

    def has_file(self, rel: str) -> bool:
        """Whether something is at ``rel`` (a note the scan could not read is still there)."""
        return (self.root / rel).exists()

    def unclosed_properties(self, rel: str) -> int | None:
        """The line after which the note ``rel`` lacks the ``---`` closing its properties
        (see :func:`~pllm_sync.vault.frontmatter_block.unclosed_properties`); None when it
        does not, or cannot be read."""
        try:
            with open(self.root / rel, "rb") as fh:
                head = fh.read(65536)
        except OSError:
            return None
        return fb.unclosed_properties(head.decode("utf-8", errors="replace"))

    def placeholder_of(self, rel: str) -> str | None:
        """The vault path of the cloud placeholder standing for the note ``rel``, if there is
        one: the note is there, only not downloaded, and never a deletion (see
        :func:`placeholder_path`)."""
        stub = placeholder_path(rel)
        return stub if os.path.lexists(self.root / stub) else None

    def placeholders(self) -> list[str]:
        """Every cloud placeholder in the vault (hidden folders and the trash aside), by
        vault path: a walk of its own, asked only when a note the state knows is gone
        (a note renamed on another device and evicted here leaves its placeholder under
        the new name, nothing at the old one)."""
        found: list[str] = []
        for folder, dirs, files in os.walk(self.root):
            rel_folder = os.path.relpath(folder, self.root).replace(os.sep, "/")
            prefix = "" if rel_folder == "." else rel_folder + "/"
            dirs[:] = [d for d in dirs if not d.startswith(".") and prefix + d != self._trash_rel]
            found.extend(prefix + f for f in files if placeholder_target(prefix + f) is not None)
        return sorted(found)

    def placeholders_alone(self, placeholders: Iterable[str]) -> bool:
        """Whether nothing is at the note path of any of ``placeholders`` (a note being
        downloaded, a folder of its name): then each known note a placeholder stands for
        reads as "not downloaded", as ``SyncEngine._why_unreadable`` says, and nothing else.
        One ``lstat`` each."""
        root, lexists = str(self.root), os.path.lexists
        for rel in placeholders:
            target = placeholder_target(rel)
            if target is None or lexists(os.path.join(root, *target.split("/"))):
                return False
        return True

    def check_writable(self) -> None:
        """Refuse (``VaultError``) before any change when the vault cannot be written (a
        read-only mount, a folder owned by someone else), instead of failing note by note
        after Zotero moved."""
        folder = self.papers_dir if self.papers_dir.is_dir() else self.root
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not os.access(folder, os.W_OK | os.X_OK):
            raise VaultError(
                f"the vault folder {folder} is not writable; nothing was changed",
                hint="check the folder's permissions or mount, or point vault.path elsewhere",
            )

    def ensure(self, from_template: bool = True) -> TemplateReport | None:
        """Create the vault if missing and, with ``from_template``, merge the template into it
        (never overwriting a file). Always makes sure the papers and index folders exist.

        A new vault is made whole beside its place and then renamed into it, so a run killed
        while it copies the template leaves no vault (the next run makes it again), not a
        half-made one that a later run, finding the folder, never completes."""
        report = None
        if not self.root.is_dir() and (dangling := dangling_link_error(self.root)):
            raise dangling
        try:
            if from_template and not self.root.exists() and not self.root.is_symlink():
                report = self._create_from_template()
            else:
                self.root.mkdir(parents=True, exist_ok=True)
            if from_template and report is None:
                report = merge_template(
                    self.root,
                    papers_folder=self.config.papers_folder,
                    index_folder=self.config.index_folder,
                )
            self.papers_dir.mkdir(parents=True, exist_ok=True)
            self.index_dir.mkdir(parents=True, exist_ok=True)
            self._pin_root()
        except OSError as exc:
            raise VaultError(
                f"cannot create the vault at {self.root}: {exc.strerror or exc}",
                hint="check vault.path in the config and that its parent folder is writable",
            ) from exc
        return report

    def _create_from_template(self) -> TemplateReport | None:
        """A new vault with the template, made in a hidden folder beside ``root`` and renamed
        into place; None when a folder appeared at ``root`` meanwhile (the caller merges the
        template into it)."""
        parent, name = self.root.parent, self.root.name
        parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{name}.pllm-new-"
        self._clean_staging()
        while True:
            staging = parent / f"{prefix}{secrets.token_hex(4)}"
            try:
                staging.mkdir()  # the default mode, as the vault folder would get
                break
            except FileExistsError:
                continue
        try:
            report = merge_template(
                staging,
                papers_folder=self.config.papers_folder,
                index_folder=self.config.index_folder,
            )
            try:
                os.rename(staging, self.root)
            except OSError:  # made meanwhile (not empty): the caller merges into it
                shutil.rmtree(staging, ignore_errors=True)
                return None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        fsync_dir(parent)
        return report

    def _clean_staging(self) -> None:
        """Remove what a run killed while making this vault left beside it (see
        ``_create_from_template``): only our own folders, by name, and only those untouched
        for ``STAGING_STALE_S`` (a ``vault init`` holds no run lock: a folder another
        command is filling right now is seconds old)."""
        prefix = f".{self.root.name}.pllm-new-"
        cutoff = time.time() - STAGING_STALE_S
        try:
            found = list(self.root.parent.glob(f"{glob_escape(prefix)}*"))
        except OSError:
            return
        for stale in found:
            with contextlib.suppress(OSError):
                if len(stale.name) != len(prefix) + 8 or stale.is_symlink() or not stale.is_dir():
                    continue
                if stale.stat().st_mtime < cutoff:
                    shutil.rmtree(stale, ignore_errors=True)

    def clean_temp_files(self, older_than: float) -> int:
        """Remove temp files a killed run left in the vault (only our own, by their name
        pattern, and only older than ``older_than``, the start of this run, which holds the
        run lock: no live run can own them)."""
        self._clean_staging()  # also when the vault was made another way since
        if not self.root.is_dir():
            return 0
        removed = clean_stale_temp_files([self.root, self.trash_dir], older_than)
        # the template writes Obsidian's settings (types.json, templates.json) there; only
        # that folder's own files, not the plugins below it
        obsidian = self.root / ".obsidian"
        if obsidian.is_dir():
            removed += clean_stale_temp_files([obsidian], older_than, recursive=False)
        return removed

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _abs(self, rel: str) -> Path:
        """The file for a vault-relative path, refusing anything that points outside."""
        p = PurePosixPath(rel)
        if p.is_absolute() or ".." in p.parts or not p.parts:
            raise VaultError(
                f"refusing a note path outside the vault: {rel!r}",
                hint="the sync state may be corrupt; run `pllm-sync status`",
            )
        return self.root.joinpath(*p.parts)

    def _under(self, rel: str, folder: str) -> bool:
        return bool(folder) and (rel == folder or rel.startswith(folder + "/"))

    # --- scanning -------------------------------------------------------------------------

    def _walk(self, placeholders: list[str] | None = None) -> tuple[list[str], list[str]]:
        """Every markdown file that may be a note: the relative paths and the paths, in the
        order the folders list them (``_collect`` puts what needs it in path order). Hidden
        folders
        (``.obsidian``, ``.trash``, ``.git``, our trash) and litter are skipped. The cloud
        placeholders passed on the way (``.X.md.icloud``, hidden files the loop skips) are
        added to ``placeholders`` when given: the settled mark covers them (``settled.py``).

        Symlinks, decided (docs/vault.md, "Symlinks"): a link whose target lies inside the
        vault is skipped, since the target is read at its own place (reading both would make
        every note a duplicate of itself); a link that leaves the vault -- a symlinked
        ``Papers/``, a folder linked in from elsewhere -- is followed as Obsidian follows it,
        so its notes are never mistaken for deleted ones. A folder reached twice (a link loop,
        two links to one place) is read once. Anything named ``*.md`` that is not a regular
        file (a named pipe, a socket, a device, a dangling link) is skipped with a warning:
        opening a pipe would block the run forever.

        Every scan and every settled check runs this loop once per file, so the common case
        (a regular ``.md`` file that is not a link: the folder listing's file type says so,
        no system call) is decided first and costs only the litter check. Two lists of
        strings, not a list of pairs: nothing the garbage collector has to look at."""
        rels: list[str] = []
        paths: list[str] = []
        add_rel, add_path = rels.append, paths.append
        root_real = os.path.realpath(self.root)
        seen: set[str] = {root_real}
        stack: list[tuple[str | Path, str]] = [(self.root, "")]

        def inside(real: str) -> bool:
            return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)

        while stack:
            folder, prefix = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError as exc:
                log.warning("cannot list %s: %s", folder, exc)
                continue
            for entry in entries:
                name = entry.name
                if name.endswith(".md") and entry.is_file(follow_symlinks=False):
                    # a regular file, not a link; litter (``is_litter``) starts with one of
                    # ".~#" or spells "conflict": only such names are asked
                    if (name[0] not in ".~#" and "onfl" not in name.lower()) or not is_litter(name):
                        add_rel(prefix + name)
                        add_path(entry.path)
                    continue
                rel = f"{prefix}{name}"
                if (
                    placeholders is not None
                    and name.endswith(PLACEHOLDER_SUFFIX)
                    and placeholder_target(rel) is not None
                ):  # whatever it is (``placeholder_of`` asks only that it is there)
                    placeholders.append(rel)
                    continue
                link = entry.is_symlink()
                real = os.path.realpath(entry.path) if link else ""
                if link and inside(real):
                    continue  # read at its real place in the vault
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    if name.startswith(".") or rel == self._trash_rel:
                        continue
                    if link:
                        if real in seen:
                            continue
                        seen.add(real)
                    stack.append((entry.path, rel + "/"))
                elif name.endswith(".md") and not is_litter(name):
                    try:
                        regular = entry.is_file()
                    except OSError:
                        regular = False
                    if not regular:
                        log.warning(
                            "%s: not a regular file (a named pipe, device or broken link); "
                            "skipped -- remove it or rename it so it does not end in .md",
                            rel,
                        )
                        continue
                    add_rel(rel)
                    add_path(entry.path)
        return rels, paths

    def scan(
        self,
        previous: dict[str, NoteStat] | None = None,
        *,
        progress: bool = False,
        changed: Collection[str] | None = None,
    ) -> VaultScan:
        """Find every paper note in the vault (wherever the user moved it), every hand-added
        paper in the papers folder, and every unreadable note; reuse ``previous`` readings of
        files whose size and mtime did not change (``previous`` holds this version's readings:
        the engine leaves out cache rows an older version wrote without a field).

        ``changed`` (the daemon's watcher events) names the paths that may be new since
        ``previous``: the vault is not walked; the files of ``previous`` are only stat'ed
        (re-read when their size or mtime moved, e.g. after the daemon's own write), so one
        saved note costs one read."""
        if not self.root.is_dir():
            raise VaultError(
                f"vault folder not found: {self.root}",
                hint="run `pllm-sync vault init` or fix vault.path in the config",
            )
        self._pin_root()
        previous = previous or {}
        result = VaultScan(previous=previous)
        if changed is not None:
            changed = set(changed)
            rels, paths = self._named(previous, changed)
        else:
            result.placeholders = []
            rels, paths = self._walk(result.placeholders)
            result.placeholders.sort()
        now = time.time_ns()
        # Unchanged notes keep the reading they had: the loop writes only what changed (a
        # copy of the dict is cheaper than an insert per note).
        stats = result.stats = dict(previous)
        get_prev, os_stat = previous.get, os.stat  # the loop runs per note
        found = 0  # files of ``previous`` that are still there
        files = zip(rels, paths, strict=True)
        for rel, path in progress_bar(files, "scanning vault", len(rels), enabled=progress):
            prev = get_prev(rel)
            if prev is not None:
                found += 1
                try:
                    st = os_stat(path)
                except FileNotFoundError:
                    del stats[rel]
                    continue
                if st.st_mtime_ns == prev.mtime_ns and st.st_size == prev.size:
                    if prev.trusted and _same_ctime(st, prev.ctime_ns):
                        continue
                    # Written too recently to trust its timestamp (e.g. by the last run),
                    # or changed since it was read (its ctime moved) with its size and mtime
                    # as they were: the same bytes are the same note, so a hash check
                    # replaces a re-parse.
                    same = self._verify(path, prev, now)
                    if same is not None:
                        stats[rel] = same
                        continue
            stat = self._read_stat(rel, path, now)
            if stat is not None:
                stats[rel] = stat
                result.reread += 1
            elif prev is not None:
                del stats[rel]
        if found != len(previous):  # files of the last scan that this one did not find
            for rel in previous.keys() - set(rels):
                del stats[rel]
        self._collect(result)
        self._stats = result.stats
        return result

    def unchanged_since(
        self, cached: Mapping[str, tuple[int, int, int]], placeholders: Sequence[str] = ()
    ) -> bool:
        """Whether a walk finds exactly the files of ``cached`` (a relative path -> size,
        mtime and ctime), each still of that size, mtime and ctime: then a scan given those
        readings would return them all unread. Only the walk and one ``stat`` per file; nothing is read or
        parsed (a no-op sync's check, see ``SyncEngine``). The walk must also pass exactly
        the cloud placeholders ``placeholders`` (sorted), each still alone
        (:meth:`placeholders_alone`): a note downloaded or evicted since, or any placeholder
        come or gone, is a change."""
        if not self.root.is_dir():
            return False
        found: list[str] = []
        rels, paths = self._walk(found)
        if len(rels) != len(cached) or len(found) != len(placeholders):
            return False
        if found and (sorted(found) != list(placeholders) or not self.placeholders_alone(found)):
            return False
        get, os_stat = cached.get, os.stat  # the scan's loop, without its reading
        for rel, path in zip(rels, paths, strict=True):
            known = get(rel)
            if known is None:
                return False
            try:
                st = os_stat(path)
            except OSError:
                return False
            if st.st_mtime_ns != known[1] or st.st_size != known[0]:
                return False
            if not _same_ctime(st, known[2]):
                return False
        return True

    def _named(
        self, previous: dict[str, NoteStat], changed: Collection[str]
    ) -> tuple[list[str], list[str]]:
        """The files of the last scan plus ``changed`` ones that exist now (a changed path
        that is gone was moved or deleted). Paths outside the vault or in skipped folders
        are ignored, as the walk would."""
        names = set(previous)
        for rel in changed:
            p = PurePosixPath(rel)
            if p.is_absolute() or ".." in p.parts or not rel.endswith(".md"):
                continue
            if any(part.startswith(".") for part in p.parts[:-1]) or self._under(
                rel, self._trash_rel
            ):
                continue
            if is_litter(p.name):
                continue
            names.add(rel)
        rels, paths = [], []
        root = str(self.root)
        for rel in sorted(names):
            path = f"{root}/{rel}" if os.sep == "/" else os.path.join(root, *rel.split("/"))
            if rel in changed and not os.path.isfile(path):
                continue
            rels.append(rel)
            paths.append(path)
        return rels, paths

    def _verify(self, path: str, prev: NoteStat, now: int) -> NoteStat | None:
        """``prev`` (marked trusted once old enough) when the file still holds the bytes it
        was read from; None when it changed or cannot be read (then it is read in full)."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with open(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not stat_mod.S_ISREG(st.st_mode):
                    return None
                data = fh.read()
        except OSError:
            return None
        if (st.st_size, st.st_mtime_ns) != (prev.size, prev.mtime_ns):
            return None
        if _sha256(data) != prev.sha256:
            return None
        trusted = prev.trusted or now - st.st_mtime_ns > RACY_NS
        if trusted == prev.trusted and st.st_ctime_ns == prev.ctime_ns:
            return prev  # the very reading: the cache keeps its row
        return replace(prev, trusted=trusted, ctime_ns=st.st_ctime_ns)

    def _read_stat(self, rel: str, path: str, now: int) -> NoteStat | None:
        try:
            # O_NONBLOCK: a named pipe swapped in after the walk must not hang the scan
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with open(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                if not stat_mod.S_ISREG(st.st_mode):
                    log.warning("%s: not a regular file; skipped", rel)
                    return None
                data = fh.read()
        except FileNotFoundError:
            return None  # deleted while we scanned
        except OSError as exc:
            return NoteStat(
                0, 0, "", "problem", line=None, problem=f"cannot read: {exc}", trusted=False
            )
        return self._classify(rel, data, st.st_size, st.st_mtime_ns, now, st.st_ctime_ns)

    def _classify(
        self, rel: str, data: bytes, size: int, mtime_ns: int, now: int, ctime_ns: int = 0
    ) -> NoteStat:
        base = NoteStat(
            size=size,
            mtime_ns=mtime_ns,
            sha256=_sha256(data),
            kind="other",
            trusted=now - mtime_ns > RACY_NS,
            ctime_ns=ctime_ns,
        )
        in_papers = self._under(rel, self._papers_rel)
        in_index = self._under(rel, self._index_rel)
        if not (in_papers or in_index or _ID_MARKER in data):
            return base
        relevant = in_papers or in_index or b"pllm-sync-id" in data
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if not relevant:
                return base
            line = data[: exc.start].count(b"\n") + 1
            return replace(base, kind="problem", line=line, problem="not UTF-8 text")
        try:
            parsed = note_mod.parse_note(text)
        except fb.FrontmatterProblem as p:
            if not relevant:
                return base
            return replace(base, kind="problem", line=p.line, problem=p.message)
        return self._stat_of(rel, parsed, base, in_papers)

    def _stat_of(
        self, rel: str, parsed: note_mod.ParsedNote, base: NoteStat, in_papers: bool
    ) -> NoteStat:
        """The scan's reading of a parsed note (``base`` holds its size, time and hash)."""
        for field_name, value in note_mod.unreadable_numbers(parsed.values):
            log.warning(
                "%s: %s %r is not a whole number; kept in the note, not synced -- write it "
                "as a number, such as %s",
                rel,
                field_name,
                value,
                "2020" if field_name == "year" else "4",
            )
        for tag in note_mod.unsyncable_tags(parsed.values):
            if reserved_tag(canonical_tag(tag) or ""):
                what = "status" if tag.lower().lstrip("#").startswith("status") else "rating"
                log.warning(
                    "%s: tag %r is how Zotero stores the %s; kept in the note, not synced -- "
                    "set the note's %s property instead",
                    rel,
                    tag,
                    what,
                    what,
                )
                continue
            log.warning(
                "%s: tag %r… is longer than the %d characters Zotero takes; kept in the note, "
                "not synced -- shorten it to sync it",
                rel,
                tag[:40],
                MAX_TAG_LENGTH,
            )
        if parsed.pllm_id:
            # what ``replace(base, kind="paper", ...)`` gives, built positionally: a pull and
            # a cold scan take this branch once per note, and ``replace`` costs ~4x as much
            return NoteStat(
                base.size,
                base.mtime_ns,
                base.sha256,
                "paper",
                parsed.pllm_id,
                parsed.raw,
                parsed.zotero_key,
                parsed.conflict_flag,
                base.section_key,
                base.line,
                base.problem,
                base.trusted,
                base.ctime_ns,
            )
        section = parsed.values.get(SECTION_KEY_PROPERTY)
        if isinstance(section, str) and section.strip():
            return replace(base, kind="index", section_key=section.strip())
        if in_papers and parsed.is_candidate:
            rec = dict(parsed.raw)
            rec["title"] = rec["title"] or normalize_whitespace(PurePosixPath(rel).stem)
            return replace(base, kind="candidate", record=rec)
        return base

    def _info(
        self,
        rel: str,
        s: NoteStat,
        key_for: Callable[[str], str | None] | None = None,
        memo: dict[tuple[str, ...], frozenset[str]] | None = None,
    ) -> NoteInfo:
        # positional: a frozen dataclass takes keywords at twice the cost (one view a note)
        return NoteInfo(
            rel,  # path
            s.pllm_id,
            note_mod.resolve_sections(s.record or {}, key_for or self.links.key_for, memo),
            s.zotero_key,
            s.size,
            s.mtime_ns,
            s.sha256,
            s.conflict_flag,
        )

    def _collect(self, result: VaultScan) -> None:
        """Sort the scan's readings into papers (by id), hand-added notes and problems.
        Papers' views are built when first read (``NoteViews``): only the id and path of
        each are looked at here."""
        where: dict[str, str] = {}  # id -> path
        first = where.setdefault
        dup_paths: dict[str, list[str]] = {}
        index: list[tuple[str, str]] = []
        candidates: list[str] = []
        problems: list[str] = []
        for rel, s in result.stats.items():  # in walk order: what needs an order is sorted
            kind = s.kind
            if kind == "paper":
                pid = s.pllm_id
                if pid and first(pid, rel) is not rel:
                    dup_paths.setdefault(pid, [where[pid]]).append(rel)
            elif kind == "index":
                if s.section_key:
                    index.append((rel, s.section_key))
            elif kind == "candidate":
                candidates.append(rel)
            elif kind == "problem":
                problems.append(rel)
        for rel, key in sorted(index):  # in path order: of two notes for a section, the last
            self.links.register(key, rel[: -len(".md")], on_disk=True)
        # Thousands of notes name the same few sections: resolve each entry, and each list
        # of entries, once per scan.
        memo: dict[str, str | None] = {}
        lists: dict[tuple[str, ...], frozenset[str]] = {}

        def key_for(entry: str) -> str | None:
            if entry not in memo:
                memo[entry] = self.links.key_for(entry)
            return memo[entry]

        def build(rel: str, s: NoteStat) -> NoteInfo:
            return self._info(rel, s, key_for, lists)

        stats = result.stats
        for paths in dup_paths.values():
            paths.sort()
        for pid, paths in sorted(dup_paths.items(), key=lambda item: item[1][1]):
            where[pid] = paths[0]  # the first in path order is the note
            result.duplicates[pid] = paths
        # the readings as the scan took them (notes written later replace theirs in ``stats``)
        result.notes = NoteViews(where, dict(stats), build)
        result.new_notes.extend(build(rel, stats[rel]) for rel in sorted(candidates))
        for rel in sorted(problems):
            s = stats[rel]
            result.problems.append(VaultProblem(rel, s.line, s.problem or "unreadable"))
        # (which of them keeps the identity is the sync's choice, the note its state knows,
        # and its warning names it; this one, once a warning too, said "the first")
        for pid, paths in result.duplicates.items():
            log.info(
                "pllm-sync-id %s is in %d notes: %s",
                pid,
                len(paths),
                ", ".join(paths),
            )

    # --- reading one note -----------------------------------------------------------------

    def _read(self, rel: str) -> tuple[bytes, os.stat_result]:
        path = self._abs(rel)
        try:
            with open(path, "rb") as fh:
                return fh.read(), os.fstat(fh.fileno())
        except FileNotFoundError as exc:
            raise VaultError(
                f"{rel}: the note is gone (moved or deleted since the scan)",
                hint="run the sync again; the next scan finds it wherever it went",
            ) from exc
        except OSError as exc:
            raise VaultError(
                f"{rel}: cannot read: {exc.strerror or exc}", hint="check the file's permissions"
            ) from exc

    def _parse(self, rel: str, data: bytes) -> note_mod.ParsedNote:
        try:
            return note_mod.parse_note(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise VaultError(
                f"{rel}: not UTF-8 text; left untouched", hint="save the note as UTF-8"
            ) from exc
        except fb.FrontmatterProblem as p:
            where = f"{rel}:{p.line}" if p.line else rel
            raise VaultError(
                f"{where}: {p.message}; left untouched",
                hint="fix the properties at that line in Obsidian",
            ) from p

    def _info_from_bytes(
        self,
        rel: str,
        data: bytes,
        st: tuple[int, int],
        parsed: note_mod.ParsedNote | None = None,
        *,
        written: bool = False,
    ) -> NoteInfo:
        """The note as the engine sees it; ``st``: its size and mtime (ns); ``parsed``: its
        reading when the caller has it.
        ``written``: pllm-sync just wrote these bytes, so they also go into the last scan's
        readings (saved as the scan cache) from this one reading; the next scan then only
        checks their hash instead of parsing them again."""
        if parsed is None:
            parsed = self._parse(rel, data)
        raw = parsed.raw
        if parsed.pllm_id is None and not raw.get("title"):
            raw = {**raw, "title": normalize_whitespace(PurePosixPath(rel).stem)}
        sha = _sha256(data)
        if written and self._stats is not None:
            base = NoteStat(st[0], st[1], sha, "other", trusted=False)
            self._stats[rel] = self._stat_of(rel, parsed, base, self._under(rel, self._papers_rel))
        # positional: a frozen dataclass takes keywords at twice the cost (one a new note)
        return NoteInfo(
            rel,  # path
            parsed.pllm_id,
            note_mod.resolve_sections(raw, self.links.key_for),
            parsed.zotero_key,
            st[0],  # size
            st[1],  # mtime_ns
            sha,
            parsed.conflict_flag,
        )

    def read_note(self, rel: str) -> NoteInfo:
        """Read one note now (e.g. after a watcher event) without a full scan."""
        data, st = self._read(rel)
        return self._info_from_bytes(rel, data, (st.st_size, st.st_mtime_ns))

    # --- creating -------------------------------------------------------------------------

    def _taken_names(self) -> set[str]:
        if self._taken is None:
            try:
                self._taken = {n.casefold() for n in os.listdir(self.papers_dir)}
            except FileNotFoundError:
                self._taken = set()
        return self._taken

    def _section_links(self, keys: list[str]) -> list[WikiLink]:
        return [self.links.link_for(k) for k in keys]

    def _zotero_link(self, key: str) -> str:
        return note_mod.zotero_link(key, self.library_type, self.library_id)

    def render_new_note(
        self,
        paper: Paper,
        record: Record,
        *,
        zotero_key: str | None = None,
        managed: ManagedContent | None = None,
    ) -> tuple[bytes, note_mod.ParsedNote, str]:
        """The bytes of a new note for ``paper``, their reading and the stem of its file
        name (``note_names`` makes it unique). One place for the text, shared with the
        in-memory double (``pllm_sync.testing.memory_stores``), so both write the same
        note."""
        for p in paper.sections:
            self.links.register_path(p)
        rec = normalize_record({k: v for k, v in record.items() if k in _SYNCED})
        listed = [section_key(p) for p in paper.sections]
        keys = rec["sections"] if "sections" in rec else frozenset(listed)
        ordered = list(dict.fromkeys(k for k in listed if k in keys))
        ordered += sorted(set(keys) - set(ordered))
        links = self._section_links(ordered)
        fm = note_mod.frontmatter_for_new(
            paper,
            rec,
            section_links=links,
            zotero=self._zotero_link(zotero_key) if zotero_key else None,
            added=dt.date.today(),
        )
        if managed is None:
            managed = ManagedContent(
                abstract=rec.get("abstract", paper.abstract),
                links=[(role, u) for role, urls in paper.urls_by_role().items() for u in urls],
                provenance=[str(s) for s in paper.sources],
            )
        region = body_mod.render_region(managed, list(links))
        text, parsed = note_mod.render_new_note_read(fm, region, rec.get("notes", ""))
        data = text.encode("utf-8")
        return data, parsed, note_stem(fm.get("method"), fm["title"], paper.id)

    def create_note(
        self,
        paper: Paper,
        record: Record,
        *,
        zotero_key: str | None = None,
        managed: ManagedContent | None = None,
    ) -> NoteInfo:
        """Write a new note for ``paper`` in the papers folder (name from method + title,
        made unique; an existing file is never replaced). In a batch the file is only
        staged, and the vault's checks run once, at the commit."""
        batch = self._batch
        first = batch is None or not self._papers_made
        if first:  # in a batch: for its first note, then at the commit
            self.check_root()  # before a mkdir could recreate a vault that went away
        data, parsed, stem = self.render_new_note(
            paper, record, zotero_key=zotero_key, managed=managed
        )
        if first:
            self.papers_dir.mkdir(parents=True, exist_ok=True)
            self._papers_made = batch is not None
            self._papers_prefix = self._rel(self.papers_dir / "x")[:-1]
            self._papers_path = os.fspath(self.papers_dir / "x")[:-1]
        taken = self._taken_names()
        for fname in note_names(stem, paper.id):
            folded = fname.casefold()
            if folded in taken:
                continue
            # defence in depth (names are sanitised): one plain name, nothing above it
            if fname in (".", "..") or os.path.basename(fname) != fname or "/" in fname:
                raise VaultError(f"refusing note name {fname!r}: it leaves the papers folder")
            if batch is not None:
                # no look at the disk per note (the folder was listed when the batch began;
                # a file that appears meanwhile keeps its name: see commit_batch). The path
                # as text: ``str(papers_dir / fname)`` for a plain one-part name, no ``Path``.
                spath = self._papers_path + fname
                rel = self._papers_prefix + fname
                new = self._stage(spath, data, None, spath, rel)
                taken.add(folded)
                return self._info_from_bytes(rel, data, new.st, parsed, written=True)
            path = self.papers_dir / fname
            try:
                atomic_write(path, data, exclusive=True)
            except FileExistsError:
                taken.add(fname.casefold())
                continue
            taken.add(fname.casefold())
            now = path.stat()
            return self._info_from_bytes(
                self._rel(path), data, (now.st_size, now.st_mtime_ns), parsed, written=True
            )
        raise VaultError(
            f"no free file name for {paper.id} ({stem!r}) in {self.papers_dir}",
            hint="rename or remove the notes with that name, then run again",
        )

    def begin_batch(self, expect: int = 0) -> None:
        """From now on, new and updated notes are staged and made durable together by
        :meth:`commit_batch` (written and fsynced by worker threads while the run goes on,
        then linked or renamed, one folder fsync), which the caller runs before it commits
        its own state. ``expect``: about how many notes the caller will write (see
        :class:`~pllm_sync.atomic.WriteBatch`)."""
        self.discard_batch()
        self._batch = WriteBatch(expect=expect)
        self._taken = None  # listed afresh by the first new note
        self._papers_made = False

    def commit_batch(self) -> list[str]:
        """Make the staged notes durable and visible. A name that a user took meanwhile
        keeps the user's file; that note goes under a free name (the next scan finds it by
        its id). An update whose note changed on disk since it was read (the user saved it
        during the run) is not written: returns those notes' paths, for the caller to treat
        as not updated (the next run reads the user's edit first)."""
        batch, staged = self._batch, self._staged
        self._batch, self._staged = None, {}
        if batch is None:
            return []
        if staged:
            try:
                self.check_root()  # the vault may have gone away while the run wrote
            except BaseException:
                batch.discard()
                raise
        renamed_after = time.time_ns()  # no file of the batch is visible before this
        result = batch.commit()
        by_target = {s.target: path for path, s in staged.items()}
        for target in result.taken:
            self._place_elsewhere(target, staged[by_target[os.fspath(target)]].data)
        refused = []
        for target in result.refused:
            rel = self._rel(Path(by_target[os.fspath(target)]))
            # (the run names them all in one line: ``RunResult.saved_meanwhile``)
            log.info("%s: changed on disk while being updated; not overwritten", rel)
            self._forget(rel)  # read again next time
            refused.append(rel)
        if self._stats is not None:
            skipped = {os.fspath(p) for p in (*result.taken, *result.refused)}
            self._trust_written(staged, renamed_after, skipped)
        return refused

    def _trust_written(
        self, staged: dict[str, _Staged], renamed_after: int, skipped: set[str]
    ) -> None:
        """Trust the readings of the notes staged at least ``RACY_NS`` before they were
        renamed into place, as a scan trusts a file modified that long before it: a file's
        mtime is set when it is staged, and any change after the rename gives it a newer
        one. Without this, the first sync after a pull hashed every note the pull wrote and
        rewrote its scan-cache row (20,000 notes: 3.1 s, 45 MB); now only the notes staged
        in the last ``RACY_NS`` before the commit.

        Each such note is stat'ed once more, now that it has its name: the rename set its
        ctime, which the next scan compares (a stat is ~1% of the hash check it saves)."""
        stats = self._stats
        assert stats is not None
        cutoff = renamed_after - RACY_NS
        os_stat = os.stat
        for path, s in staged.items():
            if s.st[1] >= cutoff or s.target in skipped:
                continue
            rel = s.rel
            stat = stats.get(rel)
            if stat is not None and not stat.trusted and (stat.size, stat.mtime_ns) == s.st:
                try:
                    now = os_stat(path)
                except OSError:
                    continue
                if (now.st_size, now.st_mtime_ns) == s.st:
                    stats[rel] = replace(stat, trusted=True, ctime_ns=now.st_ctime_ns)

    def discard_batch(self) -> None:
        """Drop staged notes that were never committed (a run that stopped midway)."""
        if self._batch is not None:
            self._batch.discard()
        self._batch, self._staged = None, {}

    def _place_elsewhere(self, path: Path, data: bytes) -> None:
        old = self._rel(path)
        for n in range(2, 1000):
            alt = path.with_name(f"{path.stem} ({n}).md")
            try:
                atomic_write(alt, data, exclusive=True)
            except FileExistsError:
                continue
            log.warning("%s appeared while being written; the new note is %s", old, alt.name)
            if self._stats is not None:
                stat = self._stats.pop(old, None)
                if stat is not None:
                    new_st = alt.stat()
                    self._stats[self._rel(alt)] = replace(
                        stat, size=new_st.st_size, mtime_ns=new_st.st_mtime_ns
                    )
            return
        raise VaultError(f"no free file name for {old}", hint="tidy the papers folder")

    # --- updating -------------------------------------------------------------------------

    def update_note(
        self,
        note: NoteInfo,
        changes: Record,
        *,
        zotero_key: str | None = None,
        managed: ManagedContent | None = None,
        conflict_flag: bool | None = None,
        pllm_id: str | None = None,
    ) -> NoteInfo | None:
        """Apply changed fields to a scanned note; None when the bytes would not change.

        ``changes`` holds record fields (``notes`` = the user text after the managed region);
        a field whose current value already equals the new one is not touched. ``zotero_key``
        sets the ``zotero`` link, ``conflict_flag`` sets (True) or removes (False) the
        ``sync-conflict`` flag, ``pllm_id`` gives a hand-added note its id, ``managed``
        rewrites the managed region. Refuses (``VaultError``) when the file's content changed
        since ``note`` was read, so a concurrent edit is never overwritten.
        """
        rel = note.path
        self.check_root()
        path = self._abs(rel)
        spath = os.fspath(path)
        staged = self._staged.get(spath) if self._batch is not None else None
        if staged is not None:  # written earlier in this run, not committed yet
            data = staged.data
        else:
            data, st = self._read(rel)
        if _sha256(data) != note.sha256:
            self._forget(rel)
            raise NoteChangedMeanwhile(
                f"{rel}: changed on disk since it was scanned; not overwritten",
                hint="run the sync again; it will pick up the edit first",
            )
        parsed = self._parse(rel, data)
        text = data.decode("utf-8")
        new_text = self._apply(rel, parsed, changes, zotero_key, managed, conflict_flag, pllm_id)
        if new_text == text:
            return None
        new_data = new_text.encode("utf-8")
        if self._batch is not None and staged is not None:
            self._batch.drop(staged.target)
            new = self._stage(spath, new_data, staged.old, staged.target, staged.rel)
            return self._info_from_bytes(rel, new_data, new.st, written=True)
        try:
            now = path.stat()
        except FileNotFoundError as exc:
            raise VaultError(
                f"{rel}: the note vanished while being updated", hint="run the sync again"
            ) from exc
        if (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            self._forget(rel)
            raise NoteChangedMeanwhile(
                f"{rel}: changed on disk while being updated; not overwritten",
                hint="run the sync again; it will pick up the edit first",
            )
        if self._batch is not None:
            target = os.path.realpath(path) if path.is_symlink() else spath
            new = self._stage(spath, new_data, st, target, self._rel(path))
            return self._info_from_bytes(rel, new_data, new.st, written=True)
        atomic_write(path, new_data)
        now = path.stat()
        return self._info_from_bytes(rel, new_data, (now.st_size, now.st_mtime_ns), written=True)

    def _forget(self, rel: str) -> None:
        """Drop the last scan's reading of ``rel``: its file is not what that reading says
        (an edit the scan could not see, such as one that put the old mtime back), so the
        next scan reads it in full. Kept, the reading would refuse every later write to
        the note and never pick up the edit."""
        if self._stats is not None:
            self._stats.pop(rel, None)

    def _stage(
        self, path: str, data: bytes, old: os.stat_result | None, target: str, rel: str
    ) -> _Staged:
        """Stage ``data`` for the note at ``path`` (vault path ``rel``) in the batch: a new
        file (``old`` None) or a replacement of ``target`` (the file itself, or where its
        link points) read when it had the stat ``old``."""
        assert self._batch is not None
        if old is None:
            st = self._batch.add(target, data)
        else:
            st = self._batch.add_replacement(target, data, old)
        staged = self._staged[path] = _Staged(data, st, old, target, rel)
        return staged

    def _apply(
        self,
        rel: str,
        parsed: note_mod.ParsedNote,
        changes: Record,
        zotero_key: str | None,
        managed: ManagedContent | None,
        conflict_flag: bool | None,
        pllm_id: str | None,
    ) -> str:
        self.check_root()
        doc = parsed.doc
        values = doc.values
        current = note_mod.resolve_sections(parsed.raw, self.links.key_for)
        wanted = normalize_record({k: v for k, v in changes.items() if k in SYNCED_FIELDS})
        fm: dict[str, Any] = {}
        for fld, value in wanted.items():
            if fld in ("notes", "abstract") or current.get(fld) == value:
                continue
            if fld == "title":
                fm["title"] = value
                old = parsed.raw.get("title")
                aliases = note_mod._text_list(values.get("aliases"))
                if old and old != value and old not in aliases:
                    fm["aliases"] = [*aliases, old]
            elif fld == "authors":
                fm["authors"] = list(value)
            elif fld == "tags":
                fm["tags"] = note_mod.tags_value(note_mod._tag_list(values.get("tags")), value)
            elif fld == "sections":
                fm["sections"] = note_mod.sections_value(
                    parsed.raw.get("sections", []), value, self.links.key_for, self.links.link_for
                )
            else:
                fm[fld] = value
        if zotero_key:
            link = self._zotero_link(zotero_key)
            if values.get("zotero") != link:
                fm["zotero"] = link
        if conflict_flag is True and values.get(note_mod.CONFLICT_KEY) is not True:
            fm[note_mod.CONFLICT_KEY] = True
        elif conflict_flag is False and note_mod.CONFLICT_KEY in doc.spans:
            fm[note_mod.CONFLICT_KEY] = fb.DELETE
        if pllm_id and parsed.pllm_id != pllm_id:
            fm[note_mod.ID_KEY] = pllm_id
        try:
            head = fb.edit(doc, fm, order=note_mod.OWNED_KEYS) if fm else doc.text
        except fb.FrontmatterProblem as p:
            raise VaultError(
                f"{rel}: {p.message}; left untouched",
                hint="write the properties one per line (as Obsidian does)",
            ) from p
        head = _head(head, doc)

        body = doc.body
        nl = doc.newline
        parts = parsed.parts
        if "notes" in wanted and wanted["notes"] != current.get("notes"):
            body = body_mod.set_notes(parts, wanted["notes"], nl)
            parts = body_mod.split_body(body)
        section_entries: list[str] = fm.get("sections") or parsed.raw.get("sections") or []
        links = [
            e if e.lstrip().startswith("[[") else self.links.link_for(k)
            for e in section_entries
            if (k := self.links.key_for(e))
        ]
        if managed is not None:
            region = body_mod.render_region(managed, links)
            if not parts.region or parts.region.replace(nl, "\n") != region:
                parts = body_mod.rescue_stray_text(parts, nl, dt.date.today().isoformat())
            new_body = body_mod.set_region(parts, region, nl)
            if new_body is None:
                log.warning("%s: the pllm-sync markers are broken; managed region not updated", rel)
            else:
                body = new_body
        elif (
            not parts.has_region
            and not parts.broken
            and wanted.get("abstract")
            and wanted["abstract"] != current.get("abstract")
        ):
            # no region (a note made from a template, its markers deleted): one is inserted
            # at the top, as a pull inserts it, so the abstract has its place again
            region = body_mod.render_region(ManagedContent(abstract=wanted["abstract"]), links)
            body = body_mod.set_region(parts, region, nl) or body
        elif parts.broken and ("sections" in fm or "abstract" in wanted):
            log.warning(
                "%s: the pllm-sync markers are broken (one missing, or doubled); the managed "
                "region is not updated -- delete the stray marker line, or both",
                rel,
            )
        elif parts.has_region and ("sections" in fm or "abstract" in wanted):
            region = parts.region
            if "sections" in fm:
                region = body_mod.replace_sections_line(region, links)
            if "abstract" in wanted and wanted["abstract"] != current.get("abstract"):
                region = body_mod.replace_abstract(region, wanted["abstract"])
            body = parts.before + region + parts.after
        return _join(head, body, nl)

    # --- trashing -------------------------------------------------------------------------

    def trash_note(self, note: NoteInfo) -> str:
        """Move the note into the trash folder (inside the vault; never deleted). Returns the
        new vault-relative path."""
        self.check_root()
        src = self._abs(note.path)
        if not src.exists():
            raise VaultError(
                f"{note.path}: cannot trash a note that is not there",
                hint="run the sync again; the next scan sees where it went",
            )
        # as an update does: a note saved since the scan read it is not moved (the edit went
        # to the trash with it, and its item stayed trashed); the next run reads the edit,
        # and modify beats delete brings the item back
        if _sha256(self._read(note.path)[0]) != note.sha256:
            self._forget(note.path)
            raise NoteChangedMeanwhile(
                f"{note.path}: changed on disk since it was scanned; not moved to the trash",
                hint="run the sync again; it will pick up the edit first",
            )
        dest = self.trash_dir.joinpath(*PurePosixPath(note.path).parts)
        stem, n = dest.stem, 2
        while dest.exists():
            dest = dest.with_name(f"{stem} ({n}).md")
            n += 1
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.rename(src, dest)
        except OSError as exc:
            raise VaultError(
                f"{note.path}: cannot move to the trash: {exc.strerror or exc}",
                hint="check the vault's permissions",
            ) from exc
        if self._taken is not None and src.parent == self.papers_dir:
            self._taken.discard(src.name.casefold())
        if self._stats is not None:
            self._stats.pop(note.path, None)
        return self._rel(dest)

    def restore_trashed(self, pid: str, dest_rel: str | None) -> NoteInfo | None:
        """Move the newest note carrying ``pid`` out of the trash folder, to ``dest_rel`` (the
        path it had) or, when that is taken or unknown, to its old place or the papers folder
        under a free name; None when the trash holds no such note."""
        trash = self.trash_dir
        if not trash.is_dir():
            return None
        marker = f"pllm-sync-id: {pid}\n".encode()
        hits = [p for p in trash.rglob("*.md") if p.is_file() and marker in p.read_bytes()]
        if not hits:
            return None
        found = max(hits, key=lambda p: p.stat().st_mtime_ns)
        dest = self.root / (dest_rel or found.relative_to(trash).as_posix())
        if dest.exists():
            dest = self.papers_dir / found.name
        n = 2
        while dest.exists():
            dest = dest.with_name(f"{found.stem} ({n}).md")
            n += 1
        self.check_root()
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.rename(found, dest)
        return self.read_note(self._rel(dest))

    # --- index notes ----------------------------------------------------------------------

    @staticmethod
    def _section_nodes(
        catalog_taxonomies: dict[str, Section],
    ) -> tuple[dict[str, tuple[str, SectionPath, list[str], str | None]], dict[str, str]]:
        """Every taxonomy node by section key (name, path, child keys, parent key), and the
        lists' roots (key -> source)."""
        nodes: dict[str, tuple[str, SectionPath, list[str], str | None]] = {}
        for source, root in catalog_taxonomies.items():
            for node in root.walk():
                path = node.path or (source,)
                key = section_key(path)
                children = [section_key(c.path) for c in node.children if c.path]
                parent = section_key(path[:-1]) if len(path) > 1 else None
                if key in nodes:
                    old_children = nodes[key][2]
                    old_children.extend(c for c in children if c not in old_children)
                else:
                    nodes[key] = (node.name or path[-1], path, children, parent)
        roots = {
            section_key(root.path or (source,)): source
            for source, root in catalog_taxonomies.items()
        }
        return nodes, roots

    def register_sections(self, catalog_taxonomies: dict[str, Section]) -> None:
        """Settle every catalog section's index note path before any note is read or
        written, so a paper note links the note its section's index is written to. Two
        sections whose names match once sanitised and compared without case (``Q&A?``,
        ``Q&A``, ``q&a``) get told-apart paths (``Q&A (3b74cc27)``); notes rendered before
        that linked the plain one, the first section's, and the next pull read every such
        paper as in that section. Call after the scan (it keeps index notes where they were
        found)."""
        nodes, roots = self._section_nodes(catalog_taxonomies)
        # an index note the user renamed or moved (Obsidian rewrites every link to it)
        # stays where it is; written anew at its default path, it left two index notes
        # and the papers linking the stale one. Found ones are placed first, so another
        # section's default path cannot push one off its file.
        found = {k: t for k in nodes if (t := self.links.found_target(k)) is not None}
        used: dict[str, str] = {}
        for key, where in found.items():
            used.setdefault(where.casefold(), key)
        for key, (_name, path, _children, _parent) in nodes.items():
            target = found.get(key, "")
            if not target or used[target.casefold()] != key:
                target = self.links.default_target(path)
                if used.setdefault(target.casefold(), key) != key:
                    target = f"{target} ({short_hash(key)})"
                    used.setdefault(target.casefold(), key)
            alias = root_alias(path[-1], roots[key]) if key in roots else path[-1]
            self.links.register(key, target, alias=alias)

    def index_regions(
        self,
        catalog_taxonomies: dict[str, Section],
        members: dict[tuple[str, ...], list[str]],
    ) -> tuple[list[tuple[str, str, str]], list[ListSummary]]:
        """What the index notes hold: (section key, vault path, managed region) per taxonomy
        node, with every section's link registered, and the lists for ``Home.md``. Shared
        with the in-memory double, so both write the same index notes."""
        self.register_sections(catalog_taxonomies)
        nodes, roots = self._section_nodes(catalog_taxonomies)
        regions: list[tuple[str, str, str]] = []
        for key, (name, path, children, parent) in nodes.items():
            papers = list(dict.fromkeys(members.get(tuple(path), [])))
            region = render_index_region(
                root_alias(name, roots[key]) if key in roots else name,
                self.links.link_for(parent) if parent and parent in nodes else None,
                [self.links.link_for(c) for c in children],
                papers,
                body_mod.BEGIN,
                body_mod.END,
            )
            regions.append((key, self.links.target_for(key) + ".md", region))
        summaries = []
        for key in roots:
            path = nodes[key][1]
            under = [p for p in members if tuple(p[: len(path)]) == tuple(path)]
            listed = {n for p in under for n in members[p]}
            n_sections = sum(1 for k in nodes if k.startswith(key + SECTION_SEP))
            summaries.append(ListSummary(str(self.links.link_for(key)), len(listed), n_sections))
        return regions, summaries

    def write_index_notes(
        self,
        catalog_taxonomies: dict[str, Section],
        members: dict[tuple[str, ...], list[str]],
    ) -> int:
        """Write one index note per taxonomy node (papers as ``[[note name]]`` links, parent
        and subsections as links); a note whose content would not change is not written.
        Text outside the managed region of an index note is the user's and is kept."""
        self.check_root()
        regions, summaries = self.index_regions(catalog_taxonomies, members)
        written = sum(1 for key, rel, region in regions if self._write_index_note(key, rel, region))
        if self._write_home(summaries):
            written += 1
        return written

    def _write_home(self, lists: list[ListSummary]) -> bool:
        """Renew the managed region of ``Home.md`` (links into each list's section tree);
        a Home note without the pllm-sync markers is the user's and is left alone."""
        path = self.root / HOME_NOTE
        try:
            data = path.read_bytes()
        except OSError:
            return False
        new = self.home_text(data, lists)
        if new is None or new == data:
            return False
        atomic_write(path, new)
        return True

    def home_text(self, data: bytes, lists: list[ListSummary]) -> bytes | None:
        """``Home.md`` (``data``) with its managed region renewed; None when it is not ours
        to touch (no markers, broken markers, not UTF-8)."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        parts = body_mod.split_body(text)
        if not parts.has_region or parts.broken:
            return None
        digest = WHATS_NEW if self.config.whats_new else None
        region = render_home_region(lists, body_mod.BEGIN, body_mod.END, whats_new=digest)
        new = body_mod.set_region(parts, region, "\r\n" if "\r\n" in text else "\n")
        return None if new is None else new.encode("utf-8")

    def _write_index_note(self, key: str, rel: str, region: str) -> bool:
        self.check_root()
        path = self._abs(rel)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                atomic_write(
                    path, self.index_note_text(key, rel, region, None) or b"", exclusive=True
                )
            except FileExistsError:
                return self._write_index_note(key, rel, region)
            return True
        data, _st = self._read(rel)
        new = self.index_note_text(key, rel, region, data)
        if new is None or new == data:
            return False
        atomic_write(path, new)
        return True

    def index_note_text(self, key: str, rel: str, region: str, data: bytes | None) -> bytes | None:
        """Index note ``rel`` for section ``key`` holding ``region``: new (``data`` None) or
        ``data`` with its region renewed; None when the file is not ours to touch (a user's
        note of that name, unreadable properties, broken markers)."""
        if data is None:
            text = "---\n" + dump_mapping({SECTION_KEY_PROPERTY: key}) + "---\n" + region
            return text.encode("utf-8")
        try:
            parsed = note_mod.parse_note(data.decode("utf-8"))
        except (UnicodeDecodeError, fb.FrontmatterProblem) as exc:
            log.warning("%s: cannot read (%s); index note left untouched", rel, exc)
            return None
        doc = parsed.doc
        if doc.values.get(SECTION_KEY_PROPERTY) != key and not parsed.parts.has_region:
            log.warning("%s: a note of yours has this index note's name; left untouched", rel)
            return None
        fm = {} if doc.values.get(SECTION_KEY_PROPERTY) == key else {SECTION_KEY_PROPERTY: key}
        try:
            head = fb.edit(doc, fm) if fm else doc.text
        except fb.FrontmatterProblem as p:
            log.warning("%s: %s; index note left untouched", rel, p.message)
            return None
        head = _head(head, doc)
        body = body_mod.set_region(parsed.parts, region, doc.newline)
        if body is None:
            log.warning("%s: the pllm-sync markers are broken; index note left untouched", rel)
            return None
        return _join(head, body, doc.newline).encode("utf-8")
