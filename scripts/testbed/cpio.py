"""A minimal newc cpio writer for initramfs images.

Written in Python rather than with the cpio tool so that ownership (root),
device nodes and modes are set in the archive itself: no root-owned staging
tree, no mknod on the host, and byte-identical output for identical input.
"""

from __future__ import annotations

import stat
from pathlib import PurePosixPath

_TRAILER = "TRAILER!!!"


def _pad4(length: int) -> bytes:
    return b"\0" * (-length % 4)


class CpioWriter:
    """Accumulates entries; parent directories are added automatically."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._paths: set[str] = set()
        self._ino = 1

    def add_dir(self, path: str, mode: int = 0o755) -> None:
        """Add a directory (and its parents) unless it is already there."""
        name = self._normalise(path)
        if name in self._paths or name == "":
            return
        self._parents(name)
        self._entry(name, stat.S_IFDIR | mode, b"")

    def add_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Add a regular file; a later add of the same path wins at unpack."""
        name = self._normalise(path)
        self._parents(name)
        self._entry(name, stat.S_IFREG | mode, data)

    def add_symlink(self, path: str, target: str) -> None:
        """Add a symlink whose data is its target, as newc stores it."""
        name = self._normalise(path)
        self._parents(name)
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def add_chardev(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        """Add a character device node (e.g. /dev/console) without mknod."""
        name = self._normalise(path)
        self._parents(name)
        self._entry(name, stat.S_IFCHR | mode, b"", rdev=(major, minor))

    def getvalue(self) -> bytes:
        """Return the archive with its trailer; the writer stays usable."""
        return b"".join(self._chunks) + self._header(_TRAILER, 0, 0, (0, 0), ino=0)

    @staticmethod
    def _normalise(path: str) -> str:
        return str(PurePosixPath("/", path)).lstrip("/")

    def _parents(self, name: str) -> None:
        for parent in reversed(PurePosixPath(name).parents):
            if str(parent) not in (".", ""):
                self.add_dir(str(parent))

    def _entry(self, name: str, mode: int, data: bytes, rdev: tuple[int, int] = (0, 0)) -> None:
        self._paths.add(name)
        self._chunks.append(self._header(name, mode, len(data), rdev, ino=self._ino))
        self._chunks.append(data + _pad4(len(data)))
        self._ino += 1

    @staticmethod
    def _header(name: str, mode: int, size: int, rdev: tuple[int, int], ino: int) -> bytes:
        encoded = name.encode() + b"\0"
        nlink = 2 if stat.S_ISDIR(mode) else 1
        fields = (ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], len(encoded), 0)
        header = b"070701" + b"".join(b"%08x" % value for value in fields)
        return header + encoded + _pad4(len(header) + len(encoded))
