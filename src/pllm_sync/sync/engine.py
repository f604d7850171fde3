"""The sync engine: the only place that sees the catalog, Zotero and the vault at once.

One run is: read every side (catalog, Zotero change feed, vault scan), build a ``Plan`` by
merging each paper three-way against its base, check the guards, then apply the plan side by
side and commit each paper's new base only after its side effects landed. A crash anywhere
leaves the state at the last committed base; the next run re-reads both sides, finds what the
crashed run already wrote by its ``pllm-sync-id``, and converges without duplicates.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..config import Config
from ..errors import NoteChangedMeanwhile, SafetyAbort, VaultError
from ..model import Catalog, Paper, PaperIds
from ..progress import progress
from ..record import (
    SECTION_SEP,
    Record,
    complete_record,
    record_from_paper,
    section_key,
    section_path,
)
from ..vault.body import ManagedContent
from ..vault.names import placeholder_target
from ..vault.provenance import listed_in
from ..vault.sections import place_unknown_sections
from ..vault.store import NoteInfo, NoteStat, VaultProblem, VaultScan
from ..zotero import mapping as zmap
from ..zotero.store import ItemChange, NewItem, NoteUpsert, ZoteroSnapshot
from . import incremental, settled
from .adoption import adopted_sides
from .children import has_user_children, notes_rich, settled_notes
from .decide import (
    DecideConfig,
    Decided,
    Decision,
    DuplicateItem,
    PaperView,
    choose_identity_note,
    decide,
    listed_fields,
    same_or_empty,
)
from .delete_guard import judge
from .identity import (
    copy_takes_over,
    join_identities,
    second_item_wins,
    user_added_item_id,
    user_added_note_id,
)
from .merge import MergeResult
from .plan import Plan
from .ports import VaultPort, ZoteroPort
from .state import LibraryRef, PaperState, ScanEntry, SourceMeta, StateDB
from .vault_guard import empty_vault, missing_vault
from .zotero_writes import ZoteroPlan, ZoteroWrites

log = logging.getLogger(__name__)

JOURNAL_ACTIONS = 500
"""How many planned actions (with their field diffs) a run's journal entry keeps."""

NOT_DOWNLOADED = "is not downloaded (only the cloud's placeholder "
"""How a known note's warning begins when only its cloud placeholder is there (evicted): the
one warning a run may have and still settle (``settled.py``)."""

_UNSET = object()

SECTION_MAP_SUFFIX = "#sections"
"""State key suffix for the section-key -> collection-key map kept next to the slug map."""
LOST_SUFFIX = "#lost-sections"
"""State key suffix for sections whose collection was deleted in Zotero (see ``_refile``)."""
ROOTS_KEY = "list-roots"
"""State meta key: each list's root name at the last pull (``catalog.selection.keep_roots``)."""
OWED_RENAMES_KEY = "zotero-renames-owed"
"""State meta key: id changes followed without reaching the item (``_owed_renames``)."""
OWED_DUPLICATES_KEY = "zotero-duplicates-owed"
"""State meta key: second items a run without Zotero could not trash (``_owed_duplicates``)."""
MOVED_KEY = "sections-moved"
"""State meta key: section moves found but not yet committed (``moved_sections``)."""
UNLISTED = "-"
"""A lost section's value while the last pull's lists left it out (no collection to make)."""


@dataclass
class RunOptions:
    pull_catalog: bool = True
    dry_run: bool = False
    show_progress: bool | None = None
    # The daemon's hook: only these vault paths may have changed since the last scan (from
    # watcher events), so the scan reads them and takes every other note from its cache.
    # None = walk the whole vault.
    changed_paths: frozenset[str] | None = None
    if_zotero_changed: bool = False
    """Only when Zotero changed since the last run (one conditional request; nothing else
    is read or written when it did not): the daemon's poll, while its watcher reports no
    vault change."""
    zotero_asked: bool = False
    """The settled probe (``settled.probe``) already made the lean conditional request and
    had no 304: the settled check reads through the client at once (no second lean one)."""
    hold_vanished: Callable[[str], bool] | None = None
    """The daemon's grace for deletions (``watch.delete_grace_seconds``): asked for each
    paper whose note is gone from the whole vault; True leaves the paper alone this pass,
    as a note that is there but unreadable (a move a cloud sync is still delivering)."""
    zotero_read_only: bool = False
    """A key that may only read (a group member without editing rights): Zotero is mirrored
    into the vault one way; vault edits stay in the vault, pending, and nothing is written
    to Zotero (the base of a field moves only where the vault now holds Zotero's value)."""


@dataclass
class RunResult:
    plan: Plan
    applied: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    run_id: int | None = None
    dry_run: bool = False
    requests: int = 0
    catalog_warnings: int = 0
    settled: bool = False
    """Nothing changed since a sync that decided nothing (``settled.py``): not decided."""
    saved_meanwhile: list[str] = field(default_factory=list)
    """Notes the user saved while this run was writing them: kept as saved, not
    overwritten; not a failure (the next run reads them first)."""
    collected: bool = False
    """The run read the vault and decided (False: it stopped early, Zotero and the vault
    unchanged; the daemon keeps what it held for its deletion grace as it was)."""
    guard: SafetyAbort | None = None
    """A dry run only: the mass-delete guard a real run would stop at (the plan lists the
    deletions it counted; the guard's advice is to look at them with a dry run)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "plan": self.plan.to_json(),
            "applied": self.applied,
            "errors": self.errors,
            "run_id": self.run_id,
            "zotero_requests": self.requests,
            "saved_meanwhile": self.saved_meanwhile,
        }


def _read_catalog(*args: Any, **kwargs: Any) -> Catalog:
    """The plain catalog reader, imported when a run reads the catalog (a sync does not)."""
    from ..catalog import load_catalog

    return load_catalog(*args, **kwargs)


def _retired_before(v: PaperView | None) -> bool:
    """Whether the paper's list base already says it left the catalog."""
    base = v.state.catalog_base if v is not None and v.state is not None else None
    return base is not None and base.get("catalog") == "removed"


def _list_roots(rec: Record) -> frozenset[str]:
    """The lists (their titles: the roots of its sections) a catalog record places a paper in."""
    return frozenset(section_path(s)[0] for s in rec.get("sections") or ())


def _waits_for_zotero(d: Decision) -> bool:
    """Whether a vault-only run leaves this paper's Zotero item without something the run
    merged, as far as the state knows what the item holds (a vault-only run reads no item,
    so its merge lists every field for Zotero). A paper with no item waits for nothing."""
    res, st, note = d.result, d.view.state, d.view.note
    if res is None or not res.to_zotero:
        return False
    if (st is None or not st.zotero_key) and note is not None and note.zotero_key:
        # the note names its item, which this state never saw (it was lost, or made
        # elsewhere): nothing the item holds is known, so nothing is agreed with it. Taken
        # for "no item", the run moved the base to the vault's values, and the next sync
        # took the item's older notes for an edit that removed the user's new lines.
        return True
    if st is None or not st.zotero_key:
        return False
    if st.zotero_retired:
        return False  # in Zotero's trash: a restore writes the merged record
    known = st.zotero_record or st.base
    if known is None:
        return True
    merged, base = complete_record(res.merged), st.base or {}
    # a field this run moved away from the base that the item does not hold; one still at
    # its base is Zotero's change on its way to the vault (a conflict resolved for Zotero's
    # value, say), not the vault's on its way to Zotero
    return any(
        merged.get(k) != known.get(k) and merged.get(k) != base.get(k) for k in res.to_zotero
    )


def moved_sections(stored: dict[str, str], now: dict[str, str]) -> dict[str, str]:
    """Sections whose collection now stands for another section of the list (old section
    key -> the one its collection is now): sections whose names slugify alike are told
    apart by their order in the list, so a list reordering them renames their collections
    under the items. A list or section renamed (a name new to the list) is not such a move."""
    inverse = {k: s for s, k in now.items()}
    return {
        s: inverse[k] for s, k in stored.items() if inverse.get(k, s) != s and inverse[k] in stored
    }


def follow_moved_sections(
    papers: dict[str, PaperState], moved: Mapping[str, str | None]
) -> dict[str, PaperState]:
    """The papers' states with ``moved`` sections read as the sections their collections
    stand for now (None: a collection deleted in Zotero, made again in this run), in what
    Zotero is known to hold and in the base. The items stayed in the collections renamed
    under them (or Zotero dropped the deleted one's memberships without a version bump), so
    a note (or the list) naming the paper's own section reads as filing its item in that
    section's collection, which the run's writes do. Copies: the daemon keeps the loaded
    states between passes."""
    out = dict(papers)
    for pid, st in papers.items():
        held = st.zotero_record or st.base
        if held is None or not set(moved) & set(held.get("sections") or ()):
            continue

        def follow(rec: Record | None) -> Record | None:
            if rec is None:
                return None
            sections = (moved.get(s, s) for s in rec.get("sections") or ())
            return {**rec, "sections": frozenset(s for s in sections if s is not None)}

        out[pid] = replace(st, zotero_record=follow(held), base=follow(st.base))
    return out


def remade_elsewhere(
    collections: Mapping[str, Mapping[str, Any]], section_map: dict[str, str], lost: set[str]
) -> dict[str, str]:
    """Lost sections (collections deleted in Zotero) whose collection the change feed shows
    made again elsewhere: a collection new to this device, under the collection of the
    section's parent, with the section's name. Read as unknown, the items filed into it by
    the other device's pull looked taken out of the section, and a sync emptied the notes'
    sections for good."""
    by_key = {k: s for s, k in section_map.items()}
    out: dict[str, str] = {}
    for key, c in collections.items():
        parent = c.get("parentCollection")
        if c.get("deleted") or key in by_key or not parent or parent not in by_key:
            continue
        section = f"{by_key[str(parent)]}{SECTION_SEP}{c.get('name') or ''}"
        if section in lost:
            out[section] = str(key)
    return out


def remade_sections(
    known: dict[str, str], mapping: dict[str, str], stored: dict[str, str]
) -> dict[str, str]:
    """Sections (with their old collection key) whose collection this run made again: the
    key the state knew for the node (by its slug path, which a renamed list or section
    keeps) is not the one ``ensure_collections`` found, so the old collection is gone.
    Compared by section keys instead, a list renamed (or two same-title lists swapped)
    looked like every one of its collections made again."""
    dead = {k for slug, k in known.items() if slug in mapping and mapping[slug] != k}
    return {s: k for s, k in stored.items() if k in dead}


class SyncEngine:
    """Wires state, catalog, Zotero store and vault store into one run."""

    def __init__(
        self,
        config: Config,
        state: StateDB,
        vault: VaultPort,
        zotero: ZoteroPort | None,
        catalog_loader: Callable[..., Catalog] | None = None,
        library_ref: LibraryRef | None = None,
    ) -> None:
        self.cfg = config
        self.state = state
        self.vault = vault
        self.zotero = zotero
        self.catalog_loader = catalog_loader or _read_catalog
        self.lib = library_ref or (LibraryRef.from_config(config.zotero) if zotero else None)
        self._previous_scan: dict[str, NoteStat] = {}
        # The scan cache as this engine last saved it; the daemon holds the lock, so its next
        # incremental pass can skip decoding it from the state again. None = read the state.
        self._scan_memo: dict[str, NoteStat] | None = None
        self._papers_memo: dict[str, PaperState] | None = None
        self._cached_paths: Collection[str] = ()  # the paths the scan cache holds
        self._unfound: set[str] = set()  # ids whose item could not be read by key this run
        self._zwrites: ZoteroWrites | None = None  # under way, their outcome not taken in

    # ------------------------------------------------------------------ reading

    def _load_catalog(self, dry_run: bool = False) -> Catalog:
        catalog = self.catalog_loader(self.cfg.catalog)
        for w in catalog.warnings:
            log.info("catalog: %s", w)
        for f in [] if dry_run else getattr(catalog, "fetches", []):
            self.state.set_source_meta(
                SourceMeta(
                    name=f.name,
                    etag=f.etag,
                    last_modified=f.last_modified,
                    sha256=hashlib.sha256(f.text.encode("utf-8")).hexdigest(),
                    fetched_at=f.fetched_at,
                )
            )
        return catalog

    def _guard_vault(self, papers: dict[str, PaperState]) -> None:
        """Abort before any change when the vault vanished or was emptied under us.

        A missing vault stops every run once a sync has used it (any paper in its state,
        even when all of its notes were deleted on purpose since): the run must never make
        a new, empty vault in place of an unmounted one. An empty papers folder stops a run
        only when no note carrying a paper's id is left anywhere in the vault (the user may
        have moved every note into folders of their own)."""
        if not papers:
            return
        if not self.vault.exists():
            raise missing_vault(self.vault.root, len(papers), configured=self.cfg.path is not None)
        had_notes = sum(1 for p in papers.values() if p.note_path)
        if not had_notes or self.vault.papers_present():
            return
        scan = self.vault.scan({}, progress=False)
        if scan.notes:
            return  # the notes live in other folders of the vault (a rare, full read)
        if not scan.stats and not scan.problems:  # no markdown file at all (that walk)
            # an empty mount point, say
            raise empty_vault(self.vault.root, had_notes, configured=self.cfg.path is not None)
        raise SafetyAbort(
            f"the papers folder {self.vault.papers_dir} is empty or missing, but the last "
            f"sync left {had_notes} notes there",
            hint="restore the notes (or fix vault.papers_folder); nothing was changed",
        )

    def _scan_vault(self, show: bool | None, changed: frozenset[str] | None = None) -> VaultScan:
        if not self.vault.exists():  # a dry run before the vault was made: nothing there yet
            return VaultScan()
        previous: dict[str, NoteStat] = {}
        if changed is not None and self._scan_memo is not None:
            previous = self._scan_memo  # the daemon's pass: what this engine saved last time
            self._cached_paths = previous.keys()
        else:
            cache = self.state.get_scan_cache()
            self._cached_paths = set(cache)
            for e in cache.values():
                if e.record is not None:
                    try:
                        previous[e.relpath] = NoteStat(**e.record)
                    except TypeError:  # a cache row from an older version: just re-read the file
                        continue
        self._previous_scan = previous
        scan = self.vault.scan(previous, progress=bool(show), changed=changed)
        for prob in scan.problems:
            log.warning("vault: %s", prob)
        return scan

    # ------------------------------------------------------------------ collecting

    def _collect(
        self,
        catalog: Catalog | None,
        scan: VaultScan,
        snap: ZoteroSnapshot | None,
        cpaths: dict[str, tuple[str, ...]],
        papers: dict[str, PaperState],
        hold_vanished: Callable[[str], bool] | None = None,
    ) -> dict[str, PaperView]:
        """Read every side into plain per-paper views (the input of the pure ``decide``)."""
        views: dict[str, PaperView] = {}

        def view(pid: str) -> PaperView:
            v = views.get(pid)
            if v is None:
                v = views[pid] = PaperView(pid=pid, state=papers.get(pid))
            return v

        for pid, st in papers.items():
            view(pid)
            if catalog is None and st.catalog_base is not None:
                views[pid].catalog = st.catalog_base
        if catalog is not None:
            listed = set()
            for paper in catalog.papers:
                v = view(paper.id)
                v.paper = paper
                v.catalog = record_from_paper(paper)
                listed.add(paper.id)
            for pid, st in papers.items():
                if pid not in listed and st.catalog_base is not None:
                    tomb = dict(st.catalog_base)
                    tomb["catalog"] = "removed"
                    views[pid].catalog = tomb

        # Zotero: changed items from the feed; unchanged ones are at their base.
        if snap is not None:
            key_to_pid = {st.zotero_key: pid for pid, st in papers.items() if st.zotero_key}
            children: dict[str, list[dict[str, Any]]] = {}
            for data in snap.items.values():
                parent = data.get("parentItem")
                if parent:
                    children.setdefault(parent, []).append(data)
            for key, data in snap.items.items():
                if data.get("parentItem") or data.get("itemType") in (
                    "note",
                    "attachment",
                    "annotation",
                ):
                    continue
                item_pid = zmap.item_pllm_id(data) or key_to_pid.get(key)
                if item_pid is None:
                    item_pid = user_added_item_id(data, cpaths)
                    if item_pid is None:
                        continue
                    view(item_pid).user_added = "zotero"
                v = view(item_pid)
                st_key = v.state.zotero_key if v.state is not None else None
                if data.get("deleted") and st_key and st_key != key and key_to_pid.get(key) is None:
                    # a copy of the paper's item (Zotero's Duplicate Item copies our Extra
                    # line) that the user put in the trash: the paper's own item is the one
                    # the state knows, unchanged. Taken for it, the paper's note followed the
                    # copy to the trash.
                    continue
                if v.zitem is not None:
                    keep_new = second_item_wins(v.state, v.zitem, data)
                    both_live = not v.zitem.get("deleted") and not data.get("deleted")
                    # (one in Zotero's trash is no second copy to tell the user about)
                    log.log(
                        logging.WARNING if both_live else logging.DEBUG,
                        "zotero: two items carry pllm-sync id %s (%s, %s)",
                        item_pid,
                        v.zitem.get("key"),
                        key,
                    )
                    loser = v.zitem if keep_new else data
                    if not v.zitem.get("deleted") and not data.get("deleted"):
                        # two live items: the loser's user data is folded into the
                        # winner, then it goes to the trash (decide, rule 9)
                        kids = children.get(str(loser.get("key")), [])
                        dup = DuplicateItem.of(
                            item_pid, loser, kids, zmap.item_to_record(loser, kids, cpaths)
                        )
                        v.duplicate_items = (*v.duplicate_items, dup)
                    if not keep_new:
                        continue
                    v.zotero_gone = None
                v.zitem = data
                v.zchildren = children.get(key, [])
                if data.get("deleted"):
                    v.zotero_gone = "trashed"
                    # what the trashed item holds: a restore merges it, so nothing the user
                    # wrote in Zotero before trashing is overwritten by the restore
                    v.zrecord_trashed = zmap.item_to_record(data, v.zchildren, cpaths)
                else:
                    note_key = v.state.zotero_note_key if v.state else None
                    v.zrecord = zmap.item_to_record(data, v.zchildren, cpaths, note_key=note_key)
                    settled = settled_notes(v.state, str(v.zrecord.get("notes") or ""), v.zchildren)
                    if settled is not None:
                        v.zrecord["notes"], v.z_note_missing = settled
                    v.z_note_rich = notes_rich(v.zchildren, v.state)
                    if v.state is not None:
                        v.z_user_children = has_user_children(v.zchildren, v.state)
            if not snap.full:
                self._unchanged_item_keeps_its_paper(views, snap, cpaths)
            note_to_pid = (  # (only when something was deleted: most runs, nothing was)
                {st.zotero_note_key: pid for pid, st in papers.items() if st.zotero_note_key}
                if snap.deleted_items
                else {}
            )
            for key in snap.deleted_items:
                gone_pid = key_to_pid.get(key)
                if gone_pid and views[gone_pid].zitem is None:
                    views[gone_pid].zotero_gone = "deleted"
                elif key in note_to_pid and views[note_to_pid[key]].zitem is None:
                    # a paper's notes child deleted for good (emptied from the trash) while
                    # its item did not change: as a trashed one, it is written again (its
                    # item's version does not move, so nothing else tells of it)
                    views[note_to_pid[key]].z_note_missing = True
            for pid, st in papers.items():
                v = views[pid]
                if (
                    v.zitem is None
                    and v.zotero_gone is None
                    and st.zotero_key
                    and not st.zotero_retired
                ):
                    if snap.full:
                        v.zotero_gone = "deleted"  # a full listing without it: it is gone
                    elif st.zotero_record is not None or st.base is not None:
                        v.zrecord = st.zotero_record or st.base

        # Vault: the scan sees every note (cached when unchanged). Of several notes carrying
        # one id (a "Make a copy", an iCloud conflict copy), the one the state knows keeps
        # the identity; the others are listed and left alone.
        for pid, note in scan.notes.items():
            v = view(pid)
            v.note = note
            paths = scan.duplicates.get(pid)
            known = v.state.note_path if v.state else None
            if paths:
                keep = choose_identity_note(paths, known)
                v.copies = tuple(p for p in paths if p != keep)
                if keep != note.path:
                    v.note = self.vault.read_note(keep)
            v.note_from_copy = copy_takes_over(
                pid, v.note.path, known, scan.stats, self._previous_scan
            )
        for note in scan.new_notes:
            new_pid = user_added_note_id(note)
            if new_pid is None:
                continue
            v = view(new_pid)
            if v.note is None:
                v.note = note
                v.user_added = v.user_added or "vault"
            else:
                log.warning(
                    "%s: a hand-added note for %s, which already has the note %s; left "
                    "alone -- copy what you need into %s and delete the other",
                    note.path,
                    new_pid,
                    v.note.path,
                    v.note.path,
                )
        # Collections never follow links whose index notes vanished: a note's sections that
        # name no known section (a link to a deleted or renamed index note read as a path)
        # say nothing this run, so the merge keeps the agreed membership.
        known_sections = {section_key(p) for p in cpaths.values()}
        if catalog is not None:
            known_sections |= {section_key(n.path) for n in catalog.section_nodes()}
        for st in papers.values():
            known_sections |= set((st.base or {}).get("sections") or ())
        for v in views.values():
            secs = v.note.record.get("sections") if v.note is not None else None
            if v.note is not None and secs and not set(secs) <= known_sections:
                agreed = (v.state.base or {}).get("sections") or () if v.state else ()
                placed, unknown, ambiguous = place_unknown_sections(secs, known_sections, agreed)
                if not (unknown or ambiguous):  # a link by a section's name alone
                    v.note = replace(v.note, record={**v.note.record, "sections": placed})
                    continue
                rec = {k: val for k, val in v.note.record.items() if k != "sections"}
                v.note = replace(v.note, record=rec)
                v.vault_sections_unknown = unknown
                v.vault_sections_ambiguous = ambiguous
        unreadable = {p.path: p for p in scan.problems}
        strays: list[str] | None = None  # placeholders standing for no note the state knows
        for pid, st in papers.items():
            v = views[pid]
            if v.note is None and st.note_path:
                why = self._why_unreadable(st.note_path, scan, unreadable)
                if why is None:
                    strays = self._stray_placeholders(papers) if strays is None else strays
                    if strays:
                        why = (
                            "is gone, but the vault holds notes the cloud has not downloaded "
                            f"({', '.join(strays[:3])}{' ...' if len(strays) > 3 else ''}), "
                            "which may be it under a new name (download them to sync it)"
                        )
                if why is None and hold_vanished is not None and hold_vanished(pid):
                    why = (
                        "is gone from the vault; its deletion waits "
                        "(watch.delete_grace_seconds) in case a cloud sync is still bringing "
                        "it from its new place"
                    )
                if why is not None:
                    # there but unreadable: never "deleted"
                    v.vault_unreadable, v.vault_unreadable_why = True, why
                    v.vault_evicted = why.startswith(NOT_DOWNLOADED)
                else:
                    v.vault_gone = True
        joined = join_identities(views, papers, catalog_read=catalog is not None)
        if snap is not None:  # a run with Zotero: what earlier runs owed it is done now
            for pid, keys in self._owed_duplicates().items():
                owing = joined.get(pid)
                if owing is None:
                    continue
                have = {str(x.zitem.get("key")) for x in owing.duplicate_items}
                mine = owing.state.zotero_key if owing.state is not None else None
                extra = tuple(
                    DuplicateItem(pid, {"key": k}, {}, unread=True)
                    for k in keys
                    if k not in have and k != mine
                )
                if extra:
                    joined[pid] = replace(owing, duplicate_items=(*owing.duplicate_items, *extra))
            for pid, old in self._owed_renames().items():
                owing = joined.get(pid)
                owing_state = owing.state if owing is not None else None
                if (
                    owing is not None
                    and owing_state is not None
                    and owing_state.zotero_key
                    and not owing_state.zotero_retired
                    and not owing.renamed_from
                ):
                    joined[pid] = replace(owing, renamed_from=old)
        return joined

    def _roots_in_the_library(self, catalog: Catalog) -> dict[str, str]:
        """For same-title lists this state knows no root of (a second device, a lost
        state): the suffixed name another device gave a list (``Title (source)``) when the
        library has a collection of that name. Without it, a device whose config lists them
        in another order made a second tree of collections under the other names."""
        if self.zotero is None or self.lib is None:
            return {}
        titles: dict[str, list[str]] = {}
        for src, t in catalog.taxonomies.items():
            if t.path:
                title = t.name.removesuffix(f" ({src})")
                titles.setdefault(title.casefold(), []).append(src)
        unknown = {
            src: catalog.taxonomies[src].name.removesuffix(f" ({src})")
            for same in titles.values()
            if len(same) > 1
            for src in same
            if src not in self._roots_before
        }
        if not unknown:
            return {}
        names = self.zotero.collection_names()
        return {src: f"{t} ({src})" for src, t in unknown.items() if f"{t} ({src})" in names}

    def _owed_moves(self) -> dict[str, str]:
        """Section moves (``moved_sections``) a run found and did not finish committing."""
        return {k: str(v) for k, v in self.state.get_meta_map(MOVED_KEY).items()}

    def _owed_duplicates(self) -> dict[str, list[str]]:
        """Papers (id -> item keys) whose second items a run without Zotero found (a split
        handed over offline: the empty twin's item) and could not move to Zotero's trash.
        The next run with Zotero reads them and decides (rule 9)."""
        owed = self.state.get_meta_map(OWED_DUPLICATES_KEY)
        return {k: [str(x) for x in v] for k, v in owed.items() if isinstance(v, list)}

    def _owed_renames(self) -> dict[str, str]:
        """Papers (new id -> old id) whose id change was followed by a run that could not
        tell their item (``--zotero off``, a failed write): its Extra still names the old id,
        which no later change would rewrite, and which another device takes for the old
        paper. The next run with Zotero sends the rename (``renamed_from``)."""
        return {k: str(v) for k, v in self.state.get_meta_map(OWED_RENAMES_KEY).items()}

    def _why_unreadable(
        self, rel: str, scan: VaultScan, problems: dict[str, VaultProblem]
    ) -> str | None:
        """What stands at a known note's path when no paper note was read there, in words
        for the run's warning (it once said "see the warnings above" with none above it);
        None when nothing is there: the note is gone (deleted, or moved out of the vault)."""
        problem = problems.get(rel)
        if problem is not None:
            at = f" at line {problem.line}" if problem.line else ""
            return f"cannot be read ({problem.message}{at})"
        if not self.vault.has_file(rel):
            stub = self.vault.placeholder_of(rel)
            return f"{NOT_DOWNLOADED}{stub} is here)" if stub else None
        s = scan.stats.get(rel)
        if s is not None and s.kind == "paper" and s.pllm_id:
            return f"now holds the note of {s.pllm_id}"
        if s is not None and s.size == 0:
            return "is empty (a cloud copy still arriving?)"
        line = self.vault.unclosed_properties(rel)
        if line is not None:  # the id line is there: the block around it is not
            return (
                "has no `---` line closing its properties, so it has none (Obsidian shows "
                f"them as text) -- add a line `---` after line {line}"
            )
        return (
            "has no readable pllm-sync-id property now (cut short by a copy still arriving, or "
            "the line removed?)"
        )

    def _stray_placeholders(self, papers: dict[str, PaperState]) -> list[str]:
        """The vault's cloud placeholders that stand for no note the state knows (a note
        renamed on another device, then evicted here): a walk, made only when a known note
        is gone."""
        known = {p.note_path for p in papers.values() if p.note_path}
        return [s for s in self.vault.placeholders() if placeholder_target(s) not in known]

    @staticmethod
    def _unchanged_item_keeps_its_paper(
        views: dict[str, PaperView], snap: ZoteroSnapshot, cpaths: dict[str, tuple[str, ...]]
    ) -> None:
        """A new live item carrying a paper's id while the paper's own item (the one the
        state knows) is unchanged, so absent from the change feed: the new one is a
        duplicate (rule 9), not the paper's item. Taking it for the paper's item would write
        the paper to it and leave two live items."""
        for pid, v in views.items():
            st, data = v.state, v.zitem
            if st is None or data is None or not st.zotero_key or st.zotero_retired:
                continue
            if data.get("key") == st.zotero_key or data.get("deleted"):
                continue
            if st.zotero_key in snap.items or st.zotero_key in snap.deleted_items:
                continue  # the known item was read (and lost to this one) or is gone
            kids = v.zchildren
            dup = DuplicateItem.of(pid, data, kids, zmap.item_to_record(data, kids, cpaths))
            v.duplicate_items = (*v.duplicate_items, dup)
            v.zitem, v.zchildren, v.zrecord = None, [], st.zotero_record or st.base
            v.z_note_missing = v.z_note_rich = v.z_user_children = False

    # ------------------------------------------------------------------ planning

    # ------------------------------------------------------------------ deciding

    def decide_config(self) -> DecideConfig:
        sy = self.cfg.sync
        return DecideConfig(
            zotero=self.zotero is not None,
            conflict=sy.conflict,  # type: ignore[arg-type]
            on_vault_delete=sy.on_vault_delete,
            on_zotero_trash=sy.on_zotero_trash,
        )

    def _decide_all(
        self, views: list[PaperView], cpaths: dict[str, tuple[str, ...]] | None = None
    ) -> Decided:
        """Decide the run (pure), reading by key the Zotero items the first pass wants to
        write but the change feed did not return, then decide again on the completed views.

        Reading happens here, before any write and in dry runs too, so that judgements which
        need the item's current children (a rich notes child, a user's new attachment) are
        part of the plan a dry run shows, not taken while applying."""
        cfg = self.decide_config()
        first = decide(views, cfg)
        if self.zotero is None:
            return first
        need = [
            d
            for d in first.decisions
            if d.zotero in ("update", "trash", "restore")
            and (d.view.zitem is None or d.zotero == "trash")
            and d.view.state is not None
            and d.view.state.zotero_key
        ]
        unread = [v for v in views if any(x.unread for x in v.duplicate_items)]
        if not need and not unread:
            return first
        if need:
            self._unfound = self._hydrate(need)
        if unread:
            self._read_duplicates(unread, cpaths or {})
        return decide(views, cfg)

    def _read_duplicates(self, views: list[PaperView], cpaths: dict[str, tuple[str, ...]]) -> None:
        """Read the duplicate items the change feed did not return (a same-title twin's
        empty item, unchanged since the last sync) with their children, so rule 9 trashes
        one only when no child a user made hangs on it. One gone or trashed is dropped."""
        assert self.zotero is not None
        keys = [str(x.zitem["key"]) for v in views for x in v.duplicate_items if x.unread]
        rows = self.zotero.fetch_items(keys)
        for v in views:
            dups: list[DuplicateItem] = []
            for x in v.duplicate_items:
                if not x.unread:
                    dups.append(x)
                    continue
                data = rows.get(str(x.zitem["key"]))
                if data is None or data.get("deleted"):
                    continue
                kids = self.zotero.fetch_children(str(data["key"]))
                dups.append(
                    DuplicateItem.of(x.pid, data, kids, zmap.item_to_record(data, kids, cpaths))
                )
            v.duplicate_items = tuple(dups)

    def _guard_writable(self, plan: Plan) -> None:
        """Stop before any change when the vault cannot be written (a read-only mount, a
        folder owned by someone else), instead of failing note by note after Zotero moved."""
        if any(a.side == "vault" for a in plan.actions):
            self.vault.check_writable()

    def _guard_deletes(
        self,
        plan: Plan,
        total: int,
        *,
        daemon: bool = False,
        views: dict[str, PaperView] | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        """Stop a run that would trash or retire more papers than the limits allow (the
        decision: ``delete_guard.judge``). Retiring counts the papers that left the catalog
        (``views`` and ``catalog``: which lists they were in), so a list served cut off
        does not mark the rest of it removed. ``daemon``: the run is a watch pass, which
        holds the run lock: its advice names what works while it runs (``sync --dry-run``
        is refused then)."""
        trashed = {a.pid for a in plan.actions if a.kind == "trash"}
        retiring: dict[str, frozenset[str]] = {}
        listed_before: dict[str, frozenset[str]] = {}
        followed: dict[str, str] = {}
        unfollowed = False
        leaving = {a.pid for a in plan.actions if a.kind == "tombstone"}
        if views is not None:
            # a paper whose list base already says removed left the catalog in an earlier
            # run (one without Zotero, say), which judged it: only its other side follows
            leaving = {pid for pid in leaving if not _retired_before(views.get(pid))}
        if leaving and views is not None and catalog is not None:
            for pid, v in views.items():
                base = v.state.catalog_base if v.state is not None else None
                if base is not None and base.get("catalog") != "removed":
                    listed_before[pid] = _list_roots(base)
            # the lists by name where the last pull's roots say which list a root was (a
            # fork of a removed list, under its title, is not the list it replaced)
            by_root = {root: src for src, root in self._roots_before.items()}
            listed_before = {
                pid: frozenset(by_root.get(r, r) for r in roots)
                for pid, roots in listed_before.items()
            }
            retiring = {pid: listed_before.get(pid, frozenset()) for pid in leaving}
            names = {s.name for s in self.cfg.catalog.sources}
            followed = {
                section_path(section_key(t.path))[0]: name for name, t in catalog.taxonomies.items()
            }
            followed.update({name: name for name in catalog.taxonomies})
            unfollowed = bool((self.state.source_names() | set(by_root.values())) - names)
        verdict = judge(
            trashed=trashed,
            retiring=retiring,
            listed_before=listed_before,
            followed=followed,
            unfollowed=unfollowed,
            total=total,
            max_delete=self.cfg.sync.max_delete,
            max_percent=self.cfg.sync.max_delete_percent,
        )
        if verdict is None:
            return
        checks: list[str] = []
        if verdict.trashed:
            checks.append(
                "Check whether notes or items vanished by accident (a vault not mounted, "
                "notes moved away, a different library)"
                + ("; putting them back lets the daemon go on" if daemon else "")
            )
        if verdict.retired:
            checks.append(
                "Check whether a list lost papers by accident (a download cut short, a bad "
                "commit upstream): a paper that leaves the catalog is marked catalog: removed "
                "in its note and tagged pllm/removed in Zotero"
                + (
                    "; the daemon goes on syncing and reads the list again at its next "
                    "catalog refresh"
                    if daemon
                    else ""
                )
            )
        command = "pull" if verdict.retired else "sync"
        if not daemon:
            how = (
                f"list them with `pllm-sync {command} --dry-run`, and raise the limits "
                "(sync.max_delete, sync.max_delete_percent) for one run only if every listed "
                "change is intended"
            )
        elif verdict.retired:  # a dry run through the daemon reads no catalog
            how = (
                "to list them, stop the daemon and run `pllm-sync pull --dry-run`; to apply "
                "them, run `pllm-sync pull` once with the limits raised"
            )
        else:
            how = (
                'to list them, ask the daemon for a dry run (POST /v1/sync with {"dry_run": '
                "true}); to apply them, stop it and run `pllm-sync sync` once with the limits "
                "raised"
            )
        raise SafetyAbort(verdict.message, hint="nothing was changed. " + "; ".join([*checks, how]))

    # ------------------------------------------------------------------ running

    def load_papers(self, *, reuse: bool = False) -> dict[str, PaperState]:
        """Every paper's state. ``reuse`` (the daemon, which holds the lock): keep the states
        loaded last time whose ``updated_at`` did not move, decode only the others."""
        memo = self._papers_memo
        if not reuse or memo is None:
            papers = self.state.all_papers()
        else:
            papers = {}
            for pid, stamp in self.state.paper_stamps().items():
                old = memo.get(pid)
                if old is not None and old.updated_at == stamp:
                    papers[pid] = old
                elif (fresh := self.state.get_paper(pid)) is not None:
                    papers[pid] = fresh
        self._papers_memo = papers
        return papers

    def run(self, opts: RunOptions) -> RunResult:
        if opts.if_zotero_changed and not opts.pull_catalog and self._zotero_unchanged():
            return RunResult(plan=Plan(), dry_run=opts.dry_run)
        self._unfound = set()
        self._roots_before: dict[str, str] = {}  # each list's root at the last pull
        changes_at_start, warnings_at_start = self.state.changes(), settled.warnings_logged()
        mark = self._settle_key(opts)
        early: ZoteroSnapshot | None = None
        left = settled.Mark.decode(self.state.settled()) if mark is not None else None
        if left is not None and left.fingerprint == mark:
            still, early = self._still_settled(left.placeholders, lean=not opts.zotero_asked)
            if still:  # every input is the settled run's: its plan (empty) is this run's
                notices = list(left.notices)  # the evicted notes, said again
                plan = Plan(warnings=notices, evicted=list(notices))
                result = RunResult(plan=plan, dry_run=opts.dry_run, settled=True)
                if self.zotero is not None:
                    result.requests = self.zotero.request_count
                return result
        papers = self.load_papers(reuse=opts.changed_paths is not None)
        self._open_conflicts = self.state.list_conflicts(open_only=True)
        catalog = self._load_catalog(opts.dry_run) if opts.pull_catalog else None
        if catalog is not None:
            from ..catalog.selection import keep_roots  # (a sync reads no list)

            self._roots_before = self._previous_roots(catalog)
            self._roots_before.update(self._roots_in_the_library(catalog))
            catalog = keep_roots(catalog, self._roots_before)
            if not opts.dry_run:
                roots = {s: t.name for s, t in catalog.taxonomies.items() if t.path}
                self.state.set_meta_map(ROOTS_KEY, roots)
        self._guard_vault(papers)

        snap: ZoteroSnapshot | None = None
        since: int | None = None
        mapping: dict[str, str] = {}
        section_map: dict[str, str] = {}
        lost: dict[str, str] = {}
        refile: set[str] = set()
        moved: dict[str, str] = {}
        plan = Plan()
        if self.zotero is not None and self.lib is not None:
            since = self.state.get_library_version(self.lib)
            if since is None or not papers or self.zotero.local:
                # First contact: check the key before anything else. Once a run has read
                # this library, Zotero's own 403 on the read (or write) says the same, so a
                # no-op costs one conditional request and a one-note edit three. (The desktop's
                # local API hands out its write key with the check: always asked there.)
                self.zotero.check_access(write=not (opts.dry_run or opts.zotero_read_only))
            known = self.state.get_collection_keys(self.lib)
            section_map = self._section_map_load()
            stored_map = dict(section_map)
            lost = self._lost_load()  # sections whose collection Zotero deleted
            if catalog is not None and opts.zotero_read_only:
                mapping = self.zotero.find_collections(catalog.taxonomies, known)
                section_map = {
                    section_key(path): key
                    for key, path in self.zotero.collection_paths(mapping).items()
                }
            elif catalog is not None:
                if opts.dry_run:
                    missing = [
                        n for n in catalog.section_nodes() if section_key(n.path) not in section_map
                    ]
                    plan.collections_to_create = len(missing) + (0 if known else 1)
                    mapping = known
                else:
                    mapping = self.zotero.ensure_collections(catalog.taxonomies, known)
                    section_map = {
                        section_key(path): key
                        for key, path in self.zotero.collection_paths(mapping).items()
                    }
                    remade = remade_sections(known, mapping, stored_map)
                    moved = {**self._owed_moves(), **moved_sections(stored_map, section_map)}
                    with self.state.transaction():
                        self.state.set_collection_keys(self.lib, mapping)
                        self._section_map_save(section_map)
                        if set(remade) - set(lost):  # kept until its papers are filed back
                            lost.update(remade)
                            self._lost_save(lost)
                        if moved:  # kept until the papers' state follows (crash-safe)
                            self.state.set_meta_map(MOVED_KEY, moved)
            else:
                mapping = known
            snap = (
                early
                if early is not None and papers
                else self.zotero.read(since if papers else None)
            )
            gone = snap.deleted_collections | {
                k for k, c in snap.collections.items() if c.get("deleted")
            }
            newly = {s: k for s, k in stored_map.items() if k in gone}
            if newly:
                # a collection deleted in Zotero: stop filing items into it. Zotero dropped
                # its memberships without bumping the items' versions, so nothing else will
                # show it: the section is kept as lost until a pull makes the collection
                # again and files its papers back (``_refile``). Read from the stored map,
                # so a section this pull's list leaves out (``exclude``) is known too.
                section_map = {s: k for s, k in section_map.items() if k not in gone}
                lost = {**lost, **newly}
                if not opts.dry_run:  # (a dry run says so, and keeps nothing)
                    with self.state.transaction():
                        self._section_map_save(section_map)
                        self._lost_save(lost)
            if catalog is not None and lost:
                # a lost section this pull's list leaves out (``exclude``, or gone upstream)
                # is nothing to make again, nor to warn about, until it is listed again
                listed = {section_key(n.path) for n in catalog.section_nodes()}
                marked = {s: (k if s in listed else UNLISTED) for s, k in lost.items()}
                if marked != lost:
                    lost = marked
                    if not opts.dry_run:
                        self._lost_save(lost)
            if lost and catalog is None and snap.collections:
                # a sync reads no list, but another device's pull may have made the
                # collection again: the change feed names it, under the list's collection
                learned = remade_elsewhere(snap.collections, section_map, set(lost))
                if learned:
                    section_map = {**section_map, **learned}
                    if not opts.dry_run:
                        self._section_map_save(section_map)
            refile = {s for s in lost if s in section_map}
            for s in sorted(s for s, k in lost.items() if s not in refile and k != UNLISTED):
                plan.warnings.append(
                    f"the Zotero collection of section {section_path(s)[-1]!r} was deleted; "
                    "the next `pllm-sync pull` (or the daemon's next reading of the lists) "
                    "makes it again and files its papers back (to drop a section for good, "
                    "list it in the source's `exclude`)"
                )
            if refile and not opts.dry_run:
                papers = self._refile(papers, refile, plan)
            if moved and not opts.dry_run:
                papers = follow_moved_sections(papers, moved)
        cpaths = {k: section_path(s) for s, k in section_map.items()}

        # only once Zotero said yes; a vault made in Obsidian first (no note in it yet, no
        # state) gets the template as a new one does: nothing there is replaced
        if not opts.dry_run and (
            not self.vault.exists() or (not papers and not self.vault.holds_notes())
        ):
            self.vault.ensure(from_template=True)
            self.state.remember_vault(self.vault.root)  # its folder's identity, now it exists
        changed = opts.changed_paths
        if changed is not None:  # the notes the state knows may have moved since its scan
            changed = changed | {p.note_path for p in papers.values() if p.note_path}
        scan = self._scan_vault(opts.show_progress, changed)
        if catalog is not None:  # the index notes' paths, before a note is read or written
            self.vault.register_sections(catalog.taxonomies)
        views = self._collect(catalog, scan, snap, cpaths, papers, opts.hold_vanished)
        total = len(views)
        if opts.changed_paths is not None and catalog is None:  # the daemon's incremental pass
            views = incremental.scope(
                views,
                zotero=self.zotero is not None,
                conflicted={c.pllm_id for c in self._open_conflicts},
            )
        decided = self._decide_all(list(views.values()), cpaths)
        decided.plan.collections_to_create = plan.collections_to_create
        decided.plan.warnings[:0] = plan.warnings  # the collections' own, said first
        plan = decided.plan
        guard: SafetyAbort | None = None
        try:
            self._guard_deletes(
                plan, total, daemon=opts.hold_vanished is not None, views=views, catalog=catalog
            )
        except SafetyAbort as stop:
            if not opts.dry_run:
                raise
            guard = stop  # a dry run lists what the guard counted (its advice says so)

        result = RunResult(
            plan=plan,
            dry_run=opts.dry_run,
            catalog_warnings=len(catalog.warnings) if catalog else 0,
            collected=True,
            guard=guard,
        )
        if opts.dry_run:
            return result
        self._guard_writable(plan)
        planned = plan.to_json(limit=JOURNAL_ACTIONS)  # the journal stays small
        command = "pull" if opts.pull_catalog else "sync"
        # A sync with nothing to do is not journalled: the daemon runs one every poll, and a
        # no-op must write nothing (the journal keeps the runs that did or planned something);
        # the notices of evicted notes, said every run while they are evicted, plan nothing.
        quiet = catalog is None and plan.empty and len(plan.warnings) == len(plan.evicted)
        run_id = None if quiet else self.state.start_run(command, planned)
        result.run_id = run_id
        try:
            self._apply(decided, catalog, snap, section_map, scan, result, opts)
            if refile and not result.errors:  # filed back (a failed write retries from the base)
                self._lost_save({s: k for s, k in lost.items() if s not in refile})
            if moved:  # the papers' state follows the collections now
                self.state.set_meta_map(MOVED_KEY, {})
        except BaseException as exc:  # an interrupt is recorded too, then re-raised
            self._scan_memo = None
            self.vault.discard_batch()  # notes never made durable: the next run writes them
            status = "failed" if isinstance(exc, Exception) else "aborted"
            if run_id is None:
                run_id = result.run_id = self.state.start_run(command, planned)
            self.state.finish_run(run_id, status, {**result.applied, "error": repr(exc)})
            raise
        if run_id is None and (result.errors or any(result.applied.values())):
            run_id = result.run_id = self.state.start_run(command, planned)
        if run_id is not None:
            self.state.finish_run(run_id, "ok" if not result.errors else "failed", result.applied)
        if mark is not None and settled.settles(
            plan,
            errors=len(result.errors) + len(result.saved_meanwhile),
            applied=any(result.applied.values()),
            snap=snap,
            zotero=self.zotero is not None,
            scan=scan,
            warned=settled.warnings_logged() != warnings_at_start,
        ):
            assert scan.placeholders is not None  # (``settles`` asks for a walk's scan)
            if self.vault.placeholders_alone(scan.placeholders):
                left = settled.Mark(mark, tuple(scan.placeholders), tuple(plan.evicted))
                self.state.set_settled(left.encode(), unchanged_since=changes_at_start)
        if self.zotero is not None:
            result.requests = self.zotero.request_count
        return result

    def _settle_key(self, opts: RunOptions) -> str | None:
        """The settled mark this run would leave or honour (see ``settled.py``); None for a
        run that never settles: a pull (it reads the catalog), the daemon's incremental pass
        (it scans only the named notes), the desktop's local API (no conditional read)."""
        if opts.pull_catalog or opts.changed_paths is not None:
            return None
        if self.zotero is not None and (self.lib is None or self.zotero.local):
            return None
        return settled.fingerprint(
            self.cfg,
            self.lib,
            zotero=self.zotero is not None,
            read_only=opts.zotero_read_only,
            vault_root=self.vault.root,
        )

    def _still_settled(
        self, placeholders: tuple[str, ...] = (), lean: bool = True
    ) -> tuple[bool, ZoteroSnapshot | None]:
        """Steps 3 of ``settled.py``: Zotero's one conditional read said nothing changed and
        the vault holds the files of the scan cache, unchanged, and the cloud placeholders
        ``placeholders`` (the mark's), each alone. The read is returned so a run that must
        decide after all does not ask again."""
        snap: ZoteroSnapshot | None = None
        if self.zotero is not None:
            assert self.lib is not None
            since = self.state.get_library_version(self.lib)
            if since is None:
                return False, None
            snap = self.zotero.read(since, expect_unchanged=lean)
            if not snap.unchanged:
                return False, snap
        return self.vault.unchanged_since(self.state.scan_cache_stats(), placeholders), snap

    def _zotero_unchanged(self) -> bool:
        if self.zotero is None or self.lib is None:
            return False
        since = self.state.get_library_version(self.lib)
        return since is not None and self.zotero.unchanged_since(since)

    # ------------------------------------------------------------------ section maps

    def _refile(
        self, papers: dict[str, PaperState], refiled: set[str], plan: Plan
    ) -> dict[str, PaperState]:
        """:func:`follow_moved_sections` for collections deleted in Zotero and made again
        in this run (``refiled``), with a warning naming each and how many papers it gets
        back."""
        counts: dict[str, int] = {}
        for st in papers.values():
            held = st.zotero_record or st.base
            for s in refiled & set(held.get("sections") or ()) if held is not None else ():
                counts[s] = counts.get(s, 0) + 1
        for s, n in sorted(counts.items()):
            plan.warnings.append(
                f"the Zotero collection of section {section_path(s)[-1]!r} was deleted; it "
                f"is back, and its {n} paper{'s' if n != 1 else ''} filed in it again (to drop "
                "a section for good, list it in the source's `exclude`)"
            )
        return follow_moved_sections(papers, dict.fromkeys(refiled))

    def _previous_roots(self, catalog: Catalog) -> dict[str, str]:
        """Each list's root name at the last pull (source name -> name): kept in the state
        by every pull, with or without Zotero; for a state from before that, read from the
        collection maps (the root collection by the list's slug, its section key by that
        collection's key)."""
        out: dict[str, str] = {}
        if self.lib is not None:
            known = self.state.get_collection_keys(self.lib)
            names = {k: s for s, k in self._section_map_load().items() if SECTION_SEP not in s}
            out = {
                src: names[known[t.slug]]
                for src, t in catalog.taxonomies.items()
                if t.path and t.slug in known and known[t.slug] in names
            }
        out.update({k: str(v) for k, v in self.state.get_meta_map(ROOTS_KEY).items()})
        return out

    def _beside(self, suffix: str) -> LibraryRef:
        """The state key of a map kept next to the library's slug map (``*_SUFFIX``)."""
        assert self.lib is not None
        return replace(self.lib, library_id=self.lib.library_id + suffix)

    def _lost_load(self) -> dict[str, str]:
        """Sections whose collection was deleted in Zotero, with that collection's key, kept
        until a run has filed their papers back into the collection made again."""
        return self.state.get_collection_keys(self._beside(LOST_SUFFIX))

    def _lost_save(self, lost: dict[str, str]) -> None:
        self.state.set_collection_keys(self._beside(LOST_SUFFIX), lost)

    def _section_map_load(self) -> dict[str, str]:
        return self.state.get_collection_keys(self._beside(SECTION_MAP_SUFFIX))

    def _section_map_save(self, smap: dict[str, str]) -> None:
        self.state.set_collection_keys(self._beside(SECTION_MAP_SUFFIX), smap)

    # ------------------------------------------------------------------ applying

    def _managed(self, v: PaperView, merged: Record) -> ManagedContent:
        paper = v.paper
        links: list[tuple[str, str]] = []
        prov: list[str] = []
        if paper is not None:
            for role, urls in paper.urls_by_role().items():
                links.extend((role, u) for u in urls)
            upstream = {s.name: s.url for s in self.cfg.catalog.sources if s.url}
            prov = [listed_in(s, upstream) for s in paper.sources]
        else:
            for role in ("url", "code"):
                if merged.get(role):
                    links.append(("paper" if role == "url" else "code", str(merged[role])))
        if merged.get("catalog") == "removed":
            prov.append("removed from the catalog")
        abstract = merged.get("abstract", paper and paper.abstract)
        return ManagedContent(abstract=abstract or None, links=links, provenance=prov)

    def _paper_for(self, v: PaperView, merged: Record) -> Paper:
        if v.paper is not None:
            return v.paper
        return Paper(
            id=v.pid,
            title=str(merged.get("title") or v.pid),
            method=merged.get("method"),
            year=merged.get("year"),
            url=merged.get("url"),
            code_url=merged.get("code"),
            ids=PaperIds(arxiv=merged.get("arxiv"), doi=merged.get("doi")),
            sections=tuple(section_path(s) for s in merged.get("sections", ())),
            authors=tuple(merged.get("authors") or ()),
        )

    def _collection_keys(self, merged: Record, section_map: dict[str, str]) -> list[str]:
        keys = [section_map[s] for s in sorted(merged.get("sections") or ()) if s in section_map]
        if not keys and self.lib is not None:
            root = self.state.get_collection_keys(self.lib).get("")  # "" = the root collection
            if root:
                keys = [root]
        return keys

    def _apply(
        self,
        decided: Decided,
        catalog: Catalog | None,
        snap: ZoteroSnapshot | None,
        section_map: dict[str, str],
        scan: VaultScan,
        result: RunResult,
        opts: RunOptions,
    ) -> None:
        try:
            self._apply_sides(decided, catalog, snap, section_map, scan, result, opts)
        except BaseException as exc:
            writes, self._zwrites = self._zwrites, None
            if writes is None:
                raise
            if not isinstance(exc, Exception):
                writes.cancel()  # the run stopped (an interrupt): no write after it
                raise
            # As when the writes came first: they finish, and their own error wins.
            error = writes.finish()
            if error is not None:
                raise error from None
            raise

    def _await_zotero(
        self, d: Decision, st: PaperState, creating: bool, zotero_done: Callable[[], None]
    ) -> None:
        """Before a paper's vault step, wait for what it needs of its Zotero writes (under
        way in the worker): nothing for a note trashed; a new item's key for its note (the
        same key the outcome sets below); the whole outcome for the rest (an update is not
        written when its Zotero side failed, a note is relinked to a new item)."""
        v, res = d.view, d.result
        if d.vault == "trash" or (d.vault is None and v.note is None):
            return
        if d.vault in ("create", "restore") and res is not None:
            if creating and self._zwrites is not None:
                landed, key = self._zwrites.key(v.pid)
                if not landed:
                    zotero_done()  # the writes stopped short: raises why
                elif key is not None:
                    st.zotero_key = key
            return
        zotero_done()

    def _apply_sides(
        self,
        decided: Decided,
        catalog: Catalog | None,
        snap: ZoteroSnapshot | None,
        section_map: dict[str, str],
        scan: VaultScan,
        result: RunResult,
        opts: RunOptions,
    ) -> None:
        applied = result.applied
        decisions = decided.decisions
        states: dict[str, PaperState] = {}
        for d in decisions:
            v = d.view
            st = PaperState(pllm_id=v.pid) if v.state is None else replace(v.state)
            # Re-learn where each copy lives from what was read: after a lost state (or an
            # item/note found again by its id) the stored keys and paths may be missing.
            if v.zitem is not None:
                st.zotero_key, st.zotero_version = str(v.zitem["key"]), v.zitem.get("version")
                note = zmap.find_pllm_note(v.zchildren, st.zotero_note_key)
                if note is not None:
                    st.zotero_note_key, st.zotero_note_version = (
                        str(note["key"]),
                        note.get("version"),
                    )
            if v.note is not None:
                st.note_path, st.note_size = v.note.path, v.note.size
                st.note_mtime_ns, st.note_sha256 = v.note.mtime_ns, v.note.sha256
            states[v.pid] = st

        # 1. Zotero, in batches; a paper's base only moves once its writes landed.
        # ``zheld``: the papers whose failure may heal by retrying (a conflict, a lock, the
        # network, an item not found); they hold the library version back so the next run
        # reads their items again. A refusal of the object itself (400, 413) will not heal:
        # the paper keeps its pending change and its error, and the library moves on.
        zfailed: set[str] = set()
        zheld: set[str] = set()
        zskipped: set[str] = set()  # read-only or vault-only: Zotero writes not made
        zpending: set[str] = set()  # papers whose Zotero writes are under way (``_zwrites``)
        zcreating: set[str] = set()  # ... among them, the papers being created
        if self.zotero is None:
            # A vault-only run (``--zotero off``, no library connected): what an item in
            # Zotero should get stays pending, so the base of those fields does not move and
            # Zotero is not recorded as holding them. Such a run once moved both, so the next
            # run with Zotero took the item's older values for a change made there and wrote
            # them over the user's edits (or, reading only the change feed, never sent them).
            # A paper with no item has nothing there to protect: its base follows the vault
            # (the first run with Zotero creates the item from it).
            zskipped = {d.view.pid for d in decisions if _waits_for_zotero(d)}
            if zskipped:
                applied["zotero.waiting"] = len(zskipped)
        elif opts.zotero_read_only:
            zskipped = {d.view.pid for d in decisions if d.zotero or d.retire_zotero}
            zskipped |= {
                d.view.pid for d in decisions if d.result is not None and d.result.to_zotero
            }
            if zskipped:
                applied["zotero.withheld"] = len(zskipped)
        else:
            zfailed = set(self._unfound)
            zplan = self._plan_zotero(
                [d for d in decisions if d.view.pid not in zfailed], states, section_map
            )
            # A new paper's note needs only its item's key, which the client makes: while
            # Zotero answers the batches (a worker thread), the notes are rendered and staged
            # below. What needs the whole outcome waits for it (``zotero_done``).
            self._zwrites = ZoteroWrites(self.zotero, zplan, background=bool(zplan.creates))
            zpending, zcreating = zplan.papers(), {e.paper.id for e in zplan.creates}
        errors_at = len(result.errors)
        adopted: dict[str, dict[str, Any]] = {}  # pid -> the data of the item it adopted

        def zotero_done() -> None:
            """Wait for the Zotero writes and take in their outcome (re-raises their error)."""
            writes = self._zwrites
            if writes is not None:
                failed, held = self._zotero_outcome(
                    writes, states, applied, result, errors_at, adopted
                )
                self._zwrites = None  # only now: a Ctrl-C while waiting still cancels them
                zfailed.update(failed)
                zheld.update(held, self._unfound)

        if self._zwrites is not None and not zcreating:
            zotero_done()  # made inline (nothing to overlap): taken in at once

        # 2. Vault, note by note. A paper whose Zotero write failed gets no note update this
        # run: its base did not move, so writing one side only would make the next run see
        # a user edit that never happened. New and updated notes are staged and made durable
        # together (written and fsynced by worker threads, one fsync per folder) before the
        # state commit below; an update whose note the user saved meanwhile is not written.
        vfailed: set[str] = set()
        counted: set[str] = set()  # papers counted in ``applied`` as a note written
        trash_refused: set[str] = set()  # notes saved as the run was to move them to the trash
        # how many notes this run writes: a pull's thousands are written as a large batch
        # from the first (one flush of the filesystem, no fsync each)
        self.vault.begin_batch(
            sum(1 for d in decisions if d.vault in ("create", "update", "restore"))
        )
        for d in progress(decisions, "vault", enabled=opts.show_progress):
            v, res = d.view, d.result
            st = states[v.pid]
            if v.pid in zpending and self._zwrites is not None:
                self._await_zotero(d, st, v.pid in zcreating, zotero_done)
            if v.pid in zfailed and d.vault == "update":
                continue
            for twin in d.trash_notes:  # before the paper's note takes the twin's id
                try:
                    dest = self.vault.trash_note(twin)
                except NoteChangedMeanwhile:  # kept: the next run sees it as a copy
                    result.saved_meanwhile.append(twin.path)
                    continue
                except VaultError as exc:
                    result.errors.append(f"vault {exc}")
                    continue
                applied["vault.trash"] = applied.get("vault.trash", 0) + 1
                result.plan.warnings.append(
                    f"{v.pid}: its empty twin note {twin.path} moved to {dest}; move it back "
                    "only if it held something you need"
                )
            try:
                if d.vault == "trash" and v.note is not None:
                    dest = self.vault.trash_note(v.note)
                    st.note_path = None
                    applied["vault.trash"] = applied.get("vault.trash", 0) + 1
                    # named, with the way back: a note hidden in the trash folder (Obsidian
                    # does not show it) with only a count said once left a user searching
                    if v.zotero_gone == "deleted":  # emptied from the trash: no restore there
                        why, back = "was deleted from Zotero", "move it back to keep the paper"
                    else:
                        why = "is in Zotero's trash"
                        back = "move it back (or restore the item) to bring the paper back"
                    result.plan.warnings.append(
                        f"{v.pid}: its item {why}, so its note {v.note.path} moved to {dest}; "
                        f"{back}"
                    )
                elif d.vault == "restore" and res is not None:
                    info = self._restore_note(d, st)
                    applied["vault.restore"] = applied.get("vault.restore", 0) + 1
                elif d.vault in ("create", "update") and res is not None:
                    info = self._write_note(d, st)
                    if info is not None:
                        applied[f"vault.{d.vault}"] = applied.get(f"vault.{d.vault}", 0) + 1
                        counted.add(v.pid)
                elif (
                    v.note is not None
                    and st.zotero_key
                    and v.note.zotero_key != st.zotero_key
                    and v.pid not in zfailed
                ):  # the item is new in this library (a switched library): relink the note
                    info = self.vault.update_note(v.note, {}, zotero_key=st.zotero_key)
                    if info is not None:
                        st.note_path, st.note_size, st.note_mtime_ns = (
                            info.path,
                            info.size,
                            info.mtime_ns,
                        )
                        st.note_sha256 = info.sha256
            except SafetyAbort:  # the vault itself went away: stop, write nothing more
                raise
            except NoteChangedMeanwhile:  # the user's save wins; the next run reads it first
                vfailed.add(v.pid)
                result.saved_meanwhile.append(v.note.path if v.note else v.pid)
                if d.vault == "trash" and d.retire_zotero:
                    # the note stays, edited: its item's trash is not settled either, and the
                    # library is read again from here, so the next run sees the trashed item
                    # beside the edit (modify beats delete) instead of a retired side
                    trash_refused.add(v.pid)
                    zheld.add(v.pid)
            except Exception as exc:  # one bad note must not stop the others
                vfailed.add(v.pid)
                where, msg = (v.note.path if v.note else v.pid), str(exc)
                # (a vault error names the note itself: not "vault X: X: ...")
                result.errors.append(f"vault {msg if msg.startswith(where) else f'{where}: {msg}'}")
                log.error("vault: %s: %s", v.pid, exc)
        zotero_done()  # the vault's batch is committed only once Zotero's outcome is known
        refused = self.vault.commit_batch()
        for d in decisions if refused else ():
            v = d.view
            if v.note is not None and v.note.path in refused:
                vfailed.add(v.pid)  # as the scan read it: the next run reads the edit first
                st = states[v.pid]
                st.note_size, st.note_mtime_ns = v.note.size, v.note.mtime_ns
                st.note_sha256 = v.note.sha256
                result.saved_meanwhile.append(v.note.path)
                if v.pid in counted and d.vault in ("create", "update"):  # not written after all
                    applied[f"vault.{d.vault}"] -= 1

        # 3. Commit: what each side now holds always; the base only where every write landed.
        owed = self._owed_renames()
        owed_before = dict(owed)
        owed_dups = self._owed_duplicates()
        owed_dups_before = {k: list(v) for k, v in owed_dups.items()}
        open_pids = {c.pllm_id for c in self._open_conflicts}
        puts: list[PaperState] = []
        with self.state.transaction(large=True):
            for d in decisions:
                v, res = d.view, d.result
                st = states[v.pid]
                zok = v.pid not in zfailed and v.pid not in zskipped
                if d.retire_zotero and zok and v.pid not in trash_refused:
                    # the key stays: an item restored from the trash (or a note that comes
                    # back) is recognised, and its item restored rather than created anew
                    st.zotero_retired, st.zotero_record = True, None
                elif d.zotero in ("create", "restore", "update") or v.zrecord is not None:
                    if d.zotero != "restore" or zok:  # a restore not made: still trashed
                        st.zotero_retired = False
                    st.zotero_record = self._zotero_now(d, zok)
                if d.retire_vault and v.pid not in vfailed:
                    st.vault_retired, st.note_path = True, None
                elif st.zotero_retired and v.state is not None and v.state.vault_retired:
                    # a note back for an item still in Zotero's trash is taken back only
                    # with its item (rule 3); taken back alone, the next run saw a known,
                    # unchanged note and left the item in the trash for good
                    st.vault_retired, st.note_path = True, None
                elif v.note is not None or d.vault in ("create", "restore"):
                    st.vault_retired = False
                if (
                    res is None
                    and d.retire_zotero
                    and d.retire_vault
                    and v.catalog is not None
                    and st.catalog_base is None
                ):
                    # retired with nothing else known (an item found only in Zotero's
                    # trash after a lost state): the list's record names the paper, so a
                    # later id change is followed (not a second item and note)
                    st.catalog_base = v.catalog
                vok = v.pid not in vfailed and not (v.pid in zfailed and d.vault == "update")
                if res is not None and not (zok and vok):
                    st.base = self._landed_base(st.base, res, zok, vok)
                if res is not None and zok and vok:
                    st.base = complete_record(res.merged)
                    if v.pid in adopted:
                        st.zotero_record, st.base = adopted_sides(res.merged, adopted[v.pid])
                if res is not None and vok and v.pid not in zfailed:
                    # also when Zotero's writes were withheld on purpose (vault-only,
                    # read-only): the list's change is in the vault now, and a pending base
                    # makes Zotero's share of it pending too. Kept back, the old catalog base
                    # made the list's change look new again at the next pull, after the
                    # user's edit of that field had been agreed: the edit was reverted.
                    if v.catalog is not None:
                        st.catalog_base = v.catalog
                        st.tombstone = v.catalog.get("catalog") == "removed"
                    for c in res.conflicts:  # open ones and notes kept both (marked)
                        known = any(
                            o.pllm_id == v.pid and o.field == c.field for o in self._open_conflicts
                        )
                        self.state.add_conflict(v.pid, c.field, c.base, c.zotero, c.vault)
                        if not known:
                            applied["conflicts.new"] = applied.get("conflicts.new", 0) + 1
                    if res.conflicts or v.pid in open_pids:  # no query for the rest
                        self.state.resolve_stale_conflicts(v.pid, listed_fields(res))
                puts.append(st)
                if self.zotero is None and v.duplicate_items:
                    keys = {str(x.zitem.get("key")) for x in v.duplicate_items}
                    owed_dups[v.pid] = sorted(keys | set(owed_dups.get(v.pid, ())))
                elif self.zotero is not None and v.pid not in zfailed and v.pid not in zskipped:
                    owed_dups.pop(v.pid, None)  # read and decided (trashed, or kept and named)
                if st.zotero_retired or not st.zotero_key:
                    owed.pop(v.pid, None)  # no item to tell
                elif v.renamed_from and v.renamed_from != v.pid:
                    # the item learns the new id from this run's write; until one lands
                    # (a run without Zotero, a failed write) the rename stays owed to it
                    if d.zotero in ("update", "restore") and zok:
                        owed.pop(v.pid, None)
                    elif (first := owed.pop(v.renamed_from, v.renamed_from)) != v.pid:
                        owed[v.pid] = first  # (renamed away and back: the item holds it)
                    else:
                        owed.pop(v.pid, None)
                if v.renamed_from and v.renamed_from != v.pid:
                    self.state.put_papers(puts)  # in order: the row may be the renamed one
                    puts.clear()
                    self.state.delete_paper(v.renamed_from)  # identity followed the paper
            self.state.put_papers(puts)  # one statement for the rest
            if owed != owed_before:
                self.state.set_meta_map(OWED_RENAMES_KEY, owed)
            if owed_dups != owed_dups_before:
                self.state.set_meta_map(OWED_DUPLICATES_KEY, owed_dups)
            if snap is not None and self.lib is not None and not zheld:
                lv = self.zotero.library_version if self.zotero else None
                self.state.set_library_version(self.lib, lv or snap.library_version)
            self._save_scan(scan)

        # 4. Index notes, rewritten only when their text changes.
        if catalog is not None:
            members: dict[tuple[str, ...], list[str]] = {}
            order = {p.id: i for i, p in enumerate(catalog.papers)}
            for d in sorted(
                decisions, key=lambda d: (order.get(d.view.pid, len(order)), d.view.pid)
            ):
                st = states[d.view.pid]
                if d.result is None or not st.note_path:
                    continue
                name = st.note_path.rsplit("/", 1)[-1].removesuffix(".md")
                for s in d.result.merged.get("sections") or ():
                    members.setdefault(section_path(s), []).append(name)
            n = self.vault.write_index_notes(catalog.taxonomies, members)
            applied["vault.index"] = n

    @staticmethod
    def _landed_base(base: Record | None, res: MergeResult, zok: bool, vok: bool) -> Record | None:
        """The base after a run where one side's writes failed: a field moves to its merged
        value when both sides now hold it (it needed no write on the failed side).

        Without this, the tool's own write that landed on one side (say, the vault's edit
        carried to Zotero) would be taken next run for that side's user edit, and clash with
        the user's newer edit of the other side (a spurious conflict, or under
        ``conflict: zotero`` the newer edit reverted)."""
        out: Record = dict(base) if base is not None else {}
        moved = False
        for name, value in res.merged.items():
            if name in res.open_fields:
                continue
            landed = (zok or name not in res.to_zotero) and (vok or name not in res.to_vault)
            if landed and out.get(name, _UNSET) != value:
                out[name], moved = value, True
        if base is None and not moved:
            return None
        return out

    def _restore_note(self, d: Decision, st: PaperState) -> NoteInfo | None:
        """Bring a note back for an item restored from Zotero's trash: the copy in the vault's
        trash folder when it is there (the user's text and layout), else a new note."""
        v, res = d.view, d.result
        assert res is not None
        note = self.vault.restore_trashed(v.pid, st.note_path)
        if note is None:
            return self._write_note(replace(d, vault="create"), st)
        restored = replace(d.view, note=note)
        # What the user changed in the copy while it lay in the trash (text added, a status
        # set) stays: only the fields it still holds as last synced take the run's values.
        # The whole record was written over it, and those edits were lost everywhere. The
        # base moves to what was written, so the next run sends the kept edits to Zotero.
        base = st.base or {}
        kept = {
            f: val
            for f, val in res.to_vault.items()
            if f not in note.record or same_or_empty(note.record.get(f), base.get(f))
        }
        res = replace(res, to_vault=kept)
        return self._write_note(replace(d, view=restored, vault="update", result=res), st)

    def _save_scan(self, scan: VaultScan) -> None:
        """Save only the scan-cache rows that changed (a no-op run writes none)."""
        upserts, gone = scan.cache_changes(self._cached_paths)
        entries = [
            ScanEntry(
                relpath=rel,
                size=stat.size,
                mtime_ns=stat.mtime_ns,
                sha256=stat.sha256,
                pllm_id=stat.pllm_id,
                record=stat.as_dict(),
                ctime_ns=stat.ctime_ns,
            )
            for rel, stat in upserts.items()
        ]
        if gone:
            self.state.delete_scan_cache(*gone)
        if entries:
            self.state.put_scan_cache(*entries)
        self._scan_memo = dict(scan.stats)
        self._cached_paths = self._scan_memo.keys()

    def _write_note(self, d: Decision, st: PaperState) -> NoteInfo | None:
        """Create or update the paper's note; the note written, or None when an update had
        nothing to change."""
        v, res = d.view, d.result
        assert res is not None
        conflict = bool(listed_fields(res))
        managed = self._managed(v, res.merged) if v.paper is not None or v.note is None else None
        if d.vault == "create" or v.note is None:
            info = self.vault.create_note(
                self._paper_for(v, res.merged),
                res.merged,
                zotero_key=st.zotero_key,
                managed=managed,
            )
            if conflict:
                info = self.vault.update_note(info, {}, conflict_flag=True) or info
        elif v.note is None:
            raise AssertionError("unreachable")
        else:
            changed = self.vault.update_note(
                v.note,
                dict(res.to_vault),
                zotero_key=st.zotero_key,
                managed=managed,
                conflict_flag=conflict,
                pllm_id=v.pid if v.user_added == "vault" or v.renamed_from else None,
            )
            info = changed if changed is not None else v.note
        st.note_path, st.note_size, st.note_mtime_ns = info.path, info.size, info.mtime_ns
        st.note_sha256 = info.sha256
        # None for an update that found the note holding its text already (another device's
        # run wrote the same bytes, and the cloud brought them): not counted as written
        return None if v.note is not None and info is v.note else info

    @staticmethod
    def _zotero_now(d: Decision, ok: bool) -> Record | None:
        """The record the Zotero item holds after this run's writes (or before, if they
        failed): what an item absent from the next change feed is known to hold."""
        v, res = d.view, d.result
        if res is None or not ok:
            return (
                v.zrecord if v.zrecord is not None else (v.state.zotero_record if v.state else None)
            )
        if d.zotero in ("create", "restore"):
            return complete_record(d.restore_fields or res.merged)
        if v.zrecord is None:
            return None
        held = dict(v.zrecord)
        held.update({k: val for k, val in res.to_zotero.items()})
        return complete_record(held)

    def _hydrate(self, need: list[Decision]) -> set[str]:
        """Fetch the current data of items the change feed did not return (unchanged in
        Zotero) but that this run must write, 50 keys per request; returns ids whose item
        could not be found (they are retried next run; a restore creates the item anew)."""
        assert self.zotero is not None
        keys: list[str] = []
        for d in need:
            st = d.view.state
            assert st is not None
            keys.append(str(st.zotero_key))
            if st.zotero_note_key:
                keys.append(st.zotero_note_key)
        rows = self.zotero.fetch_items(keys)
        by_parent: dict[str, list[dict[str, Any]]] = {}
        for row in rows.values():
            if row.get("parentItem"):
                by_parent.setdefault(str(row["parentItem"]), []).append(row)
        missing: set[str] = set()
        for d in need:
            st = d.view.state
            assert st is not None
            data = rows.get(str(st.zotero_key))
            if data is None:
                if d.zotero != "restore":
                    missing.add(d.view.pid)
                continue
            d.view.zitem = data
            if data.get("deleted"):
                d.view.zotero_gone = d.view.zotero_gone or "trashed"
            kids = by_parent.get(str(st.zotero_key), [])
            res = d.result
            if d.zotero in ("trash", "restore") or (res is not None and "code" in res.to_zotero):
                # a trash must see every child (modify beats delete covers the user's PDFs
                # and child notes); a restore and a code link rewrite their own children
                kids = self.zotero.fetch_children(str(st.zotero_key))
            d.view.zchildren = kids
            d.view.z_user_children = has_user_children(kids, st)
            d.view.z_note_rich = notes_rich(kids, st)
        return missing

    def _plan_zotero(
        self,
        decisions: list[Decision],
        states: dict[str, PaperState],
        section_map: dict[str, str],
    ) -> ZoteroPlan:
        """Every Zotero write of the run, by kind (nothing is sent yet)."""
        cpaths = {k: section_path(s) for s, k in section_map.items()}
        zplan = ZoteroPlan()
        creates, updates, notes = zplan.creates, zplan.updates, zplan.notes
        trash, owner = zplan.trash, zplan.owner  # owner: object key (item or child) -> pllm id
        for d in decisions:
            v, res = d.view, d.result
            for dup_key in d.trash_duplicates:  # their data is in this paper's writes
                trash.append(dup_key)
                owner[dup_key] = v.pid
            for dup in d.release_duplicates:  # another item now: no longer ours
                dup_key = str(dup.zitem["key"])
                owner[dup_key] = v.pid
                version = int(dup.zitem["version"])
                extra = zmap.without_our_lines(str(dup.zitem.get("extra") or ""))
                updates.append(
                    ItemChange(
                        key=dup_key,
                        version=version,
                        data={"key": dup_key, "version": version, "extra": extra},
                        base=dup.zitem,
                        label=str(dup.zrecord.get("title") or dup_key),
                    )
                )
            if d.zotero == "trash" and v.zitem is not None:
                trash.append(v.zitem["key"])
                owner[v.zitem["key"]] = v.pid
                continue
            # the item's pllm-code line follows its Code attachment (written with the item's
            # other changes, or alone)
            stale_code = (
                zmap.stale_code_line(v.zitem, v.zchildren)
                if v.zitem is not None and not v.zotero_gone
                else None
            )
            if res is None or (d.zotero is None and stale_code is None):
                continue
            if d.zotero == "create" or (d.zotero == "restore" and v.zitem is None):
                creates.append(
                    NewItem(
                        paper=self._paper_for(v, res.merged),
                        record=res.merged,
                        collection_keys=self._collection_keys(res.merged, section_map),
                        notes_md=res.merged.get("notes") or "",
                    )
                )
                continue
            assert v.zitem is not None
            key = str(v.zitem["key"])
            owner[key] = v.pid
            fields = (
                {}
                if d.zotero is None
                else dict(
                    (d.restore_fields or res.merged) if d.zotero == "restore" else res.to_zotero
                )
            )
            item_fields = {k: val for k, val in fields.items() if k != "notes"}
            if stale_code is not None:
                item_fields.setdefault("code", stale_code)
            data = zmap.record_to_item_changes(
                item_fields,
                v.zitem,
                collection_paths=cpaths,
                paper=v.paper,
                pllm_id=v.pid if v.user_added == "zotero" or v.renamed_from else None,
            )
            if d.zotero == "restore":
                data = {**data, "key": key, "version": v.zitem["version"], "deleted": 0}
            if data:
                updates.append(
                    ItemChange(
                        key=key,
                        version=int(v.zitem["version"]),
                        data=data,
                        base=v.zitem,
                        label=v.title,
                    )
                )
            st = states[v.pid]
            kids: list[dict[str, Any]] = []
            if "code" in fields:
                kids = zmap.child_changes(
                    {"code": fields["code"]}, key, v.zchildren, make_key=zmap.new_key
                )
            if v.paper is not None and {"abstract", "authors"} & set(fields):
                kids += zmap.pdf_changes(v.paper.pdf_url, key, v.zchildren, make_key=zmap.new_key)
            for child in kids:
                owner[str(child["key"])] = v.pid
                updates.append(
                    ItemChange(
                        key=str(child["key"]),
                        version=int(child.get("version") or 0),
                        data=child,
                        label=f"{v.title} ({str(child.get('title') or 'code').lower()} link)",
                    )
                )
            if "notes" in fields:
                note = zmap.find_pllm_note(v.zchildren, st.zotero_note_key)
                notes.append(
                    NoteUpsert(
                        parent_key=key,
                        note_key=str(note["key"]) if note else None,
                        note_version=int(note["version"]) if note else None,
                        markdown=str(fields["notes"] or ""),
                        base_html=str(note.get("note") or "") if note else None,
                    )
                )
        return zplan

    def _zotero_outcome(
        self,
        writes: ZoteroWrites,
        states: dict[str, PaperState],
        applied: dict[str, int],
        result: RunResult,
        errors_at: int,
        adopted: dict[str, dict[str, Any]],
    ) -> tuple[set[str], set[str]]:
        """Wait for ``writes`` and take in their reports (as they were made inline: counts
        and errors ahead of the vault's); the ids that failed and those that may heal by
        retrying. Re-raises the exception that stopped the writes, after taking in the
        reports made before it."""
        error = writes.finish()
        zplan, reps = writes.plan, writes.reports
        creates, owner = zplan.creates, zplan.owner
        vault_counts = {k: applied.pop(k) for k in list(applied) if k.startswith("vault.")}
        vault_errors = result.errors[errors_at:]
        del result.errors[errors_at:]
        failed: set[str] = set()
        held: set[str] = set()
        if reps.creates is not None:
            rep = reps.creates
            for pid, w in rep.results.items():
                if pid not in states:
                    continue
                states[pid].zotero_key, states[pid].zotero_version = w.key, w.version
                if "note" in w.children:
                    states[pid].zotero_note_key = w.children["note"][0]
                    states[pid].zotero_note_version = w.children["note"][1]
                applied[f"zotero.{w.action}"] = applied.get(f"zotero.{w.action}", 0) + 1
                if w.action == "adopted" and w.data is not None:
                    adopted[pid] = w.data
            self._failed_ids(rep.failures, owner, failed, held, creates)
            result.errors.extend(str(f) for f in rep.failures)
        if reps.updates is not None:
            rep = reps.updates
            for key, w in rep.results.items():
                upid = owner.get(key)
                if upid and states[upid].zotero_key == key:
                    states[upid].zotero_version = w.version
            n = sum(1 for w in rep.results.values() if w.action != "unchanged")
            applied["zotero.update"] = applied.get("zotero.update", 0) + n
            self._failed_ids(rep.failures, owner, failed, held)
            result.errors.extend(str(f) for f in rep.failures)
        if reps.notes is not None:
            rep = reps.notes
            for key, w in rep.results.items():
                npid = owner.get(str(w.ref)) if w.ref else None
                if npid:
                    states[npid].zotero_note_key = key
                    states[npid].zotero_note_version = w.version
            applied["zotero.notes"] = applied.get("zotero.notes", 0) + len(rep.results)
            self._failed_ids(rep.failures, owner, failed, held)
            result.errors.extend(str(f) for f in rep.failures)
        if reps.trash is not None:
            rep = reps.trash
            applied["zotero.trash"] = applied.get("zotero.trash", 0) + len(rep.results)
            self._failed_ids(rep.failures, owner, failed, held)
            result.errors.extend(str(f) for f in rep.failures)
        for k, n in vault_counts.items():
            applied[k] = applied.get(k, 0) + n
        result.errors.extend(vault_errors)
        if error is not None:
            raise error
        return failed, held

    @staticmethod
    def _retryable(f: Any) -> bool:
        """Whether a write failure may heal by running again. 400 and 413 refuse the object
        itself (an unknown field, a value too long): the same write fails every run, so
        holding the library version back for it would re-read the feed forever. A child
        refused because its parent was refused follows the parent."""
        if f.code in (400, 413):
            return False
        return not (f.code == 409 and str(f.message).startswith("not written because its parent"))

    @classmethod
    def _failed_ids(
        cls,
        failures: Iterable[Any],
        owner: dict[str, str],
        failed: set[str],
        held: set[str],
        creates: list[NewItem] | None = None,
    ) -> None:
        """Add the ids of the papers ``failures`` belong to to ``failed``, and to ``held``
        when the failure may heal by retrying (an unowned one holds the whole run back)."""
        for f in failures:
            pid: str | None = None
            for ref in (f.ref, f.key):
                if ref and ref in owner:
                    pid = owner[ref]
                elif ref and creates and any(c.paper.id == ref for c in creates):
                    pid = ref
                if pid is not None:
                    break
            if pid is not None:
                failed.add(pid)
            if cls._retryable(f):
                held.add(pid if pid is not None else "")
