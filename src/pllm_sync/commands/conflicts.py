"""``pllm-sync conflicts [resolve ID --take zotero|vault]``.

Resolving a field conflict marks the losing side's value as the base, so the next sync sees
only the chosen side as changed and carries its value over. A notes conflict cannot work that
way (both sides may already hold the same text with both versions marked, so there is no
"changed side"): the chosen text is written into the note, the base is set to what Zotero
holds, and the sync carries the note's text to Zotero. A rich Zotero note (images,
annotations) cannot take the vault's text: that choice is refused with a message, and the
conflict stays open.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import PllmSyncError
from .hints import suggest


class UnknownConflict(PllmSyncError):
    """``conflicts resolve`` named a conflict that is not open: a bad command line."""

    exit_code = 2


def register(sub: Any) -> None:
    p = sub.add_parser("conflicts", help="list conflicts, or resolve one")
    p.add_argument("--json", action="store_true", help="print the conflicts as JSON on stdout")
    p.add_argument("--all", action="store_true", help="include resolved conflicts")
    p.set_defaults(func=run)
    sp = p.add_subparsers(dest="action")
    r = sp.add_parser("resolve", help="pick the side whose value wins for one conflict")
    r.add_argument("id", type=int, help="the conflict's number, as `pllm-sync conflicts` lists it")
    r.add_argument(
        "--take",
        choices=("zotero", "vault"),
        required=True,
        help="the side whose value wins",
    )
    r.add_argument(
        "--no-sync", action="store_true", help="only record the choice; the next sync applies it"
    )
    r.add_argument(
        "--zotero",
        choices=("config", "sandbox", "off"),
        default="config",
        help="the library the follow-up sync uses (as for `pllm-sync sync`)",
    )
    r.set_defaults(func=run)


def _show(v: Any) -> str:
    """A value on one line of the listing: a text of several lines (notes) is indented
    under its side's label, so ``vault:`` does not land in the middle of Zotero's text."""
    if isinstance(v, list | tuple | set | frozenset):
        return ", ".join(sorted(map(str, v)))
    text = "" if v is None else str(v)
    if "\n" in text:
        lines = text.splitlines()
        shown = lines[:8] + ([f"... ({len(lines) - 8} more lines)"] if len(lines) > 8 else [])
        return "".join(f"\n      | {line}" for line in shown)
    return text if len(text) < 70 else text[:67] + "..."


def _is_notes(path: Any, conflict_id: int) -> bool:
    from ..sync.state import StateDB

    with StateDB.open(path) as st:
        row = st.get_conflict(conflict_id)
    return row is not None and row.open and row.field == "notes"


def _resolve_notes(args: argparse.Namespace) -> int:
    """Write the chosen notes text to the note, make Zotero's text the base, then sync."""
    from ..runtime import open_runtime
    from ..zotero.notes_html import has_rich_content

    mode = None if args.zotero == "config" else args.zotero
    with open_runtime(args.config, zotero_mode=mode) as rt:
        st = rt.state
        row = st.get_conflict(args.id)
        paper = st.get_paper(row.pllm_id) if row else None
        if row is None or paper is None:
            raise PllmSyncError(f"no open conflict with id {args.id}")
        key = paper.zotero_note_key
        if args.take == "vault" and rt.zotero is not None and key:
            html = str(rt.zotero.fetch_items([key]).get(key, {}).get("note") or "")
            if has_rich_content(html):
                raise PllmSyncError(
                    f"conflict {args.id} ({row.pllm_id} notes): the Zotero note holds "
                    "images, annotations or formatting that markdown cannot carry, so the "
                    "vault's text cannot replace it; nothing was changed",
                    hint="edit the notes in Zotero (or remove that content there), or run "
                    f"`pllm-sync conflicts resolve {args.id} --take zotero`",
                )
        chosen = str((row.zotero if args.take == "zotero" else row.vault) or "")
        if paper.note_path:
            note = rt.vault.read_note(paper.note_path)
            rt.vault.update_note(note, {"notes": chosen}, conflict_flag=False)
        held = (paper.zotero_record or paper.base or {}).get("notes", "")
        with st.transaction():
            paper.base = {**(paper.base or {}), "notes": held}
            st.put_paper(paper)
            st.resolve_conflict(row.id, f"take-{args.take}")
    print(f"conflict {args.id} ({row.pllm_id} notes): {args.take} wins; the note now holds it")
    if args.no_sync:
        print("run `pllm-sync sync` to carry it to Zotero")
        return 0
    from .pull import run_sync

    ns = argparse.Namespace(
        config=args.config, dry_run=False, json=False, zotero=args.zotero, no_progress=True
    )
    code = run_sync(ns)
    with open_runtime(args.config, zotero_mode="off") as rt:
        again = [
            c
            for c in rt.state.list_conflicts(open_only=True)
            if c.pllm_id == row.pllm_id and c.field == "notes"
        ]
    if again:
        print(
            f"error: the notes of {row.pllm_id} are still in conflict after the sync; "
            "see `pllm-sync conflicts`",
            file=sys.stderr,
        )
        return 1
    return code


def run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..sync.state import StateDB, default_state_path

    cfg = load_config(args.config)
    path = default_state_path(cfg)
    if not path.exists():
        if getattr(args, "action", None) == "resolve":
            raise UnknownConflict(
                f"no open conflict with id {args.id}: no sync has run yet",
                hint="run `pllm-sync sync` first",
            )
        print("no sync has run yet: no conflicts")
        return 0
    if getattr(args, "action", None) == "resolve" and _is_notes(path, args.id):
        return _resolve_notes(args)
    if getattr(args, "action", None) == "resolve":
        with StateDB.open(path) as st:
            row = st.get_conflict(args.id)
            if row is None or not row.open:
                raise UnknownConflict(
                    f"no open conflict with id {args.id}",
                    hint="run `pllm-sync conflicts` to list open conflicts",
                )
            paper = st.get_paper(row.pllm_id)
            loser = row.vault if args.take == "zotero" else row.zotero
            with st.transaction():
                if paper is not None and paper.base is not None:
                    paper.base = {**paper.base, row.field: loser}
                    st.put_paper(paper)
                st.resolve_conflict(row.id, f"take-{args.take}")
        print(f"conflict {args.id} ({row.pllm_id} {row.field}): {args.take} wins")
        if args.take == "zotero" and args.zotero == "off" and not args.no_sync:
            print("Zotero's value reaches the vault at the next run with Zotero")
        if args.no_sync:
            print(f"run `{suggest(args, 'sync')}` to carry the value over")
            return 0
        from .pull import run_sync

        ns = argparse.Namespace(
            config=args.config, dry_run=False, json=False, zotero=args.zotero, no_progress=True
        )
        return run_sync(ns)
    with StateDB.open(path) as st:
        rows = st.list_conflicts(open_only=not args.all)
        papers = {r.pllm_id: st.get_paper(r.pllm_id) for r in rows}
    if args.json:
        import json

        json.dump(
            [
                {
                    "id": r.id,
                    "paper": r.pllm_id,
                    "field": r.field,
                    "base": r.base,
                    "zotero": r.zotero,
                    "vault": r.vault,
                    "open": r.open,
                    "resolution": r.resolution,
                }
                for r in rows
            ],
            sys.stdout,
            indent=2,
            default=lambda o: sorted(o) if isinstance(o, frozenset | set) else str(o),
        )
        print()
        return 0
    if not rows:
        print("no open conflicts")
        return 0
    for r in rows:
        p = papers.get(r.pllm_id)
        where = f" ({p.note_path})" if p and p.note_path else ""
        print(
            f"#{r.id} {r.pllm_id}{where} field {r.field}"
            + ("" if r.open else f" [resolved: {r.resolution}]")
        )
        for label, value in (("zotero: ", r.zotero), ("vault:  ", r.vault)):
            shown = _show(value)
            print(f"    {label.rstrip() if shown.startswith(chr(10)) else label}{shown}")
    print(f"resolve with: `{suggest(args, 'conflicts resolve ID --take zotero|vault')}`")
    return 0
