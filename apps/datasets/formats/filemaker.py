"""Small release files created by a helper process, so that creating them runs on another core.

A release with a file per clip creates tens of thousands of small files. Each creation is a few system calls
(open, write, close) of kernel time that cost as much as all the Python that builds the release (a 10,000-clip
csv build: ~1 s of kernel time in the writing thread). A thread cannot take them over: it needs the interpreter
lock back after every system call and waits up to the switch interval (5 ms) for the busy writing thread to let
go of it, so it falls behind at once. A process has no such lock: ``FileMaker`` starts this module as a child
Python (isolated, no site packages, nothing imported but the standard library) and sends it each file as one
frame on a pipe (path length, data length, path, data), many frames per system call; the child creates the
files in order. Memory stays bounded: at most ``BATCH`` bytes wait in the parent, and the pipe holds at most
its buffer.

The parent learns of a failure (disk full, a file that exists where ``O_EXCL`` was asked) at its next send or
at ``close``, as an ``OSError`` carrying the child's words; ``kill`` stops the child at once (before the
caller deletes what was written).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys

_HEAD = struct.Struct("<HQ")  # path length, data length
BATCH = 1 << 20  # bytes gathered before one send
_MAX_PARTS = 900  # below IOV_MAX (1024): three pieces per file
_F_SETPIPE_SZ = 1031  # Linux fcntl: the pipe's buffer size


class FileMaker:
    """Creates files under ``root`` in a child process; ``flags`` are ``os.open``'s (e.g. O_CREAT|O_TRUNC)."""

    def __init__(self, root: str, flags: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", os.path.abspath(__file__), root, str(flags)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdin is not None
        self._fd = self.proc.stdin.fileno()
        try:  # a larger pipe: fewer waits for the child (Linux; elsewhere the default)
            import fcntl

            fcntl.fcntl(self._fd, _F_SETPIPE_SZ, BATCH)
        except (ImportError, OSError):
            pass
        self._parts: list[bytes] = []
        self._held = 0

    def write(self, relpath: str, data: bytes) -> None:
        """Queue one file (``relpath`` already checked: plain, relative, under ``root``)."""
        path = relpath.encode()
        self._parts += (_HEAD.pack(len(path), len(data)), path, data)
        self._held += len(data)
        if self._held >= BATCH or len(self._parts) >= _MAX_PARTS:
            self._send()

    def _send(self) -> None:
        parts, self._parts, self._held = self._parts, [], 0
        views = [memoryview(p) for p in parts]
        try:
            while views:
                n = os.writev(self._fd, views)  # a blocking pipe takes it all, unless a signal cut it short
                while views and n >= len(views[0]):
                    n -= len(views.pop(0))
                if n:
                    views[0] = views[0][n:]
        except BrokenPipeError:
            self._failed()

    def close(self) -> None:
        """Send what is left and wait until the child has created every file; raise if it could not."""
        if self.proc.returncode is not None:
            return
        self._send()
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
        except BrokenPipeError:
            pass
        self.proc.wait()
        if self.proc.returncode:
            self._failed()
        self.proc.stderr.close()  # type: ignore[union-attr]

    def kill(self) -> None:
        """Stop the child now (the failure path: nothing more gets created)."""
        if self.proc.returncode is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stderr):
            try:
                pipe.close()  # type: ignore[union-attr]
            except OSError:
                pass

    def _failed(self) -> None:
        self.proc.wait()  # the pipe broke or the child exited: it has stopped (or is stopping) on its own
        said = self.proc.stderr.read().decode(errors="replace").strip() if self.proc.stderr else ""
        self.kill()
        raise OSError(said or f"The process creating the release's files stopped (exit {self.proc.returncode}).")


def _child(root: str, flags: int) -> None:
    """Read frames from standard input until it ends; create each file (its folders as needed)."""
    src = open(0, "rb", buffering=BATCH)  # noqa: SIM115 (standard input for the whole process)
    made: set[str] = set()
    head_size = _HEAD.size
    relpath = ""
    try:
        while head := src.read(head_size):
            n, size = _HEAD.unpack(head)
            relpath = src.read(n).decode()
            data = src.read(size)
            if len(data) != size:
                raise OSError("the frame was cut short")
            path = os.path.join(root, relpath)
            folder = os.path.dirname(path)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            fd = os.open(path, flags, 0o666)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
    except OSError as exc:
        sys.stderr.write(f"Could not create the release file {relpath}: {exc.strerror or exc}.")
        sys.exit(1)


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
