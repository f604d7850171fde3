"""The parser's fast paths read text exactly as the general code they short-cut.

``normalize_whitespace`` splits with ``str.split`` instead of a ``\\s+`` regex,
``normalize_title`` skips NFKD for ASCII titles, ``links._host`` reads a plain
``http(s)://host/...`` URL without ``urlsplit``, and ``ids_from_url`` skips the id patterns
whose host word an ASCII URL lacks, and ``blocks.escaped_split`` splits table rows as
markdown-it's ``escapedSplit`` does. A difference would change paper ids, titles or link
roles; each is checked against the general reading on hostile strings.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it.rules_block.table import escapedSplit

from pllm_sync.catalog import identity
from pllm_sync.catalog.blocks import escaped_split
from pllm_sync.catalog.links import _host
from pllm_sync.model import PaperIds, normalize_title, normalize_whitespace

_SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2007\u200a\u200b\u2028\u202f\u3000"
_TEXT = st.text(alphabet=st.sampled_from(_SPACES + "aZ9.é\u0301ﬁ-") | st.characters(), max_size=40)
_URL_CHARS = "aZ09.-_~!$&'()*+,;=@[]%#?/:\t\n\r é\x00wW"
_URL = st.tuples(
    st.sampled_from(["https://", "http://", "HTTPS://", "https:", "//", "http://www.", ""]),
    st.text(alphabet=st.sampled_from(_URL_CHARS), max_size=24),
).map("".join)


_ODD = ["", "\u212a", "\u0130", "\u017f", "\u0131"]  # fold to k / i / s when case is ignored
_ID_URL = st.tuples(
    st.sampled_from(["https://", "http://www.", "", "HTTPS://"]),
    st.sampled_from(
        [
            "arxiv.org/abs/",
            "ARXIV.ORG/pdf/",
            "alphaxiv.org/abs/",
            "arx\u0130v.org/abs/",
            "hf.co/papers/",
            "huggingface.co/papers/",
            "doi.org/10.48550/arxiv.",
            "doi.org/",
            "dl.acm.org/doi/",
            "link.springer.com/article/",
            "openreview.net/forum?id=",
            "openreview.net/pdf?x=1&id=",
            "aclanthology.org/",
            "ACLweb.org/anthology/",
            "github.com/",
        ]
    ),
    st.sampled_from(
        ["2401.00001", "10.1145/3.pdf", "2024.acl-long.1", "P19-1001", "Ab_1", "cs/0101001"]
    ),
    st.sampled_from(["", "v2", ".pdf", "/", "?x", "#y"]),
    st.sampled_from(_ODD),
).map("".join)


def _whitespace_reference(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


def _title_reference(title: str) -> str:
    decomposed = unicodedata.normalize("NFKD", title)
    ascii_ish = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"[^0-9a-z]+", " ", ascii_ish).strip()


def _ids_reference(url: str) -> PaperIds:
    arxiv = doi = None
    m = (
        identity._ARXIV_URL.search(url)
        or identity._HF_PAPER.search(url)
        or identity._ARXIV_DOI.search(url)
    )
    if m:
        arxiv = m.group("id")
    else:
        d = identity._DOI_URL.search(url)
        if d:
            doi = re.sub(r"\.pdf$", "", d.group("doi").rstrip(".,;)").lower())
    o = identity._OPENREVIEW.search(url)
    a = identity._ACL.search(url)
    return PaperIds(arxiv, doi, o.group("id") if o else None, a.group("id") if a else None)


def _host_reference(url: str) -> str:
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


@settings(max_examples=400)
@given(_TEXT)
def test_normalize_whitespace_collapses_what_the_regex_collapsed(text: str) -> None:
    assert normalize_whitespace(text) == _whitespace_reference(text)


def test_normalize_whitespace_on_every_space_character() -> None:
    every = "".join(chr(c) for c in range(0x3100))
    assert normalize_whitespace(f"a{every}b") == _whitespace_reference(f"a{every}b")


@settings(max_examples=400)
@given(_TEXT)
def test_normalize_title_ascii_fast_path_keeps_the_key(title: str) -> None:
    assert normalize_title(title) == _title_reference(title)


@settings(max_examples=600)
@given(_URL)
def test_host_of_plain_urls_as_urlsplit_reads_it(url: str) -> None:
    assert _host(url) == _host_reference(url)


def test_host_examples() -> None:
    assert _host("https://www.ArXiv.org/abs/2401.00001") == "arxiv.org"
    assert _host("http://user@github.com:8080/x") == "github.com"
    assert _host("https://[::1]/x") == "::1"
    assert _host("https://ex%41mple.com/") == "ex%41mple.com"
    assert _host("arxiv.org/abs/1") == "arxiv.org"


@settings(max_examples=600)
@given(_ID_URL)
def test_ids_from_url_skips_only_patterns_that_cannot_match(url: str) -> None:
    identity.ids_from_url.cache_clear()
    assert identity.ids_from_url(url) == _ids_reference(url)


def test_ids_from_url_examples() -> None:
    assert identity.ids_from_url("https://arxiv.org/abs/2401.00001v2").arxiv == "2401.00001"
    assert identity.ids_from_url("https://doi.org/10.1145/3.pdf").doi == "10.1145/3"
    assert identity.ids_from_url("https://aclanthology.org/2024.acl-long.1/").acl
    assert identity.ids_from_url("https://openreview.net/forum?id=Ab_1").openreview == "Ab_1"


@settings(max_examples=600)
@given(st.text(alphabet=st.sampled_from("|\\ a`é"), max_size=30))
def test_escaped_split_splits_rows_as_markdown_it(row: str) -> None:
    assert escaped_split(row) == escapedSplit(row)


def test_escaped_split_examples() -> None:
    assert escaped_split("| a \\| b | c |") == ["", " a | b ", " c ", ""]
    assert escaped_split("a\\\\|b") == ["a\\|b"]
