"""Catalog parse cost: both default lists and synthetic lists 10x and 100x longer; every
entry shape the reader knows at 100, 1,000 and 10,000 entries; the real lists in
tests/data/lists; the share of markdown-it's block pass in a parse.

Run: ``python benchmarks/bench_catalog.py``. Prints, per list and scale, the number of
entries, the best-of-N time of ``parse_document`` and of ``build_catalog``, and the time
per entry. Linear parsing shows as a flat per-entry time from 1x to 100x.

The synthetic lists keep each list's structure and repeat every entry line k times with a
unique arXiv id and title, so neither the memo caches nor dedup make copies cheaper.
Caches are cleared before every timed run: the figures are cold parses.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable
from functools import partial
from importlib import resources

from pllm_sync.catalog import build_catalog, identity, links, markdown_text, parse_document, venues

_ARXIV = re.compile(r"\d{4}\.\d{4,5}")
# Paper links that carry a non-arXiv id (or none): replaced by a unique arXiv link per copy.
_OTHER_PAPER = re.compile(
    r"https?://(?:aclanthology\.org|openreview\.net|neurips\.cc|iclr\.cc|ieeexplore\.ieee\.org"
    r"|dl\.acm\.org|dlnext\.acm\.org|proceedings\.neurips\.cc|ojs\.aaai\.org)[^)\s]*"
)


def clear_caches() -> None:
    for fn in (
        markdown_text.strip_markdown,
        venues.parse_venue,
        links.role_for,
        links._label_letters,
        links._label_role,
        identity.ids_from_url,
    ):
        fn.cache_clear()


def best_of(n: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(n):
        clear_caches()
        gc.collect()  # do not charge this run for the previous run's garbage
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def scaled(text: str, source: str, k: int) -> str:
    """The list with every entry line repeated k times (unique id and title per copy)."""
    if k == 1:
        return text
    doc = parse_document(text, source)
    titles = {e.line: e.title for e in doc.entries}
    out: list[str] = []
    serial = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        if lineno not in titles:
            out.append(line)
            continue
        title = titles[lineno]
        for j in range(k):
            serial += 1
            new_id = f"29{serial // 100000 % 100:02d}.{serial % 100000:05d}"
            copy = _OTHER_PAPER.sub(f"https://arxiv.org/abs/{new_id}", line)
            copy = _ARXIV.sub(new_id, copy)
            if title in copy:
                copy = copy.replace(title, f"{title} copy {j}", 1)
            out.append(copy)
    return "\n".join(out)


def _aid(i: int) -> str:
    return f"28{i // 100000 % 100:02d}.{i % 100000:05d}"


SHAPES: dict[str, Callable[[int], str]] = {
    "md table, link columns": lambda i: (
        f"| 🔥[M{i}] Table Paper {i} about things(@Org) | ACL 2024 | 2024-05 | "
        f"[[pdf]](https://arxiv.org/pdf/{_aid(i)}) | [![Star](https://img.shields.io/github/"
        f"stars/o/r{i}.svg)](https://github.com/o/r{i}) |"
    ),
    "html table row per line": lambda i: (
        f'<tr><td><a href="https://arxiv.org/abs/{_aid(i)}">Html Paper {i} about things</a>'
        f'</td><td>NeurIPS 2023</td><td><a href="https://github.com/o/r{i}">'
        '<img src="https://img.shields.io/badge/code-x" alt="Code"></a></td></tr>'
    ),
    "html table multi-line": lambda i: (
        f'  <tr>\n    <td>\n      <a href="https://arxiv.org/abs/{_aid(i)}">Spread Paper {i}'
        "</a>\n    </td>\n    <td>ICLR 2024</td>\n  </tr>"
    ),
    "bullets with tags": lambda i: (
        f"- [2023/10] **Bullet Paper {i} about things** *Ann Poe et al. arXiv.* "
        f"[[paper](https://arxiv.org/abs/{_aid(i)})] [[code](https://github.com/o/r{i})]"
    ),
    "numbered multi-line": lambda i: (
        f"{i % 900 + 1}. **Numbered Paper {i} about things**\n   *Jane Doe, John Roe.* "
        f"ACL 2024.\n   [[paper](https://arxiv.org/abs/{_aid(i)})]"
    ),
    "sub-bullets": lambda i: (
        f"- [Sub Paper {i} about things](https://arxiv.org/abs/{_aid(i)})\n"
        "  - Authors: Carl Fox, Dana Wu\n  - Venue: NeurIPS 2023\n  - TL;DR: short."
    ),
    "paragraphs": lambda i: (
        f"[**Paragraph Paper {i} about things**](https://arxiv.org/abs/{_aid(i)})\n"
        f"[![Code](https://img.shields.io/badge/Code-x)](https://github.com/o/r{i})\n"
    ),
    "heading per paper": lambda i: (
        f"### {i % 900 + 1}. [Heading Paper {i} about things](https://arxiv.org/abs/{_aid(i)})"
        "\nA one-line summary of the paper.\n"
    ),
}
_PROLOGUE = {
    "md table, link columns": "| Title | Venue | Date | Paper | Code |\n| --- | --- | --- | --- | --- |",
    "html table row per line": "<table>\n<tr><th>Title</th><th>Venue</th><th>Code</th></tr>",
    "html table multi-line": "<table>\n  <tr><th>Title</th><th>Venue</th></tr>",
}
_EPILOGUE = {"html table row per line": "</table>", "html table multi-line": "</table>"}


def shape_doc(shape: str, n: int) -> str:
    body = [SHAPES[shape](i) for i in range(n)]
    sep = "\n\n" if shape == "paragraphs" else "\n"
    return "\n".join(
        [
            "# Shape",
            "## Section",
            _PROLOGUE.get(shape, ""),
            sep.join(body),
            _EPILOGUE.get(shape, ""),
        ]
    )


def shapes() -> None:
    print(f"\n{'shape':<26}{'entries':>9}{'parse ms':>10}{'us/entry':>10}")
    for shape in SHAPES:
        for n in (100, 1_000, 10_000):
            text = shape_doc(shape, n)
            got = len(parse_document(text, "shape").entries)
            assert got == n, (shape, n, got)
            t = best_of(5 if n < 10_000 else 3, partial(parse_document, text, "shape"))
            print(f"{shape:<26}{n:>9}{t * 1e3:>10.1f}{t / n * 1e6:>10.1f}")


def real_lists() -> None:
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "tests" / "data" / "lists"
    print(f"\n{'real list':<48}{'KB':>6}{'entries':>9}{'parse ms':>10}{'us/entry':>10}")
    for p in sorted(folder.glob("*__*.md")):
        text = p.read_text(encoding="utf-8")
        n = len(parse_document(text, p.stem).entries)
        t = best_of(3, partial(parse_document, text, p.stem))
        print(f"{p.stem[:47]:<48}{len(text) // 1024:>6}{n:>9}{t * 1e3:>10.1f}{t / n * 1e6:>10.1f}")


def _parse_all(texts: list[str]) -> None:
    for x in texts:
        parse_document(x, "s")


def _blocks_all(texts: list[str]) -> None:
    from pllm_sync.catalog.blocks import read_blocks
    from pllm_sync.catalog.parser import _split_lines

    for x in texts:
        read_blocks(_split_lines(x))


def token_share() -> None:
    """How much of a parse is markdown-it's block pass (``catalog.blocks.read_blocks``):
    the block structure comes from its token stream (issue 10), the rest is the line reader.
    Both timed in one process, interleaved, so machine load hits both alike."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "tests" / "data" / "lists"
    groups: list[tuple[str, list[str]]] = []
    for source in ("jiahongliu21", "vanillacreamer"):
        base = resources.files("pllm_sync").joinpath("data", "catalogs", f"{source}.md")
        groups.append((f"{source} 10x", [scaled(base.read_text(encoding="utf-8"), source, 10)]))
    groups.append(
        ("28 real lists", [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*__*.md"))])
    )
    print(f"\n{'text':<22}{'parse ms':>10}{'blocks ms':>11}{'share':>7}")
    for name, texts in groups:
        t_parse = best_of(5, partial(_parse_all, texts))
        t_blocks = best_of(5, partial(_blocks_all, texts))
        print(f"{name:<22}{t_parse * 1e3:>10.1f}{t_blocks * 1e3:>11.1f}{t_blocks / t_parse:>7.0%}")


def main() -> None:
    print(
        f"{'list':<16}{'scale':>6}{'entries':>9}{'parse ms':>10}{'us/entry':>10}"
        f"{'build ms':>10}{'us/entry':>10}"
    )
    for source in ("jiahongliu21", "vanillacreamer"):
        base = resources.files("pllm_sync").joinpath("data", "catalogs", f"{source}.md")
        text = base.read_text(encoding="utf-8")
        for k in (1, 10, 100):
            big = scaled(text, source, k)
            doc = parse_document(big, source)
            n = len(doc.entries)
            runs = 7 if k < 100 else 3
            t_parse = best_of(runs, partial(parse_document, big, source))
            t_build = best_of(runs, partial(build_catalog, [doc]))
            print(
                f"{source:<16}{k:>5}x{n:>9}{t_parse * 1e3:>10.1f}{t_parse / n * 1e6:>10.1f}"
                f"{t_build * 1e3:>10.1f}{t_build / n * 1e6:>10.1f}"
            )
    a = resources.files("pllm_sync").joinpath("data", "catalogs", "jiahongliu21.md")
    b = resources.files("pllm_sync").joinpath("data", "catalogs", "vanillacreamer.md")
    ta, tb = a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")
    t_both = best_of(
        5,
        lambda: build_catalog(
            [parse_document(ta, "jiahongliu21"), parse_document(tb, "vanillacreamer")]
        ),
    )
    print(f"both default lists, parse + build: {t_both * 1e3:.1f} ms")
    token_share()
    shapes()
    real_lists()


if __name__ == "__main__":
    main()
