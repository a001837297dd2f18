# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet bench: playbooks/site.yml against 5, 10, 20 namespace hosts reached over real SSH
(tests/lib/underlay_fabric.py), first run and no-op re-run, against a play of as many
``ansible.builtin.command`` tasks per host as site.yml ran, over the same connections.

Each host gets one macvlan network on its uplink (untagged: this kernel has no 802.1Q) and
two container namespaces attached to it; after the first run every container must have its
address.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import yaml

import lab

sys.path.insert(0, os.path.join(lab.REPO, "tests", "lib"))

CONTAINERS_PER_HOST = 2
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)


def _inventory(fleet, hosts):
    with open(os.path.join(fleet.fabric.workdir, "inventory.yml"), encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    endpoints = []
    for i, host in enumerate(hosts):
        inventory["all"]["hosts"][host].update({
            "underlay_trunks": [{"parent": "ens33", "vlans": []}],
            "underlay_networks": [{"name": "lan", "driver": "macvlan", "parent": "ens33", "subnet": "10.77.0.0/16",
                                   "gateway": "10.77.0.1", "ip_range": f"10.77.{i + 1}.0/24"}],
        })
        for c in range(CONTAINERS_PER_HOST):
            endpoints.append({"host": host, "container_netns": f"{fleet.prefix}{host}c{c}", "network": "lan"})
    inventory["all"]["vars"]["underlay_endpoints"] = endpoints
    return inventory


def _play(env, inventory, playbook):
    start = time.perf_counter()
    done = subprocess.run(["ansible-playbook", "-i", inventory, playbook], capture_output=True, text=True, env=env,
                          check=False)
    elapsed = time.perf_counter() - start
    recap = {m.group(1): [int(x) for x in m.groups()[1:]] for m in RECAP.finditer(done.stdout)}
    if done.returncode != 0 or not recap:
        raise RuntimeError(f"{playbook} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return elapsed, recap


class _Fleet:
    def __init__(self, workdir, count, token):
        from underlay_fabric import Fabric  # pylint: disable=import-outside-toplevel
        self.prefix = f"ulb{token}-"
        self.hosts = [f"h{i}" for i in range(count)]
        self.containers = [f"{host}c{c}" for host in self.hosts for c in range(CONTAINERS_PER_HOST)]
        self.fabric = Fabric(os.path.join(workdir, "fabric"))
        self.fabric.prefix = self.prefix
        self.spec = {"prefix": self.prefix, "trunk": "ens33", "router": {"untagged": ["10.77.0.1/16"]},
                     "hosts": self.hosts, "containers": self.containers}

    def __enter__(self):
        self.fabric.up(self.spec)
        return self

    def __exit__(self, *exc):
        self.fabric.down()


def run(args, workdir, log, notes):
    """Samples for the fleet bench (driver "fleet", n = hosts, peers "site" and "command")."""
    site = os.path.join(lab.REPO, "playbooks", "site.yml")
    fabric_lib = os.path.join(lab.REPO, "tests", "lib", "underlay_fabric.py")
    if not (os.path.exists(site) and os.path.exists(fabric_lib)):
        notes.append("fleet: playbooks/site.yml or tests/lib/underlay_fabric.py missing; skipped")
        return []
    if not os.path.exists("/usr/sbin/sshd"):
        notes.append("fleet: /usr/sbin/sshd missing (openssh-server); skipped")
        return []
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=lab.COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_HOST_KEY_CHECKING="False")
    samples = []
    reps = args.fleet_reps or args.reps
    for count in args.fleet:
        for rep in range(reps):
            token = os.urandom(3).hex()
            before = lab.load()[0]
            log(f"  fleet {count} hosts repetition {rep + 1}/{reps} (load {before:.2f})")
            where = os.path.join(workdir, f"fleet-{count}-{rep}")
            with _Fleet(where, count, token) as fleet:
                lab.World.LIVE.append(_Cleanup(fleet))
                inventory = os.path.join(where, "inventory.yml")
                with open(inventory, "w", encoding="utf-8") as handle:
                    yaml.safe_dump(_inventory(fleet, fleet.hosts), handle)
                first, recap = _play(env, inventory, site)
                missing = [c for c in fleet.containers if not fleet.fabric.address_of(fleet.prefix + c)]
                if missing:
                    raise RuntimeError(f"fleet: after site.yml {len(missing)} containers have no address: {missing}")
                again, recap2 = _play(env, inventory, site)
                if any(values[1] for values in recap2.values()):
                    raise RuntimeError(f"fleet: the re-run of site.yml changed something: {recap2}")
                # the baseline: as many command tasks per host as site.yml ran there (ok + skipped)
                tasks = max(values[0] + values[4] for values in recap.values())
                baseline = os.path.join(where, "commands.yml")
                with open(baseline, "w", encoding="utf-8") as handle:
                    yaml.safe_dump([{"name": "Baseline", "hosts": "all", "gather_facts": False,
                                     "tasks": [{"name": f"Command {i}", "ansible.builtin.command": "true",
                                                "changed_when": False} for i in range(tasks)]}], handle)
                command_first = _play(env, inventory, baseline)[0]
                command_again = _play(env, inventory, baseline)[0]
            log(f"    site.yml {first:6.2f} s, re-run {again:6.2f} s; {tasks} command tasks {command_first:6.2f} s,"
                f" re-run {command_again:6.2f} s")
            for peer, phase, seconds in (("site", "attach", first), ("site", "noop", again),
                                         ("command", "attach", command_first), ("command", "noop", command_again)):
                samples.append({"driver": "fleet", "n": count, "peer": peer, "rep": rep, "phase": phase,
                                "seconds": seconds, "load": before, "tasks": tasks})
    return samples


class _Cleanup:
    """Lets the benches' exit handler (lab.cleanup_all) take the fabric down should the run stop."""

    def __init__(self, fleet):
        self.fleet = fleet

    def close(self):
        self.fleet.fabric.down()
