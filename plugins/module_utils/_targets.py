# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which network namespace an endpoint goes into: a Docker or Podman container (resolved to
its PID through the runtime's CLI), a PID, or a named or path netns. The only place that
runs a container runtime.

Each target has an ``owner`` key: leases are keyed by it, so the same container gets the
same address and MAC after a restart (its PID changes, its name does not).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Optional

from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

RUNTIMES = ("docker", "podman")
TARGET_KEYS = ("container", "pid", "container_netns")  # the options that name an endpoint's namespace


@dataclass(frozen=True)
class Target:
    owner: str                 # lease key: container:NAME, netns:NAME, pid:N
    label: str                 # what messages call it
    netns_path: str
    container: Optional[str] = None
    container_id: Optional[str] = None
    runtime: Optional[str] = None      # the runtime that answered for a container
    resolv_conf_path: Optional[str] = None  # a container's: the runtime's ResolvConfPath (see _resolv_conf)


def describe(kind, value):
    return {"container": f"container:{value}", "pid": f"pid:{value}", "container_netns": f"netns:{value}"}[kind]


class Inspections:
    """The runtimes' ``inspect`` answers for one run, asked in batches: one CLI call per runtime
    for every container of a batch instead of one call per container (tens of ms each).

    Only containers that one batch answer names unambiguously (by name, or by ID prefix) are
    kept; anything else is asked one by one as before, so messages stay the CLI's own.
    """

    def __init__(self):
        self._data = {}

    def prefetch(self, names, runtimes=RUNTIMES):
        """Ask every installed runtime of ``runtimes`` about ``names`` at once."""
        for tool in runtimes:
            wanted = sorted({name for name in names if isinstance(name, str) and name} - {
                name for (known_tool, name) in self._data if known_tool == tool})
            if not wanted or not shutil.which(tool):
                continue
            proc = subprocess.run([tool, "inspect", "--type", "container", *wanted], capture_output=True, text=True,
                                  check=False)
            try:
                found = json.loads(proc.stdout or "[]")
            except ValueError:
                continue
            if not isinstance(found, list):
                continue
            for name in wanted:
                matches = [data for data in found if isinstance(data, dict) and (
                    (data.get("Name") or "").lstrip("/") == name.lstrip("/") or (data.get("Id") or "").startswith(name))]
                if len(matches) == 1:
                    self._data[(tool, name)] = matches[0]

    def get(self, tool, name):
        return self._data.get((tool, name))


def prefetch_containers(inspections, wanted):
    """Ask about the containers of ``wanted``, ``(name, runtime)`` pairs (runtime ``auto`` or
    None: every runtime), in one call per runtime: a lease's container only of the runtime
    that made it."""
    by_runtime = {tool: set() for tool in RUNTIMES}
    for name, runtime in wanted:
        for tool in (runtime,) if runtime in RUNTIMES else RUNTIMES:
            by_runtime[tool].add(name)
    for tool, names in by_runtime.items():
        if names:
            inspections.prefetch(names, (tool,))


def leased_containers(leases):
    """``(name, runtime)`` of the container owners of ``leases`` (lease dicts)."""
    return [(lease["owner"].split(":", 1)[1], lease.get("runtime")) for lease in leases
            if lease["owner"].startswith("container:")]


def resolve(kind, value, runtime="auto", inspections=None):
    """The namespace of a ``container``, ``pid`` or ``container_netns`` target (must exist now);
    ``inspections`` (an ``Inspections``) answers for containers asked in a batch before."""
    if kind == "pid":
        pid = v.integer("pid", value, 1, 2 ** 22)
        path = f"/proc/{pid}/ns/net"
        if not os.path.exists(path):
            raise UnderlayError(f"no process {pid} is running", "pid", value)
        return Target(owner=f"pid:{pid}", label=f"pid {pid}", netns_path=path)
    if kind == "container_netns":
        path = v.netns_path("container_netns", value)
        if not os.path.exists(path):
            raise UnderlayError(f"network namespace '{value}' does not exist ({path})", "container_netns", value)
        return Target(owner=f"netns:{value}", label=f"namespace {value}", netns_path=path)
    return _container(value, runtime, inspections)


def _container(name, runtime, inspections=None):
    if not isinstance(name, str) or not name:
        raise UnderlayError("must be a container name or ID", "container", name)
    candidates = RUNTIMES if runtime == "auto" else (runtime,)
    installed = [r for r in candidates if shutil.which(r)]
    if not installed:
        what = "neither docker nor podman is" if runtime == "auto" else f"{runtime} is not"
        raise UnderlayError(f"{what} installed on this host", "runtime", runtime)
    reasons = []
    for tool in installed:
        data = inspections.get(tool, name) if inspections is not None else None
        if data is None:
            proc = subprocess.run([tool, "inspect", "--type", "container", name], capture_output=True, text=True,
                                  check=False)
            if proc.returncode != 0:
                said = ((proc.stderr or proc.stdout).strip().splitlines() or ["no answer"])[-1]
                if "Cannot connect" in said or "daemon running" in said:
                    if runtime != "auto":
                        raise UnderlayError(f"{tool} is not usable on this host: {said}", "runtime", runtime)
                    said = "its daemon is not running"
                reasons.append(f"{tool}: {said}")
                continue
            data = json.loads(proc.stdout)[0]
        state = data.get("State") or {}
        canonical = (data.get("Name") or name).lstrip("/")
        if not state.get("Running") or not state.get("Pid"):
            raise UnderlayError(f"container '{name}' ({tool}) is not running (status {state.get('Status')})",
                                "container", name)
        return Target(owner=f"container:{canonical}", label=f"container {canonical}",
                      netns_path=f"/proc/{state['Pid']}/ns/net", container=canonical, container_id=data.get("Id"),
                      runtime=tool, resolv_conf_path=data.get("ResolvConfPath") or None)
    raise UnderlayError(f"no container named '{name}' ({'; '.join(reasons)})", "container", name)


_NO_SUCH = ("no such container", "no such object")


def owner_state(owner, inspections=None, runtime=None):
    """Whether the owner of a lease still exists: ``("alive", None)``, ``("gone", None)`` or
    ``("unknown", reason)``.

    Only a provable absence is "gone" (a lease is released only then): a namespace or
    ``/proc/PID`` that does not exist, or a container that its runtime (``runtime``, the one
    that answered for it when its lease was made), else every installed runtime, having
    answered, says it does not have. A runtime that is not installed, not running or not
    answering proves nothing: the owner is "unknown" and its lease is kept.
    """
    kind, value = owner.split(":", 1) if ":" in owner else (owner, "")
    if kind == "pid":
        return ("alive", None) if os.path.exists(f"/proc/{value}/ns/net") else ("gone", None)
    if kind == "netns":
        return ("alive", None) if os.path.exists(v.netns_path("container_netns", value)) else ("gone", None)
    if kind != "container":
        return "unknown", f"'{owner}' is not an owner this collection makes"
    doubts = []
    if runtime in RUNTIMES and not shutil.which(runtime):
        return "unknown", f"{runtime}, whose container it is, is not installed to ask"
    for tool in (runtime,) if runtime in RUNTIMES else RUNTIMES:
        if inspections is not None and inspections.get(tool, value) is not None:
            return "alive", None
        if not shutil.which(tool):
            continue
        proc = subprocess.run([tool, "inspect", "--type", "container", "--format", "{{.Id}}", value],
                              capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return "alive", None
        said = ((proc.stderr or proc.stdout).strip().splitlines() or ["no answer"])[-1]
        if not any(marker in said.lower() for marker in _NO_SUCH):
            doubts.append(f"{tool} could not be asked ({said})")
    if doubts:
        return "unknown", "; ".join(doubts)
    if not any(shutil.which(tool) for tool in RUNTIMES):
        return "unknown", "neither docker nor podman is installed to ask"
    return "gone", None


def _identity(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def host_namespaces(netns_path=None):
    """Identities of the namespaces an endpoint must never go into: the one the module works
    in (``netns``, else its own) and the host's initial one (PID 1's)."""
    found = {_identity(netns_path or "/proc/self/ns/net"), _identity("/proc/1/ns/net")}
    return frozenset(found - {None})


def refuse_host_namespace(kind, value, target, host):
    """Refuse a target whose namespace is one of ``host`` (a ``--network host`` container,
    PID 1, a process of the host): an endpoint there would sit among the host's own links."""
    if _identity(target.netns_path) in host:
        raise UnderlayError(f"{target.label} shares the host's network namespace (a host-network container or"
                            " process); an endpoint can only be attached to a namespace of its own", kind, value)
