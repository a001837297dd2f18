# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml and the roles against namespace hosts reached over SSH: bad role
input fails at validation, before any host changes, naming the item; a role run on its own
fails at its argument-spec boundary naming the option."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

import underlay_testlib as lib
from test_names import ask

GOOD = {
    "host1": {"underlay_trunks": [{"parent": "ens33", "vlans": []}],
              "underlay_networks": [{"name": "lan", "driver": "macvlan", "parent": "ens33", "subnet": "10.77.0.0/16",
                                     "gateway": "10.77.0.1", "ip_range": "10.77.1.0/24"}]},
    "host2": {"underlay_trunks": [{"parent": "ens33", "vlans": []}],
              "underlay_networks": [{"name": "lan", "driver": "macvlan", "parent": "ens33", "subnet": "10.77.0.0/16",
                                     "gateway": "10.77.0.1", "ip_range": "10.77.2.0/24"}]},
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("this lane needs root (network namespaces); run it through scripts/test")
    workdir = tmp_path_factory.mktemp("site")
    with lib.SshFabric(workdir / "fabric", ["host1", "host2"], ["c1", "c2"]) as fabric:
        yield fabric


def play(fleet, tmp_path, host_vars, endpoints, playbook="underlay.network.site", extra=()):
    inventory = fleet.inventory()
    for host, variables in host_vars.items():
        inventory["all"]["hosts"][host].update(variables)
    inventory["all"]["vars"]["underlay_endpoints"] = endpoints
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return subprocess.run(["ansible-playbook", "-i", str(path), playbook, *extra], capture_output=True, text=True,
                          env=lib.ansible_env(), check=False)


def variant(host, key, value):
    changed = {name: dict(variables) for name, variables in GOOD.items()}
    changed[host][key] = value
    return changed


BAD = [
    ("a VLAN id of 5000",
     variant("host1", "underlay_trunks", [{"parent": "ens33", "vlans": [{"id": 5000}]}]), [],
     "host1: underlay_trunks[ens33].vlans[0].id: 5000 is out of range (1-4094)"),
    ("two trunks with the same parent",
     variant("host2", "underlay_trunks", [{"parent": "ens33", "vlans": []}, {"parent": "ens33", "vlans": [{"id": 3}]}]),
     [], "host2: underlay_trunks[1].parent: 'ens33' is also the parent of underlay_trunks[0]"),
    ("a network with an unknown driver",
     variant("host1", "underlay_networks", GOOD["host1"]["underlay_networks"] + [
         {"name": "ov", "driver": "overlay", "subnet": "10.9.0.0/24"}]), [],
     "host1: underlay_networks[1]: value of driver must be one of: macvlan, ipvlan, bridge, got: overlay (role networks)"),
    ("an endpoint without a network", GOOD, [{"host": "host1", "container_netns": "x"}],
     "host1: underlay_endpoints[0]: missing required arguments: network (role endpoints)"),
    ("ip_ranges of one segment that overlap across hosts",
     variant("host2", "underlay_networks", [dict(GOOD["host2"]["underlay_networks"][0], ip_range="10.77.1.128/25")]),
     [], "host2: underlay_networks[lan].ip_range: 10.77.1.128/25 overlaps 10.77.1.0/24, the ip_range of host1's"),
    ("the same static address on two hosts", GOOD,
     [{"host": "host1", "container_netns": "a", "network": "lan", "ipv4_address": "10.77.9.9"},
      {"host": "host2", "container_netns": "b", "network": "lan", "ipv4_address": "10.77.9.9"}],
     "host2: underlay_endpoints[1].ipv4_address: 10.77.9.9 is also host1's underlay_endpoints[0].ipv4_address"),
    ("the same name on two hosts of one macvlan network", GOOD,
     [{"host": "host1", "container_netns": "a", "network": "lan", "aliases": ["db"]},
      {"host": "host2", "container_netns": "b", "network": "lan", "aliases": ["db"]}],
     "host2: underlay_endpoints[1].aliases: 'db' of container_netns b is also a name of host1's underlay_endpoints[0]"
     " (container_netns a) on network 'lan'"),
    ("a gateway outside its subnet",
     variant("host1", "underlay_networks", [dict(GOOD["host1"]["underlay_networks"][0], gateway="10.78.0.1")]),
     [], "host1: underlay_networks[lan].gateway: 10.78.0.1 is outside the subnet 10.77.0.0/16"),
    ("an endpoint naming a network its host does not define", GOOD,
     [{"host": "host2", "container_netns": "b", "network": "vlan100"}],
     "host2: underlay_endpoints[0].network: host host2 defines no network 'vlan100' (its networks: lan)"),
]


@pytest.mark.parametrize("why, host_vars, endpoints, message", BAD, ids=[case[0] for case in BAD])
def test_bad_plans_fail_before_any_host_changes(fleet, tmp_path, why, host_vars, endpoints, message):
    before = fleet.world()
    done = play(fleet, tmp_path, host_vars, endpoints)
    assert done.returncode != 0, f"{why}: site.yml succeeded\n{done.stdout}"
    assert message in done.stdout, done.stdout
    assert "no host was changed" in done.stdout
    assert "Trunks, networks and endpoints" not in done.stdout, "the roles ran after a failed validation"
    assert fleet.world() == before


def test_a_role_on_its_own_fails_at_its_argument_spec_naming_the_option(fleet, tmp_path):
    playbook = tmp_path / "role.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Only the networks role", "hosts": "host1", "gather_facts": False,
        "roles": [{"role": "underlay.network.networks"}]}]))
    before = fleet.world()
    bad = variant("host1", "underlay_networks", [{"name": "x", "driver": "overlay", "subnet": "10.9.0.0/24"}])
    done = play(fleet, tmp_path, bad, [], playbook=str(playbook))
    assert done.returncode != 0, done.stdout
    assert "Validating arguments against arg spec 'main'" in done.stdout
    assert "value of driver must be one of: macvlan, ipvlan, bridge, got: overlay found in underlay_networks" \
        in done.stdout, \
        done.stdout
    assert fleet.world() == before


def test_site_yml_converges_then_changes_nothing(fleet, tmp_path):
    endpoints = [{"host": "host1", "container_netns": fleet.ns("c1"), "network": "lan"},
                 {"host": "host2", "container_netns": fleet.ns("c2"), "network": "lan", "ipv4_address": "10.77.2.9"}]
    first = play(fleet, tmp_path, GOOD, endpoints)
    assert first.returncode == 0, first.stdout
    assert "Validate every host's trunks, networks and endpoints together" in first.stdout
    second = play(fleet, tmp_path, GOOD, endpoints, extra=["--diff"])
    assert second.returncode == 0, second.stdout
    recap = [line for line in second.stdout.splitlines() if line.startswith("host")]
    assert len(recap) == 2 and all("changed=0" in line for line in recap), second.stdout
    lib.sh("ping", "-c", "1", "-W", "2", "10.77.2.9", ns=fleet.ns("c1"))
    # names across hosts: each endpoint of lan resolves the other host's endpoint, by name
    assert "Names across hosts" in first.stdout
    assert ask(fleet.ns("c1"), fleet.ns("c2")) == ["10.77.2.9"]
    c1 = ask(fleet.ns("c2"), fleet.ns("c1"))
    assert len(c1) == 1 and c1[0].startswith("10.77.1."), c1
    # (ping by name needs the resolv.conf host1 wrote, which lives in host1's /etc overlay: see
    # test_names_across_hosts.py)
    checked = play(fleet, tmp_path, GOOD, endpoints, extra=["--check", "--diff"])
    assert checked.returncode == 0, checked.stdout
    recap = [line for line in checked.stdout.splitlines() if line.startswith("host")]
    assert len(recap) == 2 and all("changed=0" in line for line in recap), checked.stdout


def test_site_yml_with_a_host_left_out_keeps_the_names_across_hosts(fleet, tmp_path):
    endpoints = [{"host": "host1", "container_netns": fleet.ns("c1"), "network": "lan"},
                 {"host": "host2", "container_netns": fleet.ns("c2"), "network": "lan", "ipv4_address": "10.77.2.9"}]
    assert play(fleet, tmp_path, GOOD, endpoints).returncode == 0
    limited = play(fleet, tmp_path, GOOD, endpoints, extra=["--limit", "host1"])
    assert limited.returncode == 0, limited.stdout
    assert "the names across hosts are left as they are: host2 did not run" in limited.stdout, limited.stdout
    assert ask(fleet.ns("c1"), fleet.ns("c2")) == ["10.77.2.9"]
