# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""macvlan_network on a VLAN parent (Debian kernel in the VM), through ansible-playbook."""

from __future__ import annotations

import json

import underlay_testlib as lib

MODULE = "underlay.network.macvlan_network"


def test_vlan_parent_is_created_owned_used_and_removed(namespaces, tmp_path):
    host = namespaces.new("h")
    gateway = namespaces.new("g")
    namespaces.veth(host, "veth0", gateway, "veth1")
    # the far end of the trunk: VLAN 100's gateway
    lib.sh("ip", "link", "add", "link", "veth1", "name", "veth1.100", "type", "vlan", "id", "100", ns=gateway)
    lib.sh("ip", "addr", "add", "10.0.0.1/24", "dev", "veth1.100", ns=gateway)
    lib.sh("ip", "link", "set", "veth1.100", "up", ns=gateway)
    state_dir = str(tmp_path / "state")
    vlan100 = {"name": "vlan100", "parent": "veth0.100", "subnet": "10.0.0.0/24", "ip_range": "10.0.0.0/25",
               "gateway": "10.0.0.1", "netns": host, "state_dir": state_dir}
    vlan100b = {"name": "vlan100-extra", "parent": "veth0.100", "subnet": "10.0.1.0/24", "netns": host,
                "state_dir": state_dir}

    r = lib.run_tasks([{MODULE: vlan100}, {MODULE: vlan100}, {MODULE: vlan100b}], diff=True)
    assert [x["changed"] for x in r] == [True, False, True], [x.get("msg") for x in r]
    assert r[0]["actions"][0] == "create veth0.100 as VLAN 100 (802.1Q) on 'veth0'"
    assert r[0]["diff"]["after"]["owned_parent"] is True
    details = json.loads(lib.sh("ip", "-d", "-j", "link", "show", "veth0.100", ns=host).stdout)[0]
    assert details["linkinfo"]["info_kind"] == "vlan" and details["linkinfo"]["info_data"]["id"] == 100

    # a macvlan child on VLAN 100 reaches the gateway namespace at the other end of the trunk
    container, address = lib.attach_by_hand(namespaces, host, "veth0.100", state_dir, "vlan100")
    assert address == "10.0.0.2"
    ok = lib.sh("ping", "-c", "2", "-W", "2", "10.0.0.1", ns=container, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # removing the first network keeps the sub-interface: vlan100-extra still uses it
    gone = lib.run_tasks([{MODULE: {"name": "vlan100", "state": "absent", "force": True, "netns": host,
                                    "state_dir": state_dir}}])[0]
    assert gone["changed"] is True and not any("veth0.100" in a and "remove sub" in a for a in gone["actions"])
    assert lib.sh("ip", "link", "show", "veth0.100", ns=host, check=False).returncode == 0
    last = lib.run_tasks([{MODULE: {"name": "vlan100-extra", "state": "absent", "netns": host,
                                    "state_dir": state_dir}}])[0]
    assert last["changed"] is True, last.get("msg")
    # vlan100-extra did not create veth0.100 (it already existed), so it leaves it alone
    assert lib.sh("ip", "link", "show", "veth0.100", ns=host, check=False).returncode == 0


def test_owned_parent_removed_with_its_only_network(namespaces, tmp_path):
    host = namespaces.new("h")
    peer = namespaces.new("p")
    namespaces.veth(host, "veth0", peer, "veth1")
    params = {"name": "v200", "parent": "veth0.200", "subnet": "192.168.3.0/24", "netns": host,
              "state_dir": str(tmp_path / "s")}
    r = lib.run_tasks([{MODULE: params}, {MODULE: dict(params, state="absent")},
                       {MODULE: dict(params, state="absent")}])
    assert [x["changed"] for x in r] == [True, True, False], [x.get("msg") for x in r]
    assert "remove sub-interface 'veth0.200' (created for this network)" in r[1]["actions"]
    assert lib.sh("ip", "link", "show", "veth0.200", ns=host, check=False).returncode != 0
