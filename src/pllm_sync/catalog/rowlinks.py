"""From the links of one row to the entry's paper URL, code URL, other links and ids.

Shared by the table and bullet parsers so both styles pick the primary link the same way:
the first ``paper`` link is the paper URL; failing that, the first link to a paper host;
the first ``code`` link is the code URL unless it just repeats the paper URL (upstream
``[Code](same arXiv PDF)``); everything else keeps its role.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Link, PaperIds
from .identity import ids_from_links
from .links import FoundLink, is_paper_url, to_links


@dataclass(frozen=True)
class RowLinks:
    url: str | None
    code_url: str | None
    others: tuple[Link, ...]
    ids: PaperIds
    problems: tuple[str, ...]


def assemble(found: list[FoundLink]) -> RowLinks:
    links = to_links(found)
    # Plain loops, not next(genexpr): this runs once per entry.
    url = code_url = None
    for lk in links:
        if lk.role == "paper":
            url = lk.url
            break
    if url is None:
        for lk in links:
            if lk.role != "code" and is_paper_url(lk.url):
                url = lk.url
                break
    for lk in links:
        if lk.role == "code" and lk.url != url:
            code_url = lk.url
            break
    others = tuple(lk for lk in links if lk.url not in (url, code_url))
    noted = [f.problem for f in found if f.problem and "space" not in f.problem]
    problems = tuple(dict.fromkeys(noted)) if noted else ()
    ids_source = [Link("paper", url)] if url else []
    return RowLinks(url, code_url, others, ids_from_links([*ids_source, *links]), problems)
