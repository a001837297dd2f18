# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_endpoint and names: what a batch reads for them (``read``), the steps that make
an endpoint's names resolve when the module returns (``plan``), and those steps' operations
(``OPS``, routed by _workspace).

An endpoint on a network with ``dns`` on gets its namespace's ``resolv.conf`` pointed at the
resolver (127.0.0.11, on the namespace's loopback, which must be up) and the resolver of the
state directory serving the records the new lease tables give (``dns_ensure``, the plan's last
step: it starts the resolver when none runs and waits until it serves them). The file's
original nameserver and options lines are kept in the endpoint's leases (``resolv_conf``) and
put back when the namespace's last endpoint on a ``dns`` network goes. Nothing here is read
or planned for a batch whose networks all have ``dns`` off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ansible_collections.underlay.network.plugins.module_utils import _dns_records, _resolv_conf
from ansible_collections.underlay.network.plugins.module_utils._errors import MissingLibraryError, UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._plan import Step


def _service():
    """_dns_service, imported only when a batch has names to serve; MissingLibraryError when
    the host lacks dnspython (which the resolver needs)."""
    from ansible_collections.underlay.network.plugins.module_utils import _dns_service  # pylint: disable=import-outside-toplevel
    from ansible_collections.underlay.network.plugins.module_utils._dns_server import DNSPYTHON_ERROR  # pylint: disable=import-outside-toplevel
    if DNSPYTHON_ERROR is not None:
        raise MissingLibraryError("dnspython", DNSPYTHON_ERROR)
    return _dns_service


def enabled(definition):
    """Whether a stored network definition has ``dns`` on (a definition without it: on)."""
    return bool(definition.get("dns", True))


@dataclass
class NamesCurrent:
    state_dir: str
    netns: Optional[str]
    tables: dict                 # network -> {ip: lease} of every stored network with dns on that can be read
    served: Optional[dict]       # network -> fingerprint the running resolver serves (None: none runs)
    files: dict = field(default_factory=dict)   # resolv.conf path -> its text (None: absent)
    lo_down: set = field(default_factory=set)   # netns paths whose loopback is down
    host_text: Optional[str] = None             # the host's /etc/resolv.conf (a new netns file starts from it)
    peers: dict = field(default_factory=dict)   # network -> its endpoints on other hosts (_dns_records.peer_records)


def read(ws, spec, definitions, items):
    """What the names steps are planned against, or None when no network of the batch has dns on."""
    if not any(definition and enabled(definition) for definition in definitions.values()):
        return None
    service = _service()
    tables, unreadable = {}, {}
    for name, definition in sorted(ws.store.networks().items()):
        if not definition or not enabled(definition):
            continue
        try:
            tables[name] = ws.store.leases(name)["leases"]
        except UnderlayError as err:
            if name in definitions:
                raise
            unreadable[name] = err
    current = NamesCurrent(state_dir=spec.state_dir, netns=spec.netns, tables=tables,
                           peers={name: _dns_records.peer_records(ws.store.peers(name)) for name in tables},
                           served=service.served_fingerprints(spec.state_dir),
                           host_text=_resolv_conf.read(_resolv_conf.HOST_FILE))
    for item in items:
        if item.target is None:
            continue
        path = resolv_path(item)
        if path is not None and path not in current.files:
            current.files[path] = _resolv_conf.read(path)
        if unreadable and (path is None or _resolv_conf.points_at_resolver(current.files[path])):
            # the namespace may have names through another network: whether it keeps them, and
            # its file's original, are in the other networks' leases, so these are needed
            raise next(iter(unreadable.values()))
        if item.spec.state == "present":
            lo = ws.kernel.other(item.target.netns_path).link("lo")
            if lo is not None and lo.admin_state != "up":
                current.lo_down.add(item.target.netns_path)
    return current


def resolv_path(item):
    return _resolv_conf.path_of(item.spec.target_kind, item.spec.target, item.target.resolv_conf_path)


def plan(result, names, items, finals):
    """Add the resolv.conf and loopback steps of ``items`` to ``result`` and record the files'
    originals in the final leases (``finals``: network -> {ip: lease} after the plan, changed
    in place); returns the ``dns_ensure`` step to end the plan with, or None."""
    if names is None:
        return None
    tables = dict(names.tables)
    tables.update({network: leases for network, leases in finals.items() if network in tables})
    members = {lease["owner"] for leases in tables.values() for lease in leases.values()}
    records = {}
    for leases in names.tables.values():
        for lease in leases.values():
            if lease.get("resolv_conf"):
                records.setdefault(lease["owner"], lease["resolv_conf"])
    done, woken = set(), False
    for item in items:
        if item.target is None or item.target.owner in done:
            continue
        done.add(item.target.owner)
        woken = _plan_namespace(result, names, item, item.target.owner in members, records) or woken
    for network, leases in finals.items():
        for lease in leases.values() if network in tables else ():
            if lease["owner"] in records and lease["owner"] in done:
                lease["resolv_conf"] = records[lease["owner"]]
    # only the batch's networks are waited for (another network's file is not even needed)
    changed = {network: (tables[network], names.peers.get(network, ())) for network in finals if network in tables}
    if names.served is None:
        if not _dns_records.views(changed):
            return None
    elif not woken and _service().serves(names.served, changed):
        return None  # (a namespace whose loopback comes up is served once it is: wait for that)
    state = "start the names resolver and wait until it serves" if names.served is None else \
        "wait until the names resolver serves"
    return Step(f"{state} the new records ({names.state_dir})", "dns_ensure",
                {"state_dir": names.state_dir, "netns": names.netns, "networks": sorted(changed)})


def _plan_namespace(result, names, item, member, records):
    """The namespace's steps; returns whether its loopback is set up (the resolver serves it then)."""
    path = resolv_path(item)
    target, owner = item.target, item.target.owner
    where = {"in_netns": target.netns_path}
    woken = member and target.netns_path in names.lo_down
    if woken:
        result.add(f"set 'lo' up in {target.label} (the names resolver answers on 127.0.0.11)", "link_set",
                   undo=Step("set it down", "link_set", dict(where, name="lo", admin_state="down")),
                   name="lo", admin_state="up", **where)
    if path is None:  # a PID target: its file is not touched; the lease still says it has names
        if member:
            told = owner in records  # attached before (its lease says so): it was told then, not at each restore
            records.setdefault(owner, {"path": None, "lines": None})
            if item.spec.target_kind == "container" and not told:  # its runtime gave it none (Podman's --network none)
                result.warnings.append(
                    f"{target.label} ({target.runtime}) has no resolv.conf of its runtime (no ResolvConfPath;"
                    f" Podman gives a --network none container none): the names resolver answers at"
                    f" {_resolv_conf.RESOLVER} in its namespace, but its resolv.conf cannot be pointed there;"
                    " start it with a network namespace of its own (podman run --network ns:PATH)")
        return woken
    text = names.files.get(path)
    in_place = item.spec.target_kind == "container"
    if member:
        if owner not in records:
            records[owner] = {"path": path, "lines": _resolv_conf.original_lines(text)}
        wanted = _resolv_conf.wanted(text if text is not None or in_place else names.host_text)
        if wanted != text:
            result.add(f"point {path} at the names resolver ({_resolv_conf.RESOLVER})", "resolv_conf_write",
                       undo=Step("put it back", "resolv_conf_write", {"path": path, "text": text, "in_place": in_place}),
                       path=path, text=wanted, in_place=in_place)
        return woken
    record = records.get(owner)
    if record is not None and record.get("path") == path and _resolv_conf.points_at_resolver(text):
        back = _resolv_conf.restored(text, record.get("lines"))
        result.add(f"{'remove' if back is None else 'put back'} {path} (no endpoint of {target.label} resolves"
                   " names any more)", "resolv_conf_write",
                   undo=Step("point it at the resolver again", "resolv_conf_write",
                             {"path": path, "text": text, "in_place": in_place}),
                   path=path, text=back, in_place=in_place)
    return False


def dns_ensure(state_dir, netns=None, networks=None):
    _service().ensure(state_dir, netns, networks=networks)


OPS = {
    "dns_ensure": dns_ensure,
    "resolv_conf_write": _resolv_conf.write,
}
