"""The parser's fast paths read text exactly as the general code they short-cut.

``normalize_whitespace`` splits with ``str.split`` instead of a ``\\s+`` regex,
``normalize_title`` skips NFKD for ASCII titles, and ``links._host`` reads a plain
``http(s)://host/...`` URL without ``urlsplit``. A difference would change paper ids, titles
or link roles; each is checked against the general reading on hostile strings.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from pllm_sync.catalog.links import _host
from pllm_sync.model import normalize_title, normalize_whitespace

_SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2007\u200a\u200b\u2028\u202f\u3000"
_TEXT = st.text(alphabet=st.sampled_from(_SPACES + "aZ9.é\u0301ﬁ-") | st.characters(), max_size=40)
_URL_CHARS = "aZ09.-_~!$&'()*+,;=@[]%#?/:\t\n\r é\x00wW"
_URL = st.tuples(
    st.sampled_from(["https://", "http://", "HTTPS://", "https:", "//", "http://www.", ""]),
    st.text(alphabet=st.sampled_from(_URL_CHARS), max_size=24),
).map("".join)


def _whitespace_reference(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


def _title_reference(title: str) -> str:
    decomposed = unicodedata.normalize("NFKD", title)
    ascii_ish = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"[^0-9a-z]+", " ", ascii_ish).strip()


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
