# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network definitions and address leases under ``state_dir``.

Layout: ``networks/NAME.json`` (one definition each), ``leases/NAME.json`` (the lease
table of that network) and ``peers/NAME.json`` (the name records of that network's endpoints
on other hosts, written by network_peers). Every write is atomic (temp file, fsync, rename, fsync of the
directory).

A run holds an exclusive ``flock`` from its first read to its last write, so concurrent
runs on one host never hand out one address twice nor store two overlapping networks.
The lock is on the state_dir directory itself; while state_dir does not exist yet it is on
its nearest existing ancestor, and the first write creates state_dir already locked (built
under a temporary name, locked, renamed into place), so a run that finds the new directory
waits for the one that made it. Taking a lock creates nothing: check mode leaves the file
system byte-identical.

Everything read is checked once, here: a file that does not parse, or whose definition or
lease table is malformed, is refused naming it and never overwritten.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import shutil
import tempfile

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._files import atomic_write, fsync_directory, remove_file
from ansible_collections.underlay.network.plugins.module_utils._network_spec import build_ipam, stored_ipam6

DEFAULT_STATE_DIR = "/var/lib/underlay-network"  # every module's and the command's state_dir default
DIR_MODE = 0o755
FILE_MODE = 0o644
# the fields each driver's code reads from a stored definition, all strings
DEFINITION_STRINGS = {"macvlan": ("name", "id", "parent", "mode"), "ipvlan": ("name", "id", "parent", "mode", "flag"),
                      "bridge": ("name", "id", "bridge_name")}
IPAM_STRINGS = ("subnet", "gateway", "ip_range")
# optional lease fields the engine reads as strings
LEASE_STRINGS = ("container", "container_id", "ifname", "netns_path", "mac_address", "runtime")


class StateDir:
    def __init__(self, path):
        self.path = path
        self._absolute = os.path.abspath(path)
        self._lock_fd = None  # flock on state_dir itself
        self._ancestor = None  # (path, fd): flock on the nearest ancestor while state_dir is missing

    # -- locking -------------------------------------------------------------------
    def __enter__(self):
        while True:
            held = self._nearest_directory()
            fd = self._locked(held)
            if self._nearest_directory() == held:
                break
            os.close(fd)  # a directory on the way appeared while we waited: lock that one
        if held == self._absolute:
            self._lock_fd = fd
        else:
            self._ancestor = (held, fd)
        return self

    def __exit__(self, *exc_info):
        if self._ancestor is not None:
            os.close(self._ancestor[1])  # closing releases the flock
        if self._lock_fd is not None:
            os.close(self._lock_fd)
        self._lock_fd = self._ancestor = None
        return False

    def check_readable(self):
        """Refuse a state_dir that taking the lock would refuse (one that is, or lies below, a
        file), without taking it: a reader that never writes (network_info) reads the files as
        they are, and every write is an atomic rename, so it never sees half a file."""
        self._nearest_directory()

    def _nearest_directory(self):
        """state_dir itself when it is a directory, else its nearest existing ancestor."""
        path = self._absolute
        while not os.path.isdir(path):
            if os.path.lexists(path):
                where = "exists" if path == self._absolute else f"cannot be made: '{path}' exists"
                raise UnderlayError(f"'{self.path}' {where} and is not a directory", "state_dir", self.path)
            path = os.path.dirname(path)
        return path

    def _locked(self, path):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as err:
            raise UnderlayError(f"cannot open {path}: {err.strerror}", "state_dir", self.path) from None
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def _create(self):
        """Create state_dir (and its missing parents) already locked, under the ancestor's lock.

        The missing directories are built under a temporary name in the ancestor, the
        innermost (state_dir) is locked, and one rename puts them all in place: whoever
        sees any of them sees state_dir, and waits for its lock.
        """
        ancestor, ancestor_fd = self._ancestor
        missing = os.path.relpath(self._absolute, ancestor).split(os.sep)
        temporary = tempfile.mkdtemp(prefix=f".{missing[0]}.", suffix=".tmp", dir=ancestor)
        fd = None
        try:
            made = [temporary]
            for part in missing[1:]:
                made.append(os.path.join(made[-1], part))
                os.mkdir(made[-1])
            for directory in reversed(made):
                os.chmod(directory, DIR_MODE)
                fsync_directory(directory)
            fd = self._locked(made[-1])
            os.rename(temporary, os.path.join(ancestor, missing[0]))
        except BaseException:
            if fd is not None:
                os.close(fd)
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        fsync_directory(ancestor)
        self._lock_fd, self._ancestor = fd, None
        os.close(ancestor_fd)

    def _ensure(self, kind):
        """The ``kind`` sub-directory, created (with state_dir) on first write."""
        if self._lock_fd is None:
            self._create()
        path = os.path.join(self.path, kind)
        if not os.path.isdir(path):
            os.mkdir(path)
            os.chmod(path, DIR_MODE)
            fsync_directory(self.path)
        return path

    def _unwritable(self, what, err):
        return UnderlayError(f"cannot write {what}: {err.strerror}", "state_dir", self.path)

    # -- files ---------------------------------------------------------------------
    def _file(self, kind, name):
        return os.path.join(self.path, kind, f"{name}.json")

    def _read(self, path, check):
        """The JSON object in ``path`` (None when there is none), refused unless ``check``
        finds nothing wrong with it."""
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise UnderlayError(f"cannot read {path}: {err.strerror}", "state_dir", self.path) from None
        try:
            data = json.loads(raw)
            problem = check(data) if isinstance(data, dict) else "not a JSON object"
        except ValueError as err:
            problem = str(err)
        if problem:
            raise UnderlayError(f"{path} is corrupt ({problem}); refusing to use or overwrite it: repair or remove it",
                                "state_dir", self.path)
        return data

    def _write(self, kind, name, data):
        target = self._file(kind, name)
        text = json.dumps(data, indent=1, sort_keys=True) + "\n"
        try:
            self._ensure(kind)
            atomic_write(target, text.encode("utf-8"), FILE_MODE)
        except OSError as err:
            raise self._unwritable(target, err) from None

    def _delete(self, kind, name):
        target = self._file(kind, name)
        try:
            remove_file(target)
        except OSError as err:
            raise self._unwritable(target, err) from None

    # -- networks ------------------------------------------------------------------
    def network(self, name):
        return self._read(self._file("networks", name), lambda data: definition_problem(name, data))

    def networks(self):
        directory = os.path.join(self.path, "networks")
        try:
            names = sorted(entry[:-5] for entry in os.listdir(directory) if entry.endswith(".json"))
        except FileNotFoundError:
            return {}
        except OSError as err:
            raise UnderlayError(f"cannot read {directory}: {err.strerror}", "state_dir", self.path) from None
        return {name: self.network(name) for name in names}

    def put_network(self, definition):
        self._write("networks", definition["name"], definition)

    def delete_network(self, name):
        self._delete("networks", name)

    # -- leases --------------------------------------------------------------------
    def leases(self, network):
        """``{"leases": {ip: lease}, "last_reserved": ip|None}`` of ``network`` (and
        ``last_reserved6`` on a dual-stack network that has leased an IPv6 address)."""
        data = self._read(self._file("leases", network), lease_table_problem)
        if data is None:
            return {"leases": {}, "last_reserved": None}
        table = {"leases": data["leases"], "last_reserved": data.get("last_reserved")}
        if data.get("last_reserved6") is not None:
            table["last_reserved6"] = data["last_reserved6"]
        return table

    def put_leases(self, network, table):
        data = {"leases": table["leases"], "last_reserved": table.get("last_reserved")}
        if table.get("last_reserved6") is not None:
            data["last_reserved6"] = table["last_reserved6"]
        self._write("leases", network, data)

    def delete_leases(self, network):
        """Remove ``network``'s lease table, and the ``leases`` directory once it is empty
        (undoing a network's first lease leaves state_dir as it was)."""
        self._delete("leases", network)
        try:
            os.rmdir(os.path.join(self.path, "leases"))
        except OSError:
            pass  # not empty, or not there

    # -- peers (the network's endpoints on other hosts) ------------------------------
    def peers(self, network):
        """The stored peer records of ``network`` (``[{host, name, aliases, address}]``), [] when none."""
        data = self._read(self._file("peers", network), peer_table_problem)
        return [] if data is None else data["peers"]

    def put_peers(self, network, peers):
        self._write("peers", network, {"peers": list(peers)})

    def delete_peers(self, network):
        """Remove ``network``'s peer records, and the ``peers`` directory once it is empty."""
        self._delete("peers", network)
        try:
            os.rmdir(os.path.join(self.path, "peers"))
        except OSError:
            pass  # not empty, or not there


def definition_problem(name, definition):
    """What is wrong with the stored definition of network ``name`` (None when nothing)."""
    driver = definition.get("driver")
    if driver not in DEFINITION_STRINGS:
        return f"driver {driver!r} is not one of {', '.join(DEFINITION_STRINGS)}"
    for field in DEFINITION_STRINGS[driver]:
        if not isinstance(definition.get(field), str):
            return f"'{field}' is missing or not a string"
    if definition["name"] != name:
        return f"it defines network '{definition['name']}'"
    ipam = definition.get("ipam")
    if not isinstance(ipam, dict) or not all(isinstance(ipam.get(field), str) for field in IPAM_STRINGS):
        return "'ipam' is not an object with subnet, gateway and ip_range"
    if not isinstance(ipam.get("aux_addresses") or {}, dict):
        return "'ipam.aux_addresses' is not an object"
    try:
        build_ipam(ipam)
    except UnderlayError as err:
        return f"ipam.{err}"
    ipam6 = definition.get("ipam6")
    if ipam6 is not None and not (isinstance(ipam6, dict)
                                  and all(isinstance(ipam6.get(field), str) for field in IPAM_STRINGS)):
        return "'ipam6' is not an object with subnet, gateway and ip_range"
    try:
        stored_ipam6(definition)
    except UnderlayError as err:
        return f"ipam6.{err}"
    access = definition.get("host_access")
    if access is not None and not (isinstance(access, dict)
                                   and all(isinstance(access.get(key), str) for key in ("ifname", "address"))):
        return "'host_access' is not an object with ifname and address"
    return None


def lease_table_problem(data):
    """What is wrong with a stored lease table (None when nothing)."""
    leases = data.get("leases")
    if not isinstance(leases, dict):
        return "no 'leases' table"
    held6 = {}
    for ip, lease in leases.items():
        if not is_address(ip):
            return f"lease key {ip!r} is not an IP address"
        if not isinstance(lease, dict) or not isinstance(lease.get("owner"), str):
            return f"the lease of {ip} is not an object with a string 'owner'"
        for field in LEASE_STRINGS:
            if field in lease and not isinstance(lease[field], str):
                return f"'{field}' of the lease of {ip} is not a string"
        address6 = lease.get("ipv6_address")
        if address6 is not None:
            if not is_address(address6):
                return f"ipv6_address {address6!r} of the lease of {ip} is not an IP address"
            if address6 in held6:
                return f"{address6} is the ipv6_address of the leases of both {held6[address6]} and {ip}"
            held6[address6] = ip
    for key in ("last_reserved", "last_reserved6"):
        last = data.get(key)
        if last is not None and not is_address(last):
            return f"{key} {last!r} is not an IP address"
    return None


def peer_table_problem(data):
    """What is wrong with a stored peer table (None when nothing)."""
    peers = data.get("peers")
    if not isinstance(peers, list):
        return "no 'peers' list"
    for index, peer in enumerate(peers):
        if not isinstance(peer, dict) or not all(isinstance(peer.get(key), str) for key in ("host", "name", "address")):
            return f"peers[{index}] is not an object with string host, name and address"
        if not is_address(peer["address"]):
            return f"the address of peers[{index}] {peer['address']!r} is not an IP address"
        aliases = peer.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(alias, str) for alias in aliases):
            return f"the aliases of peers[{index}] are not a list of strings"
    return None


def is_address(value):
    """Whether ``value`` is an IP address written as the engine writes one."""
    try:
        return str(ipaddress.ip_address(value)) == value
    except ValueError:
        return False
