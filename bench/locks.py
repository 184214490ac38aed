"""One computation of a stage at a time across processes (two runs sharing an ``--out``, or Slurm jobs on a shared
file system): an exclusive lock file created with ``O_CREAT | O_EXCL``, holding its owner's host and pid, its
modification time refreshed every ``heartbeat`` seconds while held.

Stale-lock rule: a lock is stale, and is taken over, when its owner is on this host and that pid is gone, or when it
was not refreshed for ``stale_after`` seconds (an owner on another host that died, or a file left half-written)."""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from pathlib import Path

from bench.logs import LOG


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours (PermissionError), or a platform without signal 0
        return True
    return True


class StageLock:
    """``with StageLock(path) as lock:`` holds ``path`` exclusively; ``lock.waited`` says whether another process
    held it first (its result may now be in the cache)."""

    def __init__(self, path: str | Path, *, stale_after: float = 600.0, heartbeat: float = 30.0, poll: float = 1.0) -> None:
        self.path = Path(path)
        self.stale_after, self.heartbeat, self.poll = stale_after, heartbeat, poll
        self.waited = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _owner(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def stale(self) -> bool:
        """The stale-lock rule of the module docstring."""
        try:
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return False  # released meanwhile: not stale, just free
        owner = self._owner()
        if owner and owner.get("host") == platform.node() and isinstance(owner.get("pid"), int):
            return not _alive(owner["pid"]) or age > self.stale_after
        return age > self.stale_after

    def _try_create(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            json.dump({"host": platform.node(), "pid": os.getpid(), "since": time.time()}, fh)
        return True

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            try:
                os.utime(self.path)
            except OSError:
                return

    def __enter__(self) -> "StageLock":
        announced = False
        while not self._try_create():
            if self.stale():
                LOG.warning("taking over the stale lock %s (owner %s)", self.path, self._owner())
                self.path.unlink(missing_ok=True)
                continue
            if not announced:
                LOG.info("waiting for %s: another run (%s) is computing this stage", self.path, self._owner())
                announced = True
            self.waited = True
            time.sleep(self.poll)
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.path.unlink(missing_ok=True)
