"""Where pllm-sync's diagnostics go: stderr at the level the command line chose, and a
rotating file in the user log dir (opened only when a record reaches it)."""

from __future__ import annotations

import logging
import sys

LOG_FILE = "pllm-sync.log"


class LazyLogFile(logging.Handler):
    """The rotating log file in the user log dir, opened when the first record reaches it.

    A run that logs nothing at its level (``--help``, ``status``, a no-op ``sync``) neither
    imports the file handler nor touches the log dir; a run that does gets the same file,
    format and rotation as before. A read-only home: one warning on stderr, then stderr only.
    """

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self._file: logging.Handler | None = None
        self._failed = False

    def _open(self) -> logging.Handler | None:
        if self._file is None and not self._failed:
            from logging.handlers import RotatingFileHandler

            from .paths import app_dirs

            try:
                logs = app_dirs().logs
                logs.mkdir(parents=True, exist_ok=True)
                to_file = RotatingFileHandler(
                    logs / LOG_FILE, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
                )
            except OSError as exc:  # a read-only home: keep going with stderr only
                self._failed = True
                print(f"warning: no log file ({exc.strerror or exc})", file=sys.stderr)
                return None
            to_file.setFormatter(
                logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
            )
            to_file.setLevel(self.level)
            self._file = to_file
        return self._file

    def emit(self, record: logging.LogRecord) -> None:
        to_file = self._open()
        if to_file is not None:
            to_file.handle(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


def setup_logging(verbose: int, quiet: bool) -> None:
    """Diagnostics to stderr at the chosen level, and a rotating log file in the user log
    dir at INFO (DEBUG with -vv) so a daemon's passes can be read afterwards."""
    level = (
        logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.setLevel(level)
    file_level = logging.DEBUG if verbose >= 2 else logging.INFO
    handlers: list[logging.Handler] = [handler, LazyLogFile(file_level)]
    root = logging.getLogger("pllm_sync")
    for old in root.handlers:
        old.close()
    root.handlers[:] = handlers
    root.setLevel(min(level, file_level))
    root.propagate = False
