"""Who may talk to the local API: a bearer token, a loopback ``Host``, a known ``Origin``.

The token lives in a file only the user can read (mode 600) in the user config dir, so a
front end running as the same user can read it and no other user or web page can. A page in
a browser could still reach 127.0.0.1, hence the two header checks: a ``Host`` that is not
loopback means DNS rebinding (a hostile name resolving to 127.0.0.1), and an ``Origin`` other
than Obsidian's or localhost's means a foreign page.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from pathlib import Path

from ..paths import app_dirs

TOKEN_FILE = "api-token"

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
_OBSIDIAN_ORIGINS = frozenset({"app://obsidian.md", "capacitor://localhost"})
_LOCAL_ORIGIN = re.compile(r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$")


def token_path() -> Path:
    return app_dirs().config / TOKEN_FILE


def load_or_create_token(path: Path | None = None) -> tuple[str, Path]:
    """The API token (created on first use, 32 random bytes) and the file that holds it.

    The file is created with mode 600 atomically (``O_EXCL``), never world-readable for an
    instant; an existing file with wider permissions is tightened."""
    p = path or token_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(p, 0o600)
        token = p.read_text(encoding="utf-8").strip()
        if len(token) >= 32:
            return token, p
        p.unlink()  # empty or truncated: make a new one
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token, p


def token_ok(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


def host_ok(host: str | None) -> bool:
    """The ``Host`` header names the loopback address or localhost (any port)."""
    if not host:
        return False
    name = host.strip().lower()
    if name.startswith("["):
        name = name[: name.find("]") + 1] if "]" in name else name
    else:
        name = name.rsplit(":", 1)[0] if ":" in name else name
    return name in _LOOPBACK_HOSTS


def origin_ok(origin: str) -> bool:
    """Obsidian's desktop and mobile origins, or a page served from localhost."""
    return origin in _OBSIDIAN_ORIGINS or bool(_LOCAL_ORIGIN.match(origin))
