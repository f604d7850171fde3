"""pyzotero's imports for formats we never read (bibtexparser with pyparsing, feedparser)
are deferred until first used, and work as usual when they are. In a fresh interpreter:
this test process imported pyzotero long ago."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import json, sys
from pllm_sync.zotero.client import _pllm_zotero
_pllm_zotero()
from pyzotero.errors import PyZoteroError  # what every pyzotero read imports
before = sorted(sys.modules)
import pyzotero._decorators as dec
version = dec.bibtexparser.__version__  # a dunder as the first look-up loads it too
parser = dec.bibtexparser.bparser.BibTexParser(common_strings=True)
bib = dec.bibtexparser.loads("@article{k, title={T}}", parser=parser).entries
feed = dec.feedparser.parse('<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>')
from bibtexparser.customization import splitname
import bibtexparser
import feedparser
print(json.dumps({
    "before": before,
    "bib": bib,
    "feed": feed.feed.title,
    "split": splitname("Doe, Jane")["last"],
    "versions": version == bibtexparser.__version__ and bool(feedparser.__version__),
    "real": type(sys.modules["bibtexparser"]).__name__ == "module"
            and type(sys.modules["feedparser"]).__name__ == "module"
            and bibtexparser is sys.modules["bibtexparser"],
}))
"""


def _run() -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, object] = json.loads(out.splitlines()[-1])
    return result


def test_pyzotero_loads_without_its_bibtex_and_feed_parsers_which_still_work() -> None:
    res = _run()
    before = res["before"]
    assert isinstance(before, list)
    assert "pyzotero._client" in before  # pyzotero itself was imported
    assert not [m for m in ("pyparsing", "bibtexparser.bparser", "feedparser.api") if m in before]
    # used later, they are imported for real and answer as usual
    assert res["bib"] == [{"ENTRYTYPE": "article", "ID": "k", "title": "T"}]
    assert res["feed"] == "x"
    assert res["split"] == ["Doe"]
    assert res["versions"] is True
    assert res["real"] is True
