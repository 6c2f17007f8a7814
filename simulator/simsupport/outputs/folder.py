"""One run owns an output folder at a time, and a folder says whether its files are one set.

A batch tool run unattended at night meets a second run into the same `--out`, a kill half-way
through, a full disk. So a run
- takes `.simsupport.lock` (created exclusively, holding pid, host, command and start time); a
  second run refuses with exit 2 naming the holder, unless the holder is gone (a stale lock
  from a killed run is taken over);
- checks that the folder is writable before any simulation starts;
- removes the previous `manifest.json` first, so a run that dies half-way leaves a folder
  without a manifest: readers (and `simsupport check`) can tell the set is incomplete;
- removes temporary files a killed run left (`.<name>.*.tmp`, from atomic writes);
- at the end removes the files the previous run's manifest lists and this run did not write
  again (a run without `--tickets` must not leave the last run's tickets.parquet beside its own
  summary; files no manifest names, such as the user's own, are never touched), and writes
  `manifest.json` last: run id, command, and every file with its size and SHA-256.
Subfolders are left alone (a sweep's store of finished replications is how it resumes).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import SimsupportError
from .files import write_json

LOCK = ".simsupport.lock"
MANIFEST = "manifest.json"


class FolderBusy(SimsupportError):
    """Another run is writing this folder (exit 2)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when there is none (a run never finished here)."""
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def complete(folder: Path) -> tuple[bool, str]:
    """(True, "") if the folder holds one finished run's files unchanged; else why not."""
    m = read_manifest(folder)
    if m is None:
        return False, f"{folder} has no {MANIFEST}: the run that wrote it did not finish (or predates manifests)"
    for f in m.get("files", []):
        p = folder / f["name"]
        if not p.is_file():
            return False, f"{p} is listed in {MANIFEST} but missing"
        if p.stat().st_size != f["bytes"] or _sha256(p) != f["sha256"]:
            return False, f"{p} changed after the run that wrote it ({MANIFEST} has another checksum)"
    return True, ""


class OutputFolder:
    """`with OutputFolder(out, "simsupport run ...") as folder: ...; folder.finish(written)`."""

    def __init__(self, out: Path, command: str) -> None:
        self.out = Path(out)
        self.command = command
        self.run_id = uuid.uuid4().hex[:12]
        self.lock = self.out / LOCK
        self.previous: list[str] = []
        self._held = False

    def __enter__(self) -> OutputFolder:
        return self.open()

    def open(self) -> OutputFolder:
        """Take the folder (the lock, the checks, the previous manifest removed); `release` gives
        it back (the command line registers that on its context, so it runs however the run ends)."""
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SimsupportError(f"cannot create the output folder {self.out}: {exc.strerror or exc}") from None
        self._take_lock()
        self._check_writable()
        old = read_manifest(self.out)
        self.previous = [f["name"] for f in (old or {}).get("files", [])]
        (self.out / MANIFEST).unlink(missing_ok=True)
        for tmp in self.out.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    def release(self) -> None:
        if self._held:
            with contextlib.suppress(OSError):
                self.lock.unlink()
            self._held = False

    def _take_lock(self) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                "started": time.strftime("%Y-%m-%d %H:%M:%S"), "run_id": self.run_id}  # fmt: skip
        for _ in range(3):
            try:
                fd = os.open(self.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is None:  # stale: its run is gone
                    with contextlib.suppress(OSError):
                        self.lock.unlink()
                    continue
                raise FolderBusy(
                    f"{self.out} is being written by another run (pid {holder.get('pid')} on {holder.get('host')}, "
                    f"`{holder.get('command')}`, since {holder.get('started')}); wait for it to finish or choose "
                    f"another --out (a lock left by a run that was killed is taken over automatically)"
                ) from None
            except OSError as exc:
                raise SimsupportError(f"cannot write in the output folder {self.out}: {exc.strerror or exc}") from None
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(info, fh)
            self._held = True
            return
        raise FolderBusy(f"{self.out}: could not take {LOCK} (another run keeps taking it)")

    def _holder(self) -> dict[str, Any] | None:
        """The lock's holder if it is still running, else None (stale)."""
        try:
            holder = json.loads(self.lock.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # being written this instant, or garbage: stale if old
            try:
                return None if time.time() - self.lock.stat().st_mtime > 10 else {"pid": "?", "host": "?"}
            except OSError:
                return None
        if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
            return holder if _alive(holder["pid"]) else None
        return holder  # another machine's run: cannot tell, so assume it is alive

    def _check_writable(self) -> None:
        probe = self.out / f".write-test-{self.run_id}.tmp"
        try:
            probe.write_bytes(b"x")
            probe.unlink()
        except OSError as exc:
            self.release()
            raise SimsupportError(f"cannot write in the output folder {self.out}: {exc.strerror or exc}") from None

    def finish(self, written: list[Path]) -> Path:
        """Remove what the previous run wrote and this one did not; write the manifest last."""
        names = sorted({Path(p).resolve().relative_to(self.out.resolve()).as_posix() for p in written
                        if Path(p).resolve().is_relative_to(self.out.resolve()) and Path(p).is_file()})  # fmt: skip
        # only what a manifest says a run of ours wrote: a folder without one may hold the user's files
        stale = set(self.previous)
        for name in stale - set(names) - {MANIFEST}:
            with contextlib.suppress(OSError):
                (self.out / name).unlink()
        files = [{"name": n, "bytes": (self.out / n).stat().st_size, "sha256": _sha256(self.out / n)} for n in names]
        doc = {"run_id": self.run_id, "command": self.command, "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
               "files": files}  # fmt: skip
        return write_json(self.out / MANIFEST, doc)
