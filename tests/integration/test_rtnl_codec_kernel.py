# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hand codec's reading of real kernel answers, against pyroute2's reading of the same
namespace: links of every kind the engine makes (macvlan, bridge, an isolated veth port, a
renamed link with an alias), their addresses and routes. tests/unit/test_rtnl_codec.py checks
the layouts message by message; this checks them on what the kernel actually sends."""

from __future__ import annotations

import ipaddress

import pytest
from pyroute2 import NetNS

import underlay_testlib as lib

from ansible_collections.underlay.network.plugins.module_utils._netlink import NetlinkAdapter


@pytest.fixture
def lab(namespaces):
    host = namespaces.host_with_parent()
    for argv in (
        ("ip", "link", "add", "mv0", "link", "veth0", "type", "macvlan", "mode", "private"),
        ("ip", "link", "set", "mv0", "alias", "underlay:test"),
        ("ip", "link", "add", "br0", "mtu", "1400", "type", "bridge"),
        ("ip", "link", "add", "port0", "type", "veth", "peer", "name", "port1"),
        ("ip", "link", "set", "port0", "master", "br0"),
        ("ip", "link", "set", "port0", "type", "bridge_slave", "isolated", "on"),
        ("ip", "link", "set", "br0", "up"),
        ("ip", "addr", "add", "10.6.0.1/24", "dev", "br0"),
        ("ip", "addr", "add", "10.6.1.1/24", "dev", "br0"),
        ("ip", "link", "set", "mv0", "up"),
        ("ip", "route", "add", "10.7.0.0/24", "dev", "mv0", "scope", "link"),
        ("ip", "route", "add", "10.8.0.0/16", "via", "10.6.0.254"),
    ):
        lib.sh(*argv, ns=host)
    return host


def pyroute2_view(ns, name):
    with NetNS(ns) as ipr:
        (msg,) = ipr.get_links(ifname=name)
        info = msg.get("IFLA_LINKINFO")
        kind = info.get("IFLA_INFO_KIND") if info else None
        slave = info.get("IFLA_INFO_SLAVE_DATA") if info else None
        addresses = sorted(f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}"
                           for a in ipr.get_addr(index=msg["index"], family=2))
        return {
            "name": msg.get("IFLA_IFNAME"), "index": msg["index"], "kind": kind, "mtu": msg.get("IFLA_MTU"),
            "mac_address": msg.get("IFLA_ADDRESS"), "admin_state": "up" if msg["flags"] & 1 else "down",
            "mode": info.get("IFLA_INFO_DATA").get("IFLA_MACVLAN_MODE") if kind == "macvlan" else None,
            "master": msg.get("IFLA_MASTER"),
            "isolated": bool(slave.get("IFLA_BRPORT_ISOLATED")) if slave is not None else None,
            "alias": msg.get("IFLA_IFALIAS"), "addresses": addresses,
        }


def codec_view(adapter, name):
    link = adapter.link(name)
    return {"name": link.name, "index": link.index, "kind": link.kind, "mtu": link.mtu,
            "mac_address": link.mac_address, "admin_state": link.admin_state, "mode": link.mode,
            "master": link.master, "isolated": link.isolated, "alias": link.alias,
            "addresses": sorted(address for address in link.addresses if ipaddress.ip_interface(address).version == 4)}


def test_links_addresses_and_routes_read_alike(lab):
    with NetlinkAdapter(f"/run/netns/{lab}", lab) as adapter:
        for name in ("mv0", "br0", "port0", "veth0", "lo"):
            assert codec_view(adapter, name) == pyroute2_view(lab, name), name
        assert adapter.link("mv0").parent == "veth0"
        assert adapter.link("port0").isolated is True and adapter.link("port0").master == adapter.link("br0").index
        assert adapter.link("br0").addresses[:2] == ("10.6.0.1/24", "10.6.1.1/24")
        assert adapter.routes("mv0") == ("10.7.0.0/24",)
        assert adapter.gateway_routes() == {"10.8.0.0/16": "10.6.0.254"}
        assert adapter.link("nonesuch") is None
        with NetNS(lab) as ipr:
            names = {msg.get("IFLA_IFNAME"): msg.get("IFLA_IFALIAS") for msg in ipr.get_links()}
        assert adapter.link_aliases() == names
