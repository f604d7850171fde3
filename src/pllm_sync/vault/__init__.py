"""The Obsidian side: paper notes, index notes and the vault template.

Rooms, smallest first: ``names`` (safe file names, litter), ``yamlio`` (reading and emitting
YAML every reader agrees on), ``frontmatter_block`` (split a note, edit single keys in place),
``body`` (managed region and the user's notes), ``note`` (our keys <-> the canonical record),
``sections`` (index-note names and links), ``properties`` (Obsidian property types),
``template`` (create or merge the vault template), ``atomic`` (atomic writes) and ``store``
(:class:`~pllm_sync.vault.store.VaultStore`, the only entry point the sync engine uses).
See ``docs/vault.md``.
"""
