"""``keep_roots``: each list keeps the root name it had, whatever the config's order."""

from __future__ import annotations

import pytest

from pllm_sync.catalog.loader import build_catalog
from pllm_sync.catalog.parser import parse_document
from pllm_sync.catalog.selection import keep_roots
from pllm_sync.model import Catalog


def _doc(source: str, title: str, n: int) -> str:
    return (
        f"# {title}\n\n## Benchmarks\n\n"
        f"- **[2024 ICLR]** Paper {n} From {source}. ([Paper](https://arxiv.org/abs/2404.0000{n}))\n"
    )


def _catalog(*lists: tuple[str, str]) -> Catalog:
    docs = [parse_document(_doc(s, t, i + 1), s) for i, (s, t) in enumerate(lists)]
    return build_catalog(docs)


def _roots(cat: Catalog) -> dict[str, str]:
    return {s: t.name for s, t in cat.taxonomies.items()}


AP = "Awesome Personalization"


@pytest.mark.parametrize(
    ("order", "previous", "expected"),
    [
        # no earlier run: the config's order decides
        (("a", "b"), {}, {"a": AP, "b": f"{AP} (b)"}),
        # the config reordered: the last run's names stay
        (("b", "a"), {"a": AP, "b": f"{AP} (b)"}, {"a": AP, "b": f"{AP} (b)"}),
        # a list added first in the config takes the suffix, the known one keeps its name
        (("b", "a"), {"a": AP}, {"a": AP, "b": f"{AP} (b)"}),
        # the first list removed: the other keeps its suffixed name
        (("b",), {"a": AP, "b": f"{AP} (b)"}, {"b": f"{AP} (b)"}),
        # a name that is not one of the list's any more (its title changed) is not kept
        (("a", "b"), {"a": "Old Title", "b": f"{AP} (b)"}, {"a": AP, "b": f"{AP} (b)"}),
        # two lists claiming one name (a state from before this rule): the config's order
        (("b", "a"), {"a": AP, "b": AP}, {"b": AP, "a": f"{AP} (a)"}),
    ],
)
def test_each_list_keeps_the_root_it_had(
    order: tuple[str, ...], previous: dict[str, str], expected: dict[str, str]
) -> None:
    cat = keep_roots(_catalog(*((s, AP) for s in order)), previous)
    assert _roots(cat) == expected
    # papers and every section node follow their list's root
    for p in cat.papers:
        (src,) = {ref.source for ref in p.sources}
        assert {path[0] for path in p.sections} == {expected[src]}
    for src, tax in cat.taxonomies.items():
        assert all(node.path[0] == expected[src] for node in tax.walk())
        assert tax.slug == src  # identity (the slug) never moves


def test_lists_of_different_titles_are_left_as_they_are() -> None:
    cat = _catalog(("a", "One"), ("b", "Two"))
    assert keep_roots(cat, {"a": "One", "b": "Two"}) is cat
