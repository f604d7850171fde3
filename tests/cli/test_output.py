"""What people read: help for every command and option, a README table that matches
`--help`, counts in words with the right plurals."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from pllm_sync.cli import build_parser
from pllm_sync.commands.output import applied_summary, catalog_summary
from pllm_sync.model import CatalogWarning

README = Path(__file__).resolve().parents[2] / "README.md"


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def all_commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    found = {prefix: parser}
    for name, sub in subparsers(parser).items():
        found.update(all_commands(sub, (*prefix, name)))
    return found


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, parser in all_commands(build_parser()).items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if not choice.help:
                        missing.append(f"{' '.join(path)} {choice.dest}")
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{' '.join(path)} {action.dest}")
    assert not missing, missing


def readme_rows() -> list[str]:
    text = README.read_text(encoding="utf-8")
    table = text.split("## Commands", 1)[1].split("\n\n", 2)[1]
    return re.findall(r"^\| `pllm-sync ([^`]+)` \|", table, re.M)


def test_readme_command_table_matches_help() -> None:
    commands = all_commands(build_parser())
    rows = readme_rows()
    assert rows
    documented = set()
    forms = [form for row in rows for form in row.split(" \\| ")]  # `a \| b`: two forms
    for row in forms:
        words = row.replace("\\|", "|").replace("[", " ").replace("]", " ").split()
        path: tuple[str, ...] = ()
        while words and (*path, words[0]) in commands:
            path = (*path, words.pop(0))
        assert path, f"README row names no command: {row}"
        documented.add(path)
        options = {
            o for a in commands[path]._actions for o in a.option_strings if o.startswith("--")
        }
        for opt in re.findall(r"--[a-z][a-z-]*", row):
            assert opt in options, f"README: `{row}` shows {opt}, not in --help"
    for command in commands:
        if command:
            assert any(d[: len(command)] == command for d in documented), (
                f"`pllm-sync {' '.join(command)}` is missing in the README command table"
            )


@pytest.mark.parametrize(
    ("applied", "text"),
    [
        ({}, "nothing to change"),
        ({"vault.create": 0}, "nothing to change"),
        ({"vault.create": 1}, "1 note created"),
        (
            {"vault.create": 2, "zotero.created": 1, "vault.index": 3},
            "2 notes created, 3 index notes written, 1 Zotero item created",
        ),
        ({"vault.trash": 1}, "1 note moved to the vault trash"),
        ({"zotero.mystery": 4}, "4 zotero.mystery"),
        ({"conflicts.new": 1}, "1 conflict opened (see `pllm-sync conflicts`)"),
        ({"zotero.waiting": 2}, "2 papers with changes waiting for Zotero (vault-only run)"),
    ],
)
def test_applied_summary(applied: dict[str, int], text: str) -> None:
    assert applied_summary(applied) == text


def test_every_zotero_write_outcome_is_said_in_words() -> None:
    """Found by the Zotero helper: an item taken over on a first pull printed as
    "1 zotero.adopted". Every outcome a write can report (``Written.action``) has words."""
    actions = [a.strip() for a in _actions_doc().split("|")]
    assert "adopted" in actions
    for action in actions:
        said = applied_summary({f"zotero.{action}": 2})
        assert "zotero." not in said and said.startswith("2 Zotero items "), (action, said)


def _actions_doc() -> str:
    """The values ``Written.action`` takes, as the docstring under it names them."""
    import ast
    from pathlib import Path

    from pllm_sync.zotero import store

    tree = ast.parse(Path(store.__file__).read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Written")
    for i, node in enumerate(cls.body):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "action":
            doc = cls.body[i + 1]
            assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
            return str(doc.value.value)
    raise AssertionError("Written.action has no doc naming its values")


def w(message: str) -> CatalogWarning:
    return CatalogWarning("list", 3, message)


@pytest.mark.parametrize(
    ("warnings", "text"),
    [
        ([], ""),
        ([w("entry has no title; skipped")], "1 unreadable entry skipped"),
        (
            [
                w("empty table row; skipped"),
                w("line is 5000 characters long; not read as an entry"),
                w("listed twice in the same section (also at line 2)"),
                w(
                    "arXiv id 1 is also used by a different paper at x:1 ('A'); kept as separate papers"
                ),
                w("badge image without a link; using the image URL as the link"),
            ],
            "2 unreadable entries skipped, 2 duplicates or clashing ids, "
            "1 entry read with a repair",
        ),
    ],
)
def test_catalog_summary_counts_unreadable_and_duplicates_apart(
    warnings: list[CatalogWarning], text: str
) -> None:
    assert catalog_summary(warnings) == text


def test_dry_run_values_read_without_python_reprs() -> None:
    from pllm_sync.sync.plan import FieldChange, cut_title

    assert FieldChange("status", None, "read").render() == '    status: (empty) -> "read"'
    assert FieldChange("tags", [], ["a", "b"]).render() == "    tags: (empty) -> a, b"
    assert FieldChange("rating", 2, 5).render() == "    rating: 2 -> 5"
    long = "A Survey of Personalized Large Language Models: Progress and Future Directions"
    assert cut_title(long) == "A Survey of Personalized Large Language Models: Progress and Future…"
    assert cut_title("Short") == "Short"
