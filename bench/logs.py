"""The run log: the standard ``logging`` module under the ``bench`` logger, one line per stage start and end, on
stderr (``-q``: warnings only; ``-v``: debug) and appended to ``<out>/run.log`` (always at INFO, with times).
Python warnings (damaged cache entries, failed trainings) go to the same log."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from bench.errors import BenchError

LOG = logging.getLogger("bench")
_FORMAT_FILE = "%(asctime)s %(levelname)-7s %(message)s"
_HANDLER_TAG = "_bench_handler"


class _Stderr(logging.StreamHandler):
    """A handler on whatever ``sys.stderr`` is when a record is emitted (not when the handler was made)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def reset() -> None:
    """Remove the handlers ``configure`` added, and send Python warnings back to ``warnings``' own output."""
    for logger in (LOG, logging.getLogger("py.warnings")):
        for handler in [h for h in logger.handlers if getattr(h, _HANDLER_TAG, False)]:
            logger.removeHandler(handler)
            handler.close()
        logger.propagate = True
    logging.captureWarnings(False)


def configure(out: str | Path | None, verbosity: int = 0) -> Path | None:
    """Send ``bench`` log records to stderr at WARNING (verbosity < 0), INFO (0) or DEBUG (> 0), and to
    ``<out>/run.log`` (appended) at INFO or DEBUG; Python warnings too. Replaces the handlers of an earlier call,
    so one process can run several times. Returns the log file's path (None without ``out``)."""
    reset()
    console = _Stderr()
    console.setLevel(logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO)
    console.setFormatter(logging.Formatter("%(message)s"))
    handlers: list[logging.Handler] = [console]
    path = None
    if out is not None:
        path = Path(out) / "run.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():  # appending through it would write wherever it points
            raise BenchError(f"{path} is a symbolic link", f"remove {path}: the run log is never written through a link")
        file = logging.FileHandler(path, mode="a", encoding="utf-8")
        file.setLevel(logging.DEBUG if verbosity > 0 else logging.INFO)
        file.setFormatter(logging.Formatter(_FORMAT_FILE, datefmt="%Y-%m-%dT%H:%M:%S"))
        handlers.append(file)
    for logger in (LOG, logging.getLogger("py.warnings")):
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        for handler in handlers:
            setattr(handler, _HANDLER_TAG, True)
            logger.addHandler(handler)
    logging.captureWarnings(True)
    return path
