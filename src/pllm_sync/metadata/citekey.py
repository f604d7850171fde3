"""Citation keys in Better BibTeX's default form ``[auth:lower][shorttitle3_3][year]``.

``auth`` is the first author's family name, ``shorttitle3_3`` the first three words of the
title that are not function words, each capitalised, ``year`` the year; everything folded to
ASCII letters and digits. So "Attention Is All You Need" (Vaswani et al., 2017) is
``vaswaniAttentionAllYou2017``, the key Better BibTeX itself makes. Duplicates get ``a``,
``b``, ... appended (Better BibTeX's default postfix), in a stable order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container

# Better BibTeX's skip words (its default ``skipWords`` preference).
SKIP_WORDS = frozenset(
    [
        "a",
        "ab",
        "aboard",
        "about",
        "above",
        "across",
        "after",
        "against",
        "al",
        "along",
        "amid",
        "among",
        "an",
        "and",
        "anti",
        "around",
        "as",
        "at",
        "before",
        "behind",
        "below",
        "beneath",
        "beside",
        "besides",
        "between",
        "beyond",
        "but",
        "by",
        "d",
        "da",
        "das",
        "de",
        "del",
        "dell",
        "dello",
        "dei",
        "degli",
        "della",
        "dell",
        "delle",
        "dem",
        "den",
        "der",
        "des",
        "despite",
        "die",
        "do",
        "down",
        "du",
        "during",
        "ein",
        "eine",
        "einem",
        "einen",
        "einer",
        "eines",
        "el",
        "en",
        "et",
        "except",
        "for",
        "from",
        "gli",
        "i",
        "il",
        "in",
        "inside",
        "into",
        "is",
        "l",
        "la",
        "las",
        "le",
        "les",
        "like",
        "lo",
        "los",
        "near",
        "nor",
        "of",
        "off",
        "on",
        "onto",
        "or",
        "over",
        "past",
        "per",
        "plus",
        "round",
        "save",
        "since",
        "so",
        "some",
        "sur",
        "than",
        "the",
        "through",
        "to",
        "toward",
        "towards",
        "un",
        "una",
        "unas",
        "under",
        "underneath",
        "une",
        "unlike",
        "uno",
        "unos",
        "until",
        "up",
        "upon",
        "versus",
        "via",
        "von",
        "while",
        "with",
        "within",
        "without",
        "yet",
        "zu",
        "zum",
    ]
)
_WORD = re.compile(r"[A-Za-z0-9]+")


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def family_name(author: str) -> str:
    """The family name of "First Last" (or "Last, First")."""
    author = author.strip()
    if "," in author:
        return author.split(",", 1)[0]
    parts = author.split()
    return parts[-1] if parts else ""


def base_key(authors: tuple[str, ...] | list[str], title: str, year: int | None) -> str:
    auth = "".join(_WORD.findall(_ascii(family_name(authors[0])))).lower() if authors else ""
    words = [w for w in _WORD.findall(_ascii(title)) if w.lower() not in SKIP_WORDS]
    short = "".join(w[:1].upper() + w[1:] for w in words[:3])
    return f"{auth}{short}{year or ''}" or "key"


def unique_key(base: str, taken: Container[str]) -> str:
    """``base``, or ``base`` + a, b, ..., z, aa, ab, ... -- the first one not taken."""
    if base not in taken:
        return base
    n = 0
    while True:
        suffix, m = "", n
        while True:
            suffix = chr(ord("a") + m % 26) + suffix
            m = m // 26 - 1
            if m < 0:
                break
        if base + suffix not in taken:
            return base + suffix
        n += 1
