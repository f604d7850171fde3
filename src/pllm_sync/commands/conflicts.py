"""``pllm-sync conflicts [resolve ID --take zotero|vault]``.

Resolving marks the losing side's value as the base, so the next sync sees only the chosen
side as changed and carries its value over; nothing is written until that sync runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import PllmSyncError
from .hints import suggest


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
    if isinstance(v, list | tuple | set | frozenset):
        return ", ".join(sorted(map(str, v)))
    text = "" if v is None else str(v)
    return text if len(text) < 70 else text[:67] + "..."


def run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..sync.state import StateDB, default_state_path

    cfg = load_config(args.config)
    path = default_state_path(cfg)
    if not path.exists():
        print("no sync has run yet: no conflicts")
        return 0
    if getattr(args, "action", None) == "resolve":
        with StateDB.open(path) as st:
            row = st.get_conflict(args.id)
            if row is None or not row.open:
                raise PllmSyncError(
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
        print(f"    zotero: {_show(r.zotero)}")
        print(f"    vault:  {_show(r.vault)}")
    print(f"resolve with: `{suggest(args, 'conflicts resolve ID --take zotero|vault')}`")
    return 0
