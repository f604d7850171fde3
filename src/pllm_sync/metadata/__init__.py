"""Scholarly metadata for catalog papers: authors, abstracts, dates, DOIs, published venues,
citation keys.

The lists give titles and links only. This package asks the arXiv API (for papers with an
arXiv id) and Semantic Scholar (for published versions, DOIs, venues, and papers without an
arXiv id), caches every answer in the user cache dir, and turns the answers into an enriched
:class:`~pllm_sync.model.Paper` *before* the sync decides anything. Enrichment is therefore just
another upstream: the three-way merge carries it to Zotero and the vault, and a user's own edit
of an enriched field wins (see ``docs/metadata.md``).

Modules: ``http`` (polite HTTP: spacing, timeouts, 429/Retry-After), ``arxiv`` (Atom feed
client and parser), ``scholar`` (Semantic Scholar batch client), ``cache`` (response cache and
the citation-key registry), ``enrich`` (the pure merge of answers into a paper), ``citekey``
(Better BibTeX-compatible keys), ``resolver`` (the batch run over a catalog).
"""
