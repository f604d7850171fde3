"""Venue normalisation: the spellings seen over both lists' history."""

from __future__ import annotations

import pytest

from pllm_sync.catalog import parse_venue
from pllm_sync.catalog.venues import parse_tag
from pllm_sync.model import VenueKind

C, J, P, W, OTHER, U = (
    VenueKind.CONFERENCE,
    VenueKind.JOURNAL,
    VenueKind.PREPRINT,
    VenueKind.WORKSHOP,
    VenueKind.OTHER,
    VenueKind.UNKNOWN,
)

# raw -> (name, year, kind, findings, note, label)
CASES: list[tuple[str, tuple[str | None, int | None, VenueKind, bool, str | None, str]]] = [
    ("EMNLP'23 Findings", ("EMNLP", 2023, C, True, None, "EMNLP 2023 Findings")),
    ("ACL'25 Findings", ("ACL", 2025, C, True, None, "ACL 2025 Findings")),
    ("ACL Findings'25", ("ACL", 2025, C, True, None, "ACL 2025 Findings")),
    ("NAACL'25 Findings", ("NAACL", 2025, C, True, None, "NAACL 2025 Findings")),
    (
        "CustomNLP4U@  EMNLP'24",
        ("CustomNLP4U@EMNLP", 2024, W, False, None, "CustomNLP4U@EMNLP 2024"),
    ),
    ("FL4NLP @  ACL'22", ("FL4NLP@ACL", 2022, W, False, None, "FL4NLP@ACL 2022")),
    ("SENTIRE@   ICDM'24", ("SENTIRE@ICDM", 2024, W, False, None, "SENTIRE@ICDM 2024")),
    ("SENTIRE@   ICMD'24", ("SENTIRE@ICDM", 2024, W, False, None, "SENTIRE@ICDM 2024")),
    ("PERSONALIZE@   ACL'24", ("PERSONALIZE@ACL", 2024, W, False, None, "PERSONALIZE@ACL 2024")),
    ("GenAIRecP@  KDD'24", ("GenAIRecP@KDD", 2024, W, False, None, "GenAIRecP@KDD 2024")),
    ("WWW '24", ("WWW", 2024, C, False, None, "WWW 2024")),
    ("WebConf'24", ("WWW", 2024, C, False, None, "WWW 2024")),
    ("WWW'25", ("WWW", 2025, C, False, None, "WWW 2025")),
    ("arXiv'23", ("arXiv", 2023, P, False, None, "arXiv 2023")),
    ("Arxiv'24", ("arXiv", 2024, P, False, None, "arXiv 2024")),
    ("arXiv'26", ("arXiv", 2026, P, False, None, "arXiv 2026")),
    ("NuerIPS'23", ("NeurIPS", 2023, C, False, None, "NeurIPS 2023")),
    ("NuerIPSd'23", ("NeurIPS", 2023, C, False, None, "NeurIPS 2023")),
    ("(arXiv'24) <br> ICLR'25", ("ICLR", 2025, C, False, None, "ICLR 2025")),
    ("ICLR'26 (Arxiv'25)", ("ICLR", 2026, C, False, None, "ICLR 2026")),
    ("(Arxiv'25) ICLR'26", ("ICLR", 2026, C, False, None, "ICLR 2026")),
    ("Arxiv'25, EMNLP Findings'25", ("EMNLP", 2025, C, True, None, "EMNLP 2025 Findings")),
    ("(Arxiv'25) ACL Findings'25", ("ACL", 2025, C, True, None, "ACL 2025 Findings")),
    ("NeurIPS'24 (Best Paper)", ("NeurIPS", 2024, C, False, "Best Paper", "NeurIPS 2024")),
    ("NeurIPS'24 Best Paper Award", ("NeurIPS", 2024, C, False, "Best Paper", "NeurIPS 2024")),
    ("NeurIPS'24 (Spotlight)", ("NeurIPS", 2024, C, False, "Spotlight", "NeurIPS 2024")),
    ("TMLR(09/2025), Journal Submissions", ("TMLR", 2025, J, False, None, "TMLR 2025")),
    ("TMLR'24", ("TMLR", 2024, J, False, None, "TMLR 2024")),
    ("(Arxiv'25) IEEE TMC", ("IEEE TMC", None, J, False, None, "IEEE TMC")),
    ("(Arxiv'25) IEEE TMC'26", ("IEEE TMC", 2026, J, False, None, "IEEE TMC 2026")),
    ("ACL Workshop'24", ("ACL Workshop", 2024, W, False, None, "ACL Workshop 2024")),
    ("(Arxiv'24) ACL Workshop'25", ("ACL Workshop", 2025, W, False, None, "ACL Workshop 2025")),
    (
        "Arxiv'23, NeurIPS Workshop'23",
        ("NeurIPS Workshop", 2023, W, False, None, "NeurIPS Workshop 2023"),
    ),
    ("NeurIPS'23 Workshop", ("NeurIPS Workshop", 2023, W, False, None, "NeurIPS Workshop 2023")),
    ("(Arxiv'25) EMNLP Demo'25", ("EMNLP", 2025, C, False, "Demo", "EMNLP 2025")),
    ("(Arxiv'25) COLM'25", ("COLM", 2025, C, False, None, "COLM 2025")),
    ("(Arxiv'24) ICTIR'25", ("ICTIR", 2025, C, False, None, "ICTIR 2025")),
    ("ACM UMAP'25", ("UMAP", 2025, C, False, None, "UMAP 2025")),
    ("IALP'23", ("IALP", 2023, C, False, None, "IALP 2023")),
    ("DAC'24", ("DAC", 2024, C, False, None, "DAC 2024")),
    ("COLING'25", ("COLING", 2025, C, False, None, "COLING 2025")),
    ("WSDM'24", ("WSDM", 2024, C, False, None, "WSDM 2024")),
    ("SIGIR'25", ("SIGIR", 2025, C, False, None, "SIGIR 2025")),
    ("AAAI'23", ("AAAI", 2023, C, False, None, "AAAI 2023")),
    ("ICML'25", ("ICML", 2025, C, False, None, "ICML 2025")),
    ("CIKM'23", ("CIKM", 2023, C, False, None, "CIKM 2023")),
    ("ICCV'25", ("ICCV", 2025, C, False, None, "ICCV 2025")),
    ("TACL", ("TACL", None, J, False, None, "TACL")),
    (
        "(Arxiv'25) AI for Clinical Applications'25",
        ("AI for Clinical Applications", 2025, U, False, None, "AI for Clinical Applications 2025"),
    ),
    ("Journal Submissions", (None, None, U, False, None, "Journal Submissions")),
    ("EMNLP’24", ("EMNLP", 2024, C, False, None, "EMNLP 2024")),
    ("ICLR 2025", ("ICLR", 2025, C, False, None, "ICLR 2025")),
]


@pytest.mark.parametrize(("raw", "want"), CASES, ids=[c[0] for c in CASES])
def test_venue_spellings(
    raw: str, want: tuple[str | None, int | None, VenueKind, bool, str | None, str]
) -> None:
    v = parse_venue(raw)
    assert v is not None
    assert v.raw == " ".join(raw.split())  # the list's own spelling is kept
    assert (v.name, v.year, v.kind, v.findings, v.note, v.label()) == want
    assert v.workshop is (v.kind is W)


@pytest.mark.parametrize("raw", ["", "   ", "<br>", "**  **"])
def test_empty_venue_is_none(raw: str) -> None:
    assert parse_venue(raw) is None


@pytest.mark.parametrize(
    ("body", "tag_year", "name", "year", "kind"),
    [
        ("2024 EMNLP", 2024, "EMNLP", 2024, C),
        ("2025 ICLR", 2025, "ICLR", 2025, C),
        ("2026 Arxiv-2603", 2026, "arXiv", 2026, P),
        ("2024 Arxiv-2502", 2024, "arXiv", 2025, P),
        ("2026 Arxiv-260328", 2026, "arXiv", 2026, P),
        ("2026 Arxiv-260400", 2026, "arXiv", 2026, P),
        ("2024 NeurIPS Workshop", 2024, "NeurIPS Workshop", 2024, W),
        ("2024 ICLR Workshop", 2024, "ICLR Workshop", 2024, W),
        ("2024 PMLR", 2024, "PMLR", 2024, C),
        ("2024 PERSONALIZE", 2024, "PERSONALIZE", 2024, W),
        ("2024 WI-IAT", 2024, "WI-IAT", 2024, C),
        ("2026 CVPR", 2026, "CVPR", 2026, C),
        ("2024 GitHub", 2024, "GitHub", 2024, OTHER),
        ("2025 WWW", 2025, "WWW", 2025, C),
    ],
)
def test_bullet_tags(body: str, tag_year: int, name: str, year: int, kind: VenueKind) -> None:
    ty, v = parse_tag(body)
    assert ty == tag_year
    assert v is not None and (v.name, v.year, v.kind, v.raw) == (name, year, kind, body)


def test_every_venue_in_the_table_history_gets_a_name() -> None:
    """Over all 135 versions, every non-empty venue cell yields a named venue with a year,
    except the one journal spelling that has none (``(Arxiv'25) IEEE TMC``)."""
    from .helpers import parsed as parse
    from .helpers import versions

    raws: dict[str, tuple[str | None, int | None]] = {}
    for v in versions("jiahongliu21"):
        for e in parse(v.path, "jiahongliu21").entries:
            if e.venue is not None:
                raws[e.venue.raw] = (e.venue.name, e.venue.year)
    assert len(raws) >= 60
    unnamed = {r for r, (n, _) in raws.items() if not n}
    yearless = {r for r, (_, y) in raws.items() if not y}
    assert unnamed == set()
    assert yearless == {"(Arxiv'25) IEEE TMC"}
