# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipvlan_network (and container_endpoint on it) on the host kernel, on a veth parent in
throwaway namespaces, with a "router" namespace at the other end of the parent's wire.

The network itself is a stored definition, so create, re-run, check mode (the kernel, the
nftables ruleset and state_dir byte-identical), --diff, removal, one driver per parent and
bad input are proven on any kernel. Endpoints need the kernel's ipvlan: where it has none (the
build machines' kernel, see the design notes) attaching must fail saying so and change
nothing; where it has it, L2 endpoints reach each other and the router, and an L3 endpoint
reaches the router through the host (the VM lane proves the same on an 802.1Q parent).
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

import underlay_testlib as lib
from underlay_snapshots import World

from ansible_collections.underlay.network.plugins.module_utils._netlink import NetlinkAdapter

MODULE = "underlay.network.ipvlan_network"
ENDPOINT = "underlay.network.container_endpoint"


def _kernel_has_ipvlan():
    """Whether this kernel makes an ipvlan link (tried in a namespace of its own)."""
    made = lib.Namespaces()
    try:
        ns = made.new("k")
        lib.sh("ip", "link", "add", "p0", "type", "veth", "peer", "name", "p1", ns=ns)
        return lib.sh("ip", "link", "add", "link", "p0", "name", "iv0", "type", "ipvlan", "mode", "l2",
                      ns=ns, check=False).returncode == 0
    finally:
        made.close()


HAS_IPVLAN = os.geteuid() == 0 and _kernel_has_ipvlan()
needs_ipvlan = pytest.mark.skipif(not HAS_IPVLAN, reason="this kernel has no ipvlan (the VM lane proves it)")


@pytest.fixture
def lab(namespaces, tmp_path):
    host = namespaces.new("h")
    router = namespaces.new("r")
    namespaces.veth(host, "veth0", router, "veth1")
    lib.sh("ip", "addr", "add", "10.30.0.10/24", "dev", "veth0", ns=host)
    lib.sh("ip", "addr", "add", "10.30.0.1/24", "dev", "veth1", ns=router)
    state_dir = str(tmp_path / "state")
    return SimpleNamespace(host=host, router=router, state_dir=state_dir, namespaces=namespaces,
                           world=World([host, router], [state_dir]))


def net(lab, **extra):
    params = {"name": "lan", "parent": "veth0", "subnet": "10.30.0.0/24", "ip_range": "10.30.0.128/25",
              "gateway": "10.30.0.1", "aux_addresses": {"switch": "10.30.0.2"}, "netns": lab.host,
              "state_dir": lab.state_dir}
    params.update(extra)
    return params


def ep(lab, **params):
    params.setdefault("netns", lab.host)
    params.setdefault("state_dir", lab.state_dir)
    return params


def ping(ns, address):
    return lib.sh("ping", "-c", "1", "-W", "2", address, ns=ns, check=False).returncode == 0


def test_create_rerun_check_mode_diff_and_removal(lab):
    before = lab.world.settle()
    checked = lib.run_tasks([{MODULE: net(lab)}], check_mode=True, diff=True)[0]
    assert checked["changed"] is True and checked["network"]["Driver"] == "ipvlan", checked.get("msg")
    assert lab.world.changes_since(before) == [] and before["files"][lab.state_dir] is None

    r = lib.run_tasks([{MODULE: net(lab)}, {MODULE: net(lab)}], diff=True)
    assert [x["changed"] for x in r] == [True, False], [x.get("msg") for x in r]
    network = r[0]["network"]
    assert (network["Name"], network["Driver"], network["Scope"], len(network["Id"])) == ("lan", "ipvlan", "local", 64)
    assert network["Options"] == {"parent": "veth0", "ipvlan_mode": "l2", "ipvlan_flag": "bridge"}
    assert network["IPAM"]["Config"] == [{"Subnet": "10.30.0.0/24", "IPRange": "10.30.0.128/25",
                                          "Gateway": "10.30.0.1", "AuxiliaryAddresses": {"switch": "10.30.0.2"}}]
    assert r[1]["actions"] == [] and r[1]["network"] == network
    with open(os.path.join(lab.state_dir, "networks", "lan.json"), encoding="utf-8") as handle:
        stored = json.load(handle)
    assert (stored["driver"], stored["mode"], stored["flag"]) == ("ipvlan", "l2", "bridge")

    settled = lab.world.settle()
    checked = lib.run_tasks([{MODULE: net(lab, mode="l3", flag="private")}], check_mode=True, diff=True)[0]
    assert checked["changed"] is True
    assert (checked["diff"]["before"]["mode"], checked["diff"]["after"]["mode"]) == ("l2", "l3")
    assert (checked["diff"]["before"]["flag"], checked["diff"]["after"]["flag"]) == ("bridge", "private")
    assert '-    "flag": "bridge"' in checked["_stdout"] and '+    "flag": "private"' in checked["_stdout"]
    assert checked["network"]["Options"] == {"parent": "veth0", "ipvlan_mode": "l3", "ipvlan_flag": "private"}
    assert lab.world.changes_since(settled) == []

    again = {MODULE: net(lab, mode="l3", flag="private")}
    changed = lib.run_tasks([again, again])
    assert [x["changed"] for x in changed] == [True, False], [x.get("msg") for x in changed]

    absent = {"name": "lan", "state": "absent", "netns": lab.host, "state_dir": lab.state_dir}
    removed = lib.run_tasks([{MODULE: absent}, {MODULE: absent}], diff=True)
    assert [x["changed"] for x in removed] == [True, False], [x.get("msg") for x in removed]
    assert removed[0]["diff"]["after"] == {"state": "absent"} and removed[0]["network"] == {}
    assert lib.tree_snapshot(os.path.join(lab.state_dir, "networks")) == {}
    assert lab.world.changes_since(before) == [f"files of {lab.state_dir}"]  # only state_dir, empty of networks


OTHER = {"ip_range": None, "gateway": None, "aux_addresses": None}  # another network's addressing: its subnet only


@pytest.mark.parametrize("first, second, message", [
    (("macvlan_network", dict(OTHER, name="mv", subnet="10.31.0.0/24")), ("ipvlan_network", {}),
     "parent: 'veth0' already carries the macvlan network 'mv': the kernel cannot hang ipvlan and macvlan"
     " interfaces off one parent"),
    (("ipvlan_network", {}), ("macvlan_network", dict(OTHER, name="mv", subnet="10.31.0.0/24")),
     "parent: 'veth0' already carries the ipvlan network 'lan': the kernel cannot hang macvlan and ipvlan"
     " interfaces off one parent"),
    (("ipvlan_network", {}), ("ipvlan_network", dict(OTHER, name="routed", subnet="10.40.0.0/24", mode="l3")),
     "mode: the ipvlan network 'lan' on 'veth0' has mode l2 and flag bridge: the kernel keeps one mode and flag"
     " for all ipvlans of a parent"),
])
def test_one_driver_and_one_ipvlan_mode_per_parent(lab, first, second, message):
    def params(extra):
        return {key: value for key, value in net(lab, **extra).items() if value is not None}

    made = lib.run_module(first[0], params(first[1]))
    assert made["changed"] is True, made.get("msg")
    before = lab.world.settle()
    refused = lib.run_module(second[0], params(second[1]))
    assert refused["failed"] is True and refused["msg"] == message, refused
    assert lab.world.changes_since(before) == []


@pytest.mark.parametrize("module, params, message", [
    ("ipvlan_network", {"mode": "l4"}, "value of mode must be one of: l2, l3, l3s, got: l4"),
    ("ipvlan_network", {"flag": "passthru"}, "value of flag must be one of: bridge, private, vepa, got: passthru"),
    ("macvlan_network", {"flag": "private"}, "Unsupported parameters for (basic.py) module: flag."),
    ("ipvlan_network", {"mode": "l3", "host_access": {"ifname": "shim", "address": "10.30.0.250"}},
     "host_access: needs mode l2 and flag bridge, not l3 (flag bridge): the host access interface is an ipvlan"
     " of the same parent"),
    ("ipvlan_network", {"parent": "lo"}, "parent: 'lo' is the loopback interface, which cannot carry an ipvlan"
     " network"),
])
def test_bad_input_is_refused_and_changes_nothing(lab, module, params, message):
    before = lab.world.settle()
    refused = lib.run_module(module, net(lab, **params))
    assert refused["failed"] is True and message in refused["msg"], refused
    assert lab.world.changes_since(before) == []


def test_a_mac_for_an_ipvlan_endpoint_is_refused_and_changes_nothing(lab):
    assert lib.run_module("ipvlan_network", net(lab))["changed"] is True
    container = lab.namespaces.new("c")
    world = World([lab.host, lab.router, container], [lab.state_dir])
    before = world.settle()
    refused = lib.run_module("container_endpoint", ep(lab, network="lan", container_netns=container,
                                                      mac_address="02:42:0a:1e:00:80"))
    assert refused["failed"] is True
    assert refused["msg"] == ("mac_address: '02:42:0a:1e:00:80' cannot be set: an endpoint of an ipvlan network has"
                              " its parent's MAC address (leave mac_address out, or use a macvlan network)")
    assert world.changes_since(before) == []


def test_a_default_route_through_an_interface_is_made_read_and_removed(lab):
    """What an L3 endpoint's default route is made with (``route_add`` of 0.0.0.0/0, scope link)
    and read back as (``dev NAME``, beside routes through a gateway), on this kernel."""
    with NetlinkAdapter(f"/run/netns/{lab.host}", lab.host) as adapter:
        adapter.op_route_add("veth0", "10.50.0.0/24")  # a route through the interface that is not the default
        assert adapter.gateway_routes() == {}
        adapter.op_route_add("veth0", "0.0.0.0/0")
        assert adapter.gateway_routes() == {"default": "dev veth0"}
        adapter.op_route_add_via("10.60.0.0/16", "10.30.0.1")
        assert adapter.gateway_routes() == {"default": "dev veth0", "10.60.0.0/16": "10.30.0.1"}
        adapter.op_route_del("veth0", "0.0.0.0/0")
        assert adapter.gateway_routes() == {"10.60.0.0/16": "10.30.0.1"}
    routes = lib.sh("ip", "route", "show", ns=lab.host).stdout
    assert "default" not in routes and "10.50.0.0/24 dev veth0" in routes


@pytest.mark.skipif(HAS_IPVLAN, reason="this kernel has ipvlan: the endpoint tests below run instead")
def test_attaching_on_a_kernel_without_ipvlan_says_so_and_changes_nothing(lab):
    assert lib.run_module("ipvlan_network", net(lab))["changed"] is True
    container = lab.namespaces.new("c")
    world = World([lab.host, lab.router, container], [lab.state_dir])
    before = world.settle()
    refused = lib.run_module("container_endpoint", ep(lab, network="lan", container_netns=container))
    assert refused["failed"] is True
    assert "parent: cannot create ipvlan" in refused["msg"] and "on 'veth0': this kernel has no ipvlan support" \
        " (EOPNOTSUPP; it needs CONFIG_IPVLAN or the ipvlan module)" in refused["msg"], refused["msg"]
    assert "Traceback" not in refused["msg"]
    assert world.changes_since(before) == []


@needs_ipvlan
def test_l2_endpoints_reach_each_other_and_the_router(lab):
    assert lib.run_module("ipvlan_network", net(lab, host_access={"ifname": "lan-shim",
                                                                  "address": "10.30.0.250"}))["changed"] is True
    c1, c2 = lab.namespaces.new("c"), lab.namespaces.new("c")
    r = lib.run_tasks([{ENDPOINT: ep(lab, network="lan", container_netns=c1)},
                       {ENDPOINT: ep(lab, network="lan", container_netns=c2)},
                       {ENDPOINT: ep(lab, network="lan", container_netns=c1)}])
    assert [x["changed"] for x in r] == [True, True, False], [x.get("msg") for x in r]
    parent_mac = json.loads(lib.sh("ip", "-j", "link", "show", "veth0", ns=lab.host).stdout)[0]["address"]
    link = json.loads(lib.sh("ip", "-d", "-j", "link", "show", "eth0", ns=c1).stdout)[0]
    assert link["linkinfo"]["info_kind"] == "ipvlan" and link["address"] == parent_mac
    assert r[0]["endpoint"]["mac_address"] is None and r[0]["endpoint"]["gateway"] == "10.30.0.1"
    assert ping(c1, "10.30.0.129") and ping(c2, "10.30.0.128")
    assert ping(c1, "10.30.0.1") and ping(lab.router, "10.30.0.129")
    assert ping(lab.host, "10.30.0.128"), "the host reaches its container through the shim"
    routes = lib.sh("ip", "route", "show", "default", ns=c1).stdout
    assert "via 10.30.0.1 dev eth0" in routes
    info = lib.run_module("network_info", {"netns": lab.host, "state_dir": lab.state_dir})
    assert [network["drift"] for network in info["networks"]] == [[]]


@needs_ipvlan
def test_an_l3_endpoint_reaches_the_router_through_the_host(lab):
    routed = net(lab, name="routed", subnet="10.40.0.0/24", ip_range=None, gateway=None, aux_addresses={}, mode="l3")
    assert lib.run_module("ipvlan_network", routed)["changed"] is True
    lib.sh("ip", "route", "add", "10.40.0.0/24", "via", "10.30.0.10", ns=lab.router)  # what the README says
    container = lab.namespaces.new("c")
    r = lib.run_tasks([{ENDPOINT: ep(lab, network="routed", container_netns=container)},
                       {ENDPOINT: ep(lab, network="routed", container_netns=container)}])
    assert [x["changed"] for x in r] == [True, False], [x.get("msg") for x in r]
    assert r[0]["endpoint"]["gateway"] is None and r[0]["endpoint"]["ipv4_address"] == "10.40.0.2/24"
    routes = lib.sh("ip", "route", "show", "default", ns=container).stdout
    assert routes.startswith("default dev eth0") and "via" not in routes
    assert ping(container, "10.30.0.1") and ping(lab.router, "10.40.0.2")
    info = lib.run_module("network_info", {"netns": lab.host, "state_dir": lab.state_dir})
    assert [network["drift"] for network in info["networks"]] == [[]]
