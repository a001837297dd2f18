# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The file system as the runner's context (persistent_interface): snapshots and atomic writes.

Reading never follows a symbolic link at the target (``lstat``; a regular file is opened
with ``O_NOFOLLOW``). Writing is atomic: a temporary file in the target's directory
(named ``.NAME.XXXXXX.tmp`` so that ``ifcfg-*`` globs and NetworkManager never pick it up),
written, fsynced and set to its mode (0644 unless the format says otherwise: a
NetworkManager keyfile is 0600), then renamed over the target, and the directory
fsynced. ``rename`` replaces the directory entry itself, so a symbolic link at the target
is replaced, never written through. A missing directory is created (mode 0755) only by a
write, so reading and check mode create nothing.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from dataclasses import dataclass
from typing import Optional

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

FILE_MODE = 0o644
DIR_MODE = 0o755


@dataclass(frozen=True)
class FileSnapshot:
    """What is at ``path``: ``kind`` is ``absent``, ``file``, ``symlink`` or ``other``.

    ``data`` holds the bytes of a regular file; a symbolic link is never followed, only
    its ``link_target`` is recorded.
    """

    path: str
    kind: str = "absent"
    data: bytes = b""
    mode: Optional[int] = None
    link_target: Optional[str] = None

    @property
    def text(self):
        return self.data.decode("utf-8", errors="replace")


class FileSystem:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    @staticmethod
    def snapshot(path):
        try:
            return _snapshot(path)
        except FileNotFoundError:
            return FileSnapshot(path=path)
        except NotADirectoryError:
            raise UnderlayError(f"a component of {path} is not a directory", "dir", os.path.dirname(path)) from None
        except OSError as err:  # EACCES, or ELOOP: the file became a link after lstat
            raise UnderlayError(f"cannot read {path}: {err.strerror}", "dir", os.path.dirname(path)) from None

    @classmethod
    def listing(cls, directory, suffix):
        """``{path: text}`` of the regular files in ``directory`` whose names end in ``suffix``
        (sorted; nothing when the directory does not exist; links are not followed)."""
        try:
            names = sorted(os.listdir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return {}
        except OSError as err:
            raise UnderlayError(f"cannot list {directory}: {err.strerror}", "dir", directory) from None
        found = {}
        for name in names:
            if name.endswith(suffix) and not name.startswith("."):
                snap = cls.snapshot(os.path.join(directory, name))
                if snap.kind == "file":
                    found[snap.path] = snap.text
        return found

    def apply(self, step):
        """Carry out ``step``: ``FILE_OPS[step.op]`` with its args."""
        operation = FILE_OPS.get(step.op)
        if operation is None:
            raise UnderlayError(f"{step.action} failed: the file system has no step '{step.op}'")
        operation(**step.args)

    @staticmethod
    def op_write_file(path, content, mode=FILE_MODE):
        try:
            _write(path, content.encode("utf-8"), mode)
        except OSError as err:
            raise _unwritable(path, err) from None

    @staticmethod
    def op_restore_file(path, data, mode):
        """Put back a file's earlier bytes and mode (the undo of a write)."""
        try:
            _write(path, data, mode)
        except OSError as err:
            raise _unwritable(path, err) from None

    @staticmethod
    def op_remove_file(path):
        try:
            remove_file(path)
        except OSError as err:
            raise _unwritable(path, err) from None


# step op -> the FileSystem method that carries it out
FILE_OPS = {
    "write_file": FileSystem.op_write_file,
    "restore_file": FileSystem.op_restore_file,
    "remove_file": FileSystem.op_remove_file,
}


def _unwritable(path, err):
    """A write that the file system refused (read-only, full, not permitted), naming ``dir``."""
    return UnderlayError(f"cannot write {path}: {err.strerror}", "dir", os.path.dirname(path))


def _write(path, data, mode):
    make_directory(os.path.dirname(path))
    atomic_write(path, data, mode)


def atomic_write(path, data, mode):
    """Replace ``path`` with ``data`` (bytes) and ``mode`` atomically: a temporary file in the
    same (existing) directory, written, fsynced and chmodded, renamed over ``path``, then the
    directory fsynced. A failure leaves no temporary file behind."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_directory(directory)


def remove_file(path):
    """Remove ``path`` durably (the directory fsynced); a file already gone is no error."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    fsync_directory(os.path.dirname(path))


def _snapshot(path):
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return FileSnapshot(path=path, kind="symlink", link_target=os.readlink(path))
    if not stat.S_ISREG(info.st_mode):
        return FileSnapshot(path=path, kind="other", mode=stat.S_IMODE(info.st_mode))
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read()
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    return FileSnapshot(path=path, kind="file", data=data, mode=mode)


def make_directory(path):
    """Create ``path`` and any missing parents with mode 0755 (whatever the umask)."""
    missing = []
    while not os.path.isdir(path):
        if os.path.lexists(path):
            raise UnderlayError(f"{path} exists and is not a directory", "dir", path)
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(directory, DIR_MODE)
        fsync_directory(os.path.dirname(directory))


def fsync_directory(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        if err.errno == errno.ENOENT:
            return
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
