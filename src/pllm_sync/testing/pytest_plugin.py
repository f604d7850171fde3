"""pytest plugin shipped with pllm-sync: fixtures that start the Zotero Web API emulator.

Registered through the ``pytest11`` entry point, so any project that installs pllm-sync can
use the ``zotero_server`` fixture. The fixtures are added by the emulator module."""

from __future__ import annotations
