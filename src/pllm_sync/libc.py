"""Linux C library functions that Python's ``os`` lacks (``syncfs``, ``renameat2``), looked
up once per process: None where this system has no such function (not Linux, an older C
library), for the caller to do without it. ``ctypes`` is imported on the first lookup, not
by every command that imports the vault (a no-op ``sync`` needs none of this)."""

from __future__ import annotations

import functools
import sys
from typing import Any


@functools.cache
def function(name: str, *argtypes: str) -> Any:
    """The C library's ``name`` taking arguments of the ctypes types named ``argtypes``
    (``"int"``, ``"char_p"``, ``"uint"``) and returning an ``int``, setting ``errno`` (read
    it with :func:`errno`); None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        fn = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    fn.argtypes = [getattr(ctypes, f"c_{t}") for t in argtypes]
    fn.restype = ctypes.c_int
    return fn


def errno() -> int:
    """The ``errno`` the last call made through :func:`function` on this thread left."""
    import ctypes

    return ctypes.get_errno()
