# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network definitions and address leases under ``state_dir``.

Layout: ``networks/NAME.json`` (one definition each) and ``leases/NAME.json`` (the lease
table of that network). Every write is atomic (temp file, fsync, rename, fsync of the
directory). A run holds an exclusive ``flock`` on the state_dir directory itself from its
first read to its last write, so concurrent runs on one host never hand out one address
twice, and taking the lock creates no file (check mode leaves state_dir byte-identical).
A file that does not parse is never overwritten: the run stops and names it.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._files import fsync_directory

DIR_MODE = 0o755
FILE_MODE = 0o644


class StateDir:
    def __init__(self, path):
        self.path = path
        self._lock_fd = None

    # -- locking -------------------------------------------------------------------
    def __enter__(self):
        if os.path.isdir(self.path):
            self._lock()
        elif os.path.exists(self.path):
            raise UnderlayError(f"'{self.path}' exists and is not a directory", "state_dir", self.path)
        return self

    def __exit__(self, *exc_info):
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None
        return False

    def _lock(self):
        if self._lock_fd is None:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._lock_fd = fd

    def _ensure(self, *parts):
        """Create state_dir (and a sub-directory) on first write; take the lock if new."""
        os.makedirs(self.path, mode=DIR_MODE, exist_ok=True)
        self._lock()
        path = os.path.join(self.path, *parts)
        os.makedirs(path, mode=DIR_MODE, exist_ok=True)
        return path

    # -- files ---------------------------------------------------------------------
    def _file(self, kind, name):
        return os.path.join(self.path, kind, f"{name}.json")

    def _read(self, path):
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as err:
            raise UnderlayError(
                f"{path} is corrupt ({err}); refusing to use or overwrite it: repair or remove it",
                "state_dir", self.path) from None
        return data

    def _write(self, kind, name, data):
        directory = self._ensure(kind)
        target = self._file(kind, name)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, FILE_MODE)
            os.rename(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        fsync_directory(directory)

    def _delete(self, kind, name):
        try:
            os.unlink(self._file(kind, name))
        except FileNotFoundError:
            return
        fsync_directory(os.path.join(self.path, kind))

    # -- networks ------------------------------------------------------------------
    def network(self, name):
        return self._read(self._file("networks", name))

    def networks(self):
        directory = os.path.join(self.path, "networks")
        try:
            names = sorted(entry[:-5] for entry in os.listdir(directory) if entry.endswith(".json"))
        except FileNotFoundError:
            return {}
        return {name: self.network(name) for name in names}

    def put_network(self, definition):
        self._write("networks", definition["name"], definition)

    def delete_network(self, name):
        self._delete("networks", name)

    # -- leases --------------------------------------------------------------------
    def leases(self, network):
        """``{"leases": {ip: lease}, "last_reserved": ip|None}`` of ``network``."""
        data = self._read(self._file("leases", network))
        if data is None:
            return {"leases": {}, "last_reserved": None}
        if not isinstance(data.get("leases"), dict):
            raise UnderlayError(f"{self._file('leases', network)} is corrupt (no 'leases' table); refusing to"
                                " use or overwrite it: repair or remove it", "state_dir", self.path)
        return {"leases": data["leases"], "last_reserved": data.get("last_reserved")}

    def put_leases(self, network, table):
        self._write("leases", network, {"leases": table["leases"], "last_reserved": table.get("last_reserved")})

    def delete_leases(self, network):
        """Remove ``network``'s lease table, and the ``leases`` directory once it is empty
        (undoing a network's first lease leaves state_dir as it was)."""
        self._delete("leases", network)
        try:
            os.rmdir(os.path.join(self.path, "leases"))
        except OSError:
            pass  # not empty, or not there
