"""File names for notes, and which files in a vault are litter to ignore.

Titles come from the internet, so a title only becomes a file name after it is made safe for
every filesystem a vault is synced to (Windows, macOS, Linux, mobile) and for Obsidian's own
link syntax: no path separators or ``..``, none of ``\\ / : * ? " < > | # ^ [ ]``, no control
characters, no leading dots (hidden files), no trailing dots or spaces (Windows), no reserved
device names (``CON``, ``NUL``, ``COM1``...), and at most ``MAX_NAME_BYTES`` bytes of UTF-8 so
that the path stays well below the 255-byte component limit even with a collision suffix.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_NAME_BYTES = 120
"""Upper bound for a note's file name without ``.md``, in UTF-8 bytes."""

_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in "123456789¹²³"}
    | {f"LPT{i}" for i in "123456789¹²³"}
)

# What each forbidden character becomes: keep the text readable ("LaMP: When" -> "LaMP - When").
_REPLACE = {
    ":": " - ",
    "/": "-",
    "\\": "-",
    "|": "-",
    '"': "'",
    "*": " ",
    "?": " ",
    "<": " ",
    ">": " ",
    "#": " ",
    "^": " ",
    "[": "(",
    "]": ")",
}
_FORBIDDEN = re.compile("[" + re.escape("".join(_REPLACE)) + "]")
_TRANSLATE = str.maketrans(_REPLACE)
"""``_REPLACE`` for ``str.translate``: what ``_FORBIDDEN.sub`` does, in one C pass."""
_SPACES = re.compile(r"\s+")
_DOTS = re.compile(r"\.{2,}")
_DASHES = re.compile(r"(?:\s*-\s*){2,}")


def _is_control(ch: str) -> bool:
    # Cc: C0/C1 controls incl. NUL and DEL; Cf: invisible format chars (bidi overrides, ZWSP)
    # that make two names look identical; Cs/Co/Cn: surrogates and unassigned code points.
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in "\u200d"


def cut_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` that fits in ``max_bytes`` of UTF-8, cut between
    characters (and not right after a zero-width joiner or before a combining mark)."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    out = text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    # Do not leave half an emoji sequence or split a base letter from its accent.
    while out:
        following = text[len(out)]
        if out[-1] == "\u200d" or unicodedata.combining(following):
            out = out[:-1]
        else:
            break
    return out


def cut_at_word(text: str, max_bytes: int) -> str:
    """Like ``cut_utf8``, but a long title loses whole words ("Persona Vectors Rival" rather
    than "Persona Vectors Riv"), unless that would drop more than a third of what fits."""
    cut = cut_utf8(text, max_bytes)
    if cut == text or text[len(cut)].isspace():
        return cut
    space = cut.rfind(" ")
    return cut[:space] if space >= len(cut) * 2 // 3 else cut


def sanitize_name(text: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """Turn untrusted text into one safe path component (without extension).

    Returns ``""`` when nothing usable is left (e.g. a title of only dots); callers supply a
    fallback. The result never contains a path separator, never starts with a dot and is never
    ``.``, ``..`` or a reserved device name.

    Every note a pull creates is named here, so the steps skip what cannot apply: a
    translation table instead of a substitution with a callback; ``split``/``join`` for the
    whitespace runs (the same whitespace as ``\\s``; a leading or trailing run, which the
    regex turned into one space, is stripped next either way); the ``..`` and dash rules
    only when the text has ``..`` or two dashes. tests/vault/test_vault_names.py holds it
    equal to the regex steps.
    """
    t = unicodedata.normalize("NFC", text)
    if not t.isprintable():  # printable: no character of a category _is_control names
        t = "".join(" " if _is_control(c) else c for c in t)
    t = t.translate(_TRANSLATE)
    t = " ".join(t.split()).strip(" .-")  # "../../x" -> "x"; ".hidden" -> "hidden"
    if ".." in t:
        t = _DOTS.sub("…", t)
    if t.count("-") >= 2:
        t = _DASHES.sub(" - ", t)
    t = t.strip(" .-")
    t = cut_at_word(t, max_bytes).rstrip(" .-")
    if t.partition(".")[0].strip().upper() in _WINDOWS_RESERVED:
        t = cut_utf8(t, max_bytes - 1) + "_"
    return t


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def note_stem(method: str | None, title: str, pllm_id: str) -> str:
    """The preferred file name (no ``.md``) for a paper: ``Method - Title`` sanitised, or a
    name derived from the id when the title has nothing usable."""
    title = title or ""
    method = (method or "").strip()
    # "LaMP: When Large..." already names its method; do not say it twice.
    if method and not title.casefold().startswith(method.casefold()):
        base = f"{method} - {title}"
    else:
        base = title
    stem = sanitize_name(base)
    return stem or f"Untitled {short_hash(pllm_id)}"


def with_suffix(stem: str, pllm_id: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """The collision-resolved variant of ``stem``: the same every time for the same paper, so
    two runs never disagree about which file a paper got."""
    suffix = f" ({short_hash(pllm_id)})"
    return cut_utf8(stem, max_bytes - len(suffix.encode("utf-8"))).rstrip(" .-") + suffix


# --- litter -----------------------------------------------------------------------------------

_LITTER_RE = re.compile(
    r"""(
        \.sync-conflict-           # Syncthing conflict copies
      | \ \(conflicted\ copy       # Dropbox / Nextcloud conflict copies
      | \.(tmp|temp|swp|swo|bak|orig|part|crdownload)$
      | ~$                         # editor backups
    )""",
    re.VERBOSE | re.IGNORECASE,
)


def is_litter(name: str) -> bool:
    """True for files a vault scan must ignore: hidden files (Obsidian ignores them too; our own
    temp files are hidden), editor swap/lock files and sync tools' conflict copies."""
    if name.startswith((".", "~$", "#")):
        return True
    if name.endswith(".md") and "onfl" not in name.lower():
        # What a note's name can still match all spells "conflict", and only an "i" has
        # case forms ``lower`` does not give (every scan asks this of every note).
        return False
    return bool(_LITTER_RE.search(name))


PLACEHOLDER_SUFFIX = ".md.icloud"


def placeholder_target(rel: str) -> str | None:
    """The note a placeholder path stands for (``Papers/.X.md.icloud`` -> ``Papers/X.md``),
    or None for any other path."""
    folder, slash, name = rel.rpartition("/")
    if not (name.startswith(".") and name.endswith(PLACEHOLDER_SUFFIX)) or len(name) < 12:
        return None
    return f"{folder}{slash}{name[1 : -len('.icloud')]}"


def placeholder_path(rel: str) -> str:
    """The vault path of the placeholder iCloud Drive leaves for the note ``rel`` when it
    frees space (``Optimize Storage``, and on iOS): ``Papers/X.md`` becomes the hidden
    ``Papers/.X.md.icloud`` until the note is opened again. The note is still the user's
    and still there for the other devices; read as a deletion, a sync trashed its item and
    the other device then trashed its note."""
    folder, slash, name = rel.rpartition("/")
    return f"{folder}{slash}.{name}.icloud"
