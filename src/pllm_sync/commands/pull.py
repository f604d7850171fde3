"""``pllm-sync pull`` (catalog -> Zotero + vault, then the two-way pass) and ``pllm-sync sync``
(the two-way pass only)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ConflictsPending, SafetyAbort
from .hints import announce_new_vault, plural, suggest

if TYPE_CHECKING:  # the catalog stack loads only when a command runs (`--help` stays fast)
    from pathlib import Path

    from ..model import Catalog
    from ..runtime import Runtime
    from ..sync.plan import Action

if TYPE_CHECKING:
    from ..config import Config


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (creates, updates, conflicts per side) and change nothing",
    )
    p.add_argument("--json", action="store_true", help="print the plan/result as JSON on stdout")
    p.add_argument(
        "--zotero",
        choices=("config", "sandbox", "off"),
        default="config",
        help="config (default): the library in the config, or the sandbox once chosen and "
        "until `pllm-sync init` connects a library; sandbox: a persistent local library "
        "served by the bundled emulator, to try pllm-sync offline; off: vault only",
    )
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "pull", help="import the catalog into Zotero and the vault, then sync both ways"
    )
    _add_common(p)
    p.set_defaults(func=run_pull)
    s = sub.add_parser("sync", help="sync Zotero and the vault both ways (no catalog fetch)")
    _add_common(s)
    s.set_defaults(func=run_sync)


def run_pull(args: argparse.Namespace) -> int:
    return _run(args, pull_catalog=True)


def run_sync(args: argparse.Namespace) -> int:
    return _run(args, pull_catalog=False)


def catalog_loader(
    cfg: Config, *, refresh: bool = False, force: bool = False, show: bool | None = None
) -> Callable[..., Catalog]:
    """The catalog loader for a run: enriched with metadata unless that is switched off.
    Built on its first call, so a sync (which reads no catalog) never imports the catalog
    reader or the metadata services."""
    built: list[Callable[..., Catalog]] = []

    def load(*args: Any, **kwargs: Any) -> Catalog:
        if not built:
            from ..catalog import load_catalog

            if not (force or cfg.metadata.active):
                built.append(load_catalog)
            else:
                from ..metadata.loader import enriching_loader

                built.append(enriching_loader(cfg.metadata, refresh=refresh, show=show))
        return built[0](*args, **kwargs)

    return load


class _Probed(NamedTuple):
    """What the settled probe found, and what it read on the way: the run that follows
    takes the same config and key rather than loading the config and asking the keyring
    again (``None`` where the probe did not get that far)."""

    outcome: str
    not_before: float = 0.0
    config: Config | None = None
    api_key: str | None = None


def _settled_probe(args: argparse.Namespace) -> _Probed:
    """A plain ``sync`` first asks whether it is settled (``sync/settled.py``) with only the
    config, the state, the vault walk and Zotero's one conditional request -- before the
    engine, the Zotero client and the rest of the runtime are loaded, which cost a settled
    run more than its own work. Done as the full run does each step (same state, key, lock,
    mark, walk and request, so the same errors in the same order); anything but a Zotero Web
    API user library in place, or any other answer than "settled", goes the full way.
    Its outcome is ``settled`` (and has said so, the evicted notes' notices too), ``asked`` (Zotero answered other than 304: the
    engine asks through its client without the lean request again, not before the time that
    comes with it) or ``unsettled``."""
    from ..config import load_config
    from ..credentials import get_api_key
    from ..sandbox import sandbox_chosen
    from ..sync.settled import probe
    from ..sync.state import LibraryRef, StateDB, default_state_path
    from .output import applied_summary

    cfg = load_config(args.config)
    z = cfg.zotero
    if not z.configured or z.local or z.library_type != "user" or sandbox_chosen(cfg):
        return _Probed("unsettled", config=cfg)  # vault only, the desktop, a group, the sandbox
    path = default_state_path(cfg)
    if not path.exists() or not cfg.vault.path.is_dir():
        return _Probed("unsettled", config=cfg)
    with StateDB.open(path) as state:
        api_key = get_api_key(z.library_type, str(z.library_id))
        lib = LibraryRef.from_config(z)
        state.bind_library(lib)
        state.acquire_lock("sync")
        try:
            outcome, not_before, notices = probe(cfg, state, lib, api_key or "")
        finally:
            state.release_lock()
    if outcome == "settled":  # said as the full run says it (``_run``)
        print(f"done: {applied_summary({})}; vault at {cfg.vault.path.resolve()}")
        for w in notices:  # the notes evicted to the cloud, left alone
            print(f"warning: {w}", file=sys.stderr)
    return _Probed(outcome, not_before, cfg, api_key)


def _run(
    args: argparse.Namespace, *, pull_catalog: bool, refresh: bool = False, force: bool = False
) -> int:
    probed = _Probed("unsettled")
    if not (pull_catalog or args.dry_run or args.json) and args.zotero == "config":
        probed = _settled_probe(args)
        if probed.outcome == "settled":
            return 0
    asked, not_before = probed.outcome == "asked", probed.not_before
    from ..runtime import one_shot_gc, open_runtime
    from ..sandbox import remember_sandbox
    from ..sync.engine import RunOptions, SyncEngine
    from .output import applied_summary, catalog_summary, saved_meanwhile_summary

    mode = None if args.zotero == "config" else args.zotero
    with open_runtime(
        args.config, zotero_mode=mode, config=probed.config, api_key=probed.api_key
    ) as rt:
        if not_before and rt.zotero is not None:  # the probe's answer asked for a pause
            rt.zotero.http.backoff.defer(not_before - time.monotonic())
        if rt.zotero is None and args.zotero != "off" and not args.json:
            print(
                "Zotero is not connected: syncing the vault only. Run "
                f"`{suggest(args, 'init')}` to connect your library, or try "
                f"`{suggest(args, 'pull --zotero sandbox')}`.",
                file=sys.stderr,
            )
        known = rt.state.paper_counts()["total"]
        announce_new_vault(
            rt.vault.root,
            dry_run=args.dry_run,
            quiet=args.json,
            known_papers=known,
            configured=rt.config.path is not None,
        )
        state_lock = f"{'pull' if pull_catalog else 'sync'}"
        rt.state.acquire_lock(state_lock)
        started = time.time()
        # news only after a first import ran to its end (see ``pull_completed``)
        had_papers = pull_catalog and known > 0 and rt.state.pull_completed()
        try:
            show = None if not args.no_progress else False
            catalogs: list[Catalog] = []
            load = catalog_loader(rt.config, refresh=refresh, force=force, show=show)

            def loader(*a: Any, **kw: Any) -> Catalog:
                catalogs.append(load(*a, **kw))  # kept for the summary below
                return catalogs[-1]

            engine = SyncEngine(
                rt.config,
                rt.state,
                rt.vault,
                rt.zotero,
                catalog_loader=loader,
                library_ref=rt.library_ref,
            )
            read_only = mirror_only(rt, quiet=args.json)
            with one_shot_gc():
                result = engine.run(
                    RunOptions(
                        pull_catalog=pull_catalog,
                        dry_run=args.dry_run,
                        show_progress=show,
                        zotero_read_only=read_only,
                        zotero_asked=asked,
                    )
                )
            if not args.dry_run and not result.settled:
                # litter of a killed run (older than this one, which holds the lock); a
                # settled run skips the walk: no run since the mark left anything to clean
                # that a later full run will not
                rt.vault.clean_temp_files(started)
        finally:
            rt.state.release_lock()
        if rt.sandbox_url and args.zotero == "sandbox" and not args.dry_run:
            remember_sandbox(rt.config)
        digest = None
        if pull_catalog and catalogs and had_papers and not args.dry_run:
            digest = record_whats_new(rt, catalogs[-1], result.plan.actions)
        if args.json:
            import json

            json.dump(result.to_json(), sys.stdout, indent=2, ensure_ascii=False, default=str)
            print()
        elif args.dry_run:
            print(result.plan.render())
        else:
            done = applied_summary(result.applied)
            if result.errors:
                print(
                    f"finished with {plural(len(result.errors), 'failed write')} (listed on "
                    f"stderr; the next run retries them); applied: {done}"
                )
            else:
                print(f"done: {done}; vault at {rt.vault.root.resolve()}")
            if digest is not None:
                count, path = digest
                print(f"what's new: {plural(count, 'new paper')}, listed in {path}")
            summary = catalog_summary(catalogs[-1].warnings) if catalogs else ""
            if summary:
                print(
                    f"catalog: {summary}; `{suggest(args, 'catalog')}` lists them with their "
                    "line numbers",
                    file=sys.stderr,
                )
            if rt.sandbox_url:
                print(
                    "Zotero: the sandbox library (kept in the pllm-sync data dir; "
                    f"`{suggest(args, 'status')}` shows where). Plain `sync`, `watch` and "
                    f"`conflicts` use it too; `{suggest(args, 'sandbox serve')}` lets any "
                    f"Zotero API client browse it; `{suggest(args, 'init')}` connects your "
                    "own library."
                )
        if not args.dry_run and not args.json:
            for w in result.plan.warnings:
                print(f"warning: {w}", file=sys.stderr)
            if result.saved_meanwhile:
                print(
                    f"warning: {saved_meanwhile_summary(result.saved_meanwhile)}", file=sys.stderr
                )
        for err in result.errors:
            print(f"error: {err}", file=sys.stderr)
        if result.errors:
            return 1
        if result.guard is not None:  # a dry run: the deletions are listed above
            raise SafetyAbort(
                f"{result.guard.message}: a run without --dry-run stops here",
                hint="the papers it counted are listed above (trash: moved to the trash; "
                "tombstone: left the catalog, to be marked removed). If every one is intended, "
                "raise sync.max_delete / sync.max_delete_percent for one run; if not, bring the "
                "notes or items back (or wait until the list is whole again) first",
            )
        if result.plan.conflicts:
            count = len(result.plan.conflicts)
            n = plural(count, "conflict")
            raise ConflictsPending(
                f"{n} would need a decision"
                if args.dry_run
                else f"{n} {'needs' if count == 1 else 'need'} a decision; both sides were kept",
                hint="run `pllm-sync conflicts` to see and resolve them"
                if not args.dry_run
                else "run without --dry-run, then `pllm-sync conflicts`",
            )
        still_open = 0 if args.dry_run else rt.state.count_open_conflicts()
        if still_open:
            # a notes conflict is found once (the note then holds both texts) and stays
            # open until resolved: every run says so, as a field conflict's run does, so a
            # script or cron job that checks for exit 7 does not miss it
            n = plural(still_open, "conflict")
            raise ConflictsPending(
                f"{n} found before {'is' if still_open == 1 else 'are'} still open",
                hint="run `pllm-sync conflicts` to see and resolve them",
            )
        return 0


def record_whats_new(
    rt: Runtime, catalog: Catalog, actions: list[Action]
) -> tuple[int, Path] | None:
    """Add the papers this pull brought (notes created for catalog papers) to the vault's
    "What's new" note; None when there were none or the digest is turned off."""
    if not rt.config.vault.whats_new:
        return None
    papers = catalog.by_id()
    roots = {root.path[0]: source for source, root in catalog.taxonomies.items() if root.path}
    upstream = {s.name: s.url for s in rt.config.catalog.sources if s.url}
    from ..vault.digest import NewPaper, add_to_digest
    from ..vault.provenance import upstream_line_url

    entries: list[NewPaper] = []
    for action in actions:
        paper = papers.get(action.pid)
        if action.side != "vault" or action.kind != "create" or paper is None:
            continue
        st = rt.state.get_paper(action.pid)
        if st is None or not st.note_path:
            continue  # the write failed: listed on stderr, retried next run
        note = st.note_path.removesuffix(".md")
        lines = {ref.source: ref.line for ref in paper.sources}
        for path in paper.sections or ((),):
            source = roots.get(path[0]) if path else None
            source = source or (paper.sources[0].source if paper.sources else "catalog")
            line = lines.get(source)
            url = upstream_line_url(upstream.get(source), line) if line else None
            entries.append(NewPaper(paper.title, note, source, " / ".join(path[1:]), url))
    if not entries:
        return None
    import datetime as dt

    day = dt.date.today().isoformat()
    where = add_to_digest(rt.vault.root, day, entries)
    return (len({e.note for e in entries}), where) if where else None


def mirror_only(rt: Runtime, *, quiet: bool = False) -> bool:
    """A group library the key may only read is mirrored into the vault one way (said once
    per run); a user library that cannot be written stays an error (fix the key)."""
    zot = rt.zotero
    if zot is None or rt.config.zotero.library_type != "group":
        return False
    zot.check_access(write=False)  # a wrong key or library: the usual clear error first
    if zot.writable():
        return False
    if not quiet:
        print(
            f"your key may only read group library {rt.config.zotero.library_id}: mirroring "
            "it into the vault one way; edits you make in the vault stay in the vault",
            file=sys.stderr,
        )
    return True
