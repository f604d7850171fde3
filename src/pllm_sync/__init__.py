"""pllm-sync: keep Zotero and an Obsidian vault in step with curated paper catalogs."""

__version__ = "0.1.0"
