"""Find the links of a catalog entry and give each the role its label (or URL) implies.

Catalog links come as shields badges ``[![Paper](badge-image)](target)``, plain links
``[Paper](url)``, and broken variants seen upstream: a link nested in the target
(``[![Paper](..)]([https://a](https://b))``, ``([Paper]([link](url)))``), a target with a
leading space, a missing ``)``, or a bare badge image pointing at a repository. The rule that
matters most: the link target is the URL, never the badge image (star badges often show a
different repository than the one they link to).

The scanner matches brackets once per fragment with a stack, so it runs in linear time even on
pathological input (``[[[[[...``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from ..model import Link

_IMAGE_HOSTS = (
    "img.shields.io",
    "badge.fury.io",
    "badges.pufler.dev",
    "badgen.net",
    "awesome.re",
    "camo.githubusercontent.com",
)
_IMAGE_EXT = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp")
_PAPER_HOSTS = (
    "arxiv.org",
    "openreview.net",
    "aclanthology.org",
    "aclweb.org",
    "doi.org",
    "dl.acm.org",
    "dlnext.acm.org",
    "ieeexplore.ieee.org",
    "proceedings.neurips.cc",
    "papers.nips.cc",
    "proceedings.mlr.press",
    "ojs.aaai.org",
    "link.springer.com",
    "sciencedirect.com",
    "onlinelibrary.wiley.com",
    "semanticscholar.org",
    "neurips.cc",
    "iclr.cc",
    "icml.cc",
    "nature.com",
    "openaccess.thecvf.com",
    "ecva.net",
    "jmlr.org",
    "ijcai.org",
    "aaai.org",
    "biorxiv.org",
    "medrxiv.org",
    "ncbi.nlm.nih.gov",
)
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "gitee.com")

# Label (lowercased, non-letters removed) -> role. Checked in order; first containment wins.
_LABEL_ROLES: tuple[tuple[str, str], ...] = (
    ("dataset", "dataset"),
    ("modelhub", "model"),
    ("model", "model"),
    ("demo", "demo"),
    ("youtube", "video"),
    ("video", "video"),
    ("slides", "slides"),
    ("poster", "poster"),
    ("github", "code"),
    ("gitlab", "code"),
    ("code", "code"),
    ("repo", "code"),
    ("homepage", "home"),
    ("home", "home"),
    ("website", "website"),
    ("project", "website"),
    ("page", "website"),
    ("blog", "blog"),
    ("data", "data"),
    ("paper", "paper"),
    ("pdf", "paper"),
    ("arxiv", "paper"),
    ("openreview", "paper"),
    ("doi", "paper"),
    ("link", "link"),
)
ROLE_WORDS = frozenset(
    {
        "paper",
        "papers",
        "pdf",
        "arxiv",
        "code",
        "github",
        "website",
        "project",
        "home",
        "homepage",
        "link",
        "data",
        "dataset",
        "demo",
        "video",
        "slides",
        "blog",
        "model",
        "openreview",
    }
)
"""Labels that mark a link list (``([Paper](..), [Code](..))``) rather than a title link."""


@dataclass(frozen=True)
class FoundLink:
    """One link as written: its label (badge alt text for badges), target and oddities."""

    label: str
    url: str
    badge: bool = False
    start: int = 0
    problem: str | None = None  # a note for a warning: nested target, missing ')', ...


_BRACKET_CHARS = re.compile(r"[\\\[\]()]")


def match_brackets(text: str) -> dict[int, int]:
    """Map each opening ``[`` / ``(`` to its closing partner (unmatched ones are absent)."""
    out: dict[int, int] = {}
    squares: list[int] = []
    rounds: list[int] = []
    skip_to = -1
    for m in _BRACKET_CHARS.finditer(text):
        i = m.start()
        if i <= skip_to:
            continue
        ch = text[i]
        if ch == "\\":
            skip_to = i + 1  # the escaped character is literal
        elif ch == "[":
            squares.append(i)
        elif ch == "]":
            if squares:
                out[squares.pop()] = i
        elif ch == "(":
            rounds.append(i)
        elif rounds:
            out[rounds.pop()] = i
    return out


def _clean_target(raw: str) -> tuple[str, str | None]:
    """The URL inside ``( ... )``: trimmed, an optional title dropped, nesting unwrapped."""
    problem = None
    t = raw.strip()
    if t != raw and raw[:1].isspace():
        problem = "link target starts with a space"
    # ``[text](url)`` pasted as the target: the inner target is the one that was meant.
    if t.startswith("[") and "](" in t:
        inner = t[t.index("](") + 2 :]
        t = inner[:-1] if inner.endswith(")") else inner
        t = t.strip()
        problem = "link target is itself a markdown link; using its inner URL"
    if t.startswith("<") and t.endswith(">"):
        t = t[1:-1].strip()
    if " " in t:
        t = t.split()[0]
    return t, problem


def is_image_url(url: str) -> bool:
    low = url.lower()
    host = _host(low)
    return host.endswith(_IMAGE_HOSTS) or low.split("?")[0].endswith(_IMAGE_EXT)


_PLAIN_HOST = re.compile(r"https?://([A-Za-z0-9.\-_~!$&'()*+,;=]*)(?:[/?#]|\Z)")
"""A plain ``http(s)://host/...`` URL: no user, port, IPv6 brackets or percent escapes in
the host, so the host is the text up to the first ``/``, ``?`` or ``#``, as ``urlsplit``
reads it."""


def _host(url: str) -> str:
    """The host of ``url``, lowercase, without ``www.`` (``""`` when it has none)."""
    m = _PLAIN_HOST.match(url)
    if m is not None:  # the common case, without urlsplit's general machinery
        return m.group(1).lower().removeprefix("www.")
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def is_web_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


# A host is a paper (code) host when it is one of them or a subdomain of one: a set
# lookup and one ``endswith`` over a tuple, not a loop.
_PAPER_HOST_SET = frozenset(_PAPER_HOSTS)
_PAPER_SUBDOMAINS = tuple("." + h for h in _PAPER_HOSTS)
_CODE_HOST_SET = frozenset(_CODE_HOSTS)
_CODE_SUBDOMAINS = tuple("." + h for h in _CODE_HOSTS)


def is_paper_url(url: str) -> bool:
    host = _host(url)
    return host in _PAPER_HOST_SET or host.endswith(_PAPER_SUBDOMAINS)


def is_code_url(url: str) -> bool:
    host = _host(url)
    return host in _CODE_HOST_SET or host.endswith(_CODE_SUBDOMAINS)


def find_links(text: str) -> list[FoundLink]:
    """Every link in ``text`` in reading order, badges resolved to their targets.

    A bracket group not followed by ``(`` is looked into (it may hold a bare badge image,
    as in ``[![GitHub](https://github.com/x/y)]``); an image that is not a picture (its URL
    is not an image host or file) is taken as a link, since that is what the author meant.
    """
    if "[" not in text:
        return []
    pairs = match_brackets(text)
    found: list[FoundLink] = []
    _scan(text, 0, len(text), pairs, found)
    return found


def _scan(text: str, lo: int, hi: int, pairs: dict[int, int], out: list[FoundLink]) -> None:
    i = lo
    while i < hi:
        j = text.find("[", i, hi)
        if j < 0:
            return
        if j > 0 and text[j - 1] == "\\":
            i = j + 1
            continue
        close = pairs.get(j)
        if close is None or close >= hi:
            i = j + 1
            continue
        is_image = j > 0 and text[j - 1] == "!"
        if close + 1 < hi and text[close + 1] == "(":
            paren = pairs.get(close + 1)
            problem = None
            if paren is None or paren > hi:
                # Missing ')': the target runs to the first whitespace or the end.
                rest = text[close + 2 : hi]
                target_raw = rest.split()[0] if rest.split() else ""
                end = close + 2 + len(target_raw)
                problem = "link is missing its closing ')'"
            else:
                target_raw = text[close + 2 : paren]
                end = paren + 1
            url, target_problem = _clean_target(target_raw)
            problem = problem or target_problem
            label_text = text[j + 1 : close]
            badge_alt = _badge_alt(label_text)
            if is_image:
                if url and not is_image_url(url) and is_web_url(url):
                    out.append(
                        FoundLink(
                            label_text.strip(),
                            url,
                            badge=True,
                            start=j,
                            problem="badge image without a link; using the image URL as the link",
                        )
                    )
            elif badge_alt is not None:
                out.append(FoundLink(badge_alt, url, badge=True, start=j, problem=problem))
            else:
                out.append(FoundLink(label_text.strip(), url, start=j, problem=problem))
            i = end
        else:
            # Not a link: look inside for a bare badge image.
            _scan(text, j + 1, close, pairs, out)
            i = close + 1


_ALT = re.compile(r"^\s*!\[([^\]]{0,200})\]")


def _badge_alt(label: str) -> str | None:
    """``![Paper](...)`` inside a link label -> ``Paper`` (``""`` for an empty alt)."""
    m = _ALT.match(label)
    return m.group(1).strip() if m else None


_NON_LETTER = re.compile(r"[^a-z]")


@lru_cache(maxsize=1024)
def _label_letters(label: str) -> str:
    """A link label's letters, lowercased (``""`` for a label longer than 30 letters: a
    title used as link text says nothing about the role). Labels repeat (``Paper``,
    ``Code``) where URLs do not, hence a cache of its own."""
    key = _NON_LETTER.sub("", label.lower())
    return "" if len(key) > 30 else key


@lru_cache(maxsize=1024)
def _label_role(key: str) -> str:
    """The role a label's letters name: the first ``_LABEL_ROLES`` needle they contain."""
    for needle, r in _LABEL_ROLES:
        if needle in key:
            return r
    return "link"


@lru_cache(maxsize=8192)
def role_for(label: str, url: str) -> str:
    """The role of a link: from its label, refined by the URL where the label is vague."""
    key = _label_letters(label)
    role = _label_role(key)
    low = url.lower()
    host = _host(low)
    if host in ("huggingface.co", "hf.co"):
        path = urlsplit(low).path
        if path.startswith("/datasets/"):
            return "dataset"
        if path.startswith("/spaces/"):
            return "demo"
        if path.startswith("/papers/"):
            return "paper"
    if role in ("link", "website") and not key.startswith(("website", "project")):
        if is_paper_url(url):
            return "paper"
        if is_code_url(url):
            return "code"
        if host in ("youtube.com", "youtu.be"):
            return "video"
    return role


def url_key(url: str) -> str:
    """A comparison key for URLs: scheme-less, lowercased host, no trailing slash."""
    u = url.strip()
    low = u.lower()
    for prefix in ("https://", "http://"):
        if low.startswith(prefix):
            u = u[len(prefix) :]
            break
    host, _, rest = u.partition("/")
    host = host.lower().removeprefix("www.")
    return (host + "/" + rest).rstrip("/")


def to_links(found: list[FoundLink]) -> list[Link]:
    """Role-tagged links, web URLs only, each URL once (first role wins)."""
    seen: set[str] = set()
    out: list[Link] = []
    for f in found:
        if not f.url or not is_web_url(f.url):
            continue
        key = url_key(f.url)
        if key in seen:
            continue
        seen.add(key)
        out.append(Link(role=role_for(f.label, f.url), url=f.url))
    return out


@lru_cache(maxsize=8192)
def link_kind(role: str, url: str) -> str:
    """A link's kind from its stored role and URL: a paper link is ``arxiv``, ``doi``,
    ``openreview`` or ``acl`` when its host says so, ``pdf`` when it is a PDF, else
    ``paper``; code stays ``code``; website/home/project pages are ``project``; datasets
    and data ``dataset``; videos ``video``; the rest ``other``. The stored ``role`` is not
    changed (notes and items keep theirs); this is a finer view of it."""
    low = url.lower()
    host = _host(low)
    path = urlsplit(low).path if "//" in low else low
    if role in ("paper", "link", "website", "home") or is_paper_url(url):
        if host.endswith(("arxiv.org", "alphaxiv.org")) or (
            "/papers/" in path
            and host
            in (
                "huggingface.co",
                "hf.co",
            )
        ):
            return "arxiv"
        if host.endswith("doi.org") or "/doi/" in path:
            return "doi"
        if host.endswith("openreview.net"):
            return "openreview"
        if host.endswith(("aclanthology.org", "aclweb.org")):
            return "acl"
        if path.endswith(".pdf") or "/pdf/" in path:
            return "pdf"
        if role == "paper" or is_paper_url(url):
            return "paper"
    if role == "code" or (role == "link" and is_code_url(url)):
        return "code"
    if role in ("website", "home", "blog", "demo") or (
        role == "link" and host.endswith("github.io")
    ):
        return "project"
    if role in ("dataset", "data"):
        return "dataset"
    if role == "video":
        return "video"
    return "other"
