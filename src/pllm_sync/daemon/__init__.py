"""The ``pllm-sync watch`` daemon: vault watcher, Zotero poller, catalog refresher, one worker."""
