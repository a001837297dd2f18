# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Re-apply what ``state_dir`` records: every network, then the endpoints of running owners.

This is what ``underlay-network restore`` (at boot) and ``watch`` (at a container start) do,
and it is the modules' own path: each stored definition becomes the parameters that declared
it (``stored_params``), each lease the batch item that made its endpoint (``stored_item``),
and both go through ``_runner.run`` with the modules' resources, so a restore plans, applies
and rolls back exactly as a playbook run would, and a second restore changes nothing.

One network or endpoint that cannot be restored is reported (one line) and the rest still
are. Only endpoints whose owner is running now are attached; nothing is ever released here
beyond what the engine itself releases (a lease whose owner is provably gone).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ansible_collections.underlay.network.plugins.module_utils import _bridge, _dns_service, _endpoint_spec
from ansible_collections.underlay.network.plugins.module_utils import _ipvlan, _macvlan, _runner, _targets
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._resources import CONTAINER_ENDPOINT, NETWORK_BY_DRIVER
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir

STORED_PARAMS = {"macvlan": _macvlan.stored_params, "ipvlan": _ipvlan.stored_params, "bridge": _bridge.stored_params}


@dataclass
class RestoreReport:
    changed: bool = False
    actions: list = field(default_factory=list)   # what was done, one line each
    problems: list = field(default_factory=list)  # what could not be restored, one line each
    skipped: list = field(default_factory=list)   # endpoints left alone, and why
    unrestored: list = field(default_factory=list)  # the problems that are a network or endpoint not restored

    def fail(self, line):
        self.problems.append(line)
        self.unrestored.append(line)

    def take(self, prefix, result):
        self.changed = self.changed or result["changed"]
        self.actions.extend(f"{prefix}: {action}" for action in result["actions"])
        self.problems.extend(f"{prefix}: warning: {warning}" for warning in result.get("warnings", ()))


def stored_state(state_dir):
    """``{network: (definition, lease table)}`` as recorded (read under the lock)."""
    if not os.path.isdir(state_dir):
        return {}
    with StateDir(state_dir) as store:
        return {name: (definition, store.leases(name)) for name, definition in store.networks().items()}


def restore(state_dir, netns=None, owners=None, networks=True, endpoints=True):
    """Re-apply the stored networks (when ``networks``) and the endpoints of running owners
    (when ``endpoints``; only those in ``owners``, e.g. ``{"container:web"}``, when given)."""
    report = RestoreReport()
    common = {"state_dir": state_dir, "netns": netns}
    try:
        stored = stored_state(state_dir)
    except UnderlayError as err:
        report.problems.append(str(err))
        return report
    usable = set(stored)
    if networks:
        for name, (definition, _table) in sorted(stored.items()):
            driver = definition["driver"]
            try:
                params = dict(STORED_PARAMS[driver](definition), **common)
                report.take(f"network {name}", _runner.run(NETWORK_BY_DRIVER[driver], params))
            except UnderlayError as err:
                report.fail(f"network {name}: not restored: {err}")
                usable.discard(name)
    if endpoints and stored:
        # the names resolver lets go of the namespaces that went (a restarted container's old
        # one) before their endpoints are made again, not up to a poll later
        _dns_service.release(state_dir)
    for name in sorted(usable if endpoints else ()):
        items = _running_items(name, stored[name][1]["leases"], owners, report)
        if items:
            _attach(name, items, common, report)
    if endpoints and stored:  # and serves the namespaces attached again (their loopback up now)
        _dns_service.release(state_dir)
    return report


def _running_items(network, leases, owners, report):
    """The batch items of the leases whose owner is running now."""
    items = []
    inspections = _targets.Inspections()
    _targets.prefetch_containers(inspections, _targets.leased_containers(
        lease for lease in leases.values() if owners is None or lease["owner"] in owners))
    for address, lease in sorted(leases.items()):
        owner = lease["owner"]
        if owners is not None and owner not in owners:
            continue
        kind = owner.split(":", 1)[0]
        if kind == "pid":
            # a process ID names another process after a reboot; only a playbook run re-attaches it
            report.skipped.append(f"network {network}: {owner} ({address}): a process ID is not restored")
            continue
        if kind not in ("container", "netns"):
            report.problems.append(f"network {network}: lease of {address} has an owner this collection does"
                                   f" not make: '{owner}'")
            continue
        item = _endpoint_spec.stored_item(network, address, lease)
        try:
            _targets.resolve(*next((key, item[key]) for key in _endpoint_spec.TARGET_KEYS if key in item),
                             item["runtime"], inspections)
        except UnderlayError as err:
            report.skipped.append(f"network {network}: {owner} ({address}): {err}")
            continue
        items.append(item)
    return items


def _attach(network, items, common, report):
    """All of a network's endpoints in one batch; if that fails, each alone, so one endpoint
    that cannot be restored does not hold back the others."""
    if len(items) > 1:
        try:
            report.take(f"network {network}", _runner.run(CONTAINER_ENDPOINT, dict(common, endpoints=items)))
            return
        except UnderlayError:
            pass  # each alone below names the one that fails
    for item in items:
        who = next(f"{key} {item[key]}" for key in _endpoint_spec.TARGET_KEYS if key in item)
        try:
            report.take(f"network {network}", _runner.run(CONTAINER_ENDPOINT, dict(common, endpoints=[item])))
        except UnderlayError as err:
            report.fail(f"network {network}: endpoint of {who} ({item['ipv4_address']}) not restored: {err}")
