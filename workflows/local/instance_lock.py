"""One ``workflows up`` per state directory: an exclusive lock on ``<state dir>/lock``.

Two runtimes on one ``.workflows/`` would each take the other's executions for
interrupted ones and accept the same execution name twice. The lock is an
``fcntl.flock`` on a file holding the owner's pid: the operating system releases
it when the process ends, however it ends (kill -9 included), so a stale file
never blocks a later start.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

__all__ = ["InstanceLock", "StateDirInUse"]


class StateDirInUse(Exception):
    """Another process holds the state directory."""

    def __init__(self, state_dir: Path, pid: str) -> None:
        owner = f"pid {pid}" if pid else "another process"
        super().__init__(
            f"{state_dir} is in use by another `workflows up` ({owner}); stop it first, "
            "or give this one a directory of its own with --state-dir"
        )
        self.pid = pid


class InstanceLock:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / "lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise ``StateDirInUse`` naming the holder's pid."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip()
            handle.close()
            raise StateDirInUse(self.state_dir, pid) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the flock
            self._file = None
