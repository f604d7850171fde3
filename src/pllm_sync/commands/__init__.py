"""One module per CLI command. Each exposes ``register(subparsers)`` which adds its parser and
sets ``func`` to a ``run(args) -> int``. The CLI itself only wires them up and maps errors."""

from __future__ import annotations

COMMAND_MODULES = (
    "catalog",
    "lists",
    "init",
    "pull",
    "status",
    "conflicts",
    "watch",
    "vault",
    "sandbox",
    "doctor",
    "service",
    "enrich",
)
