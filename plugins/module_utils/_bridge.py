# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bridge_network: spec, planner and inspect view (Docker's default bridge driver). Pure.

In the kernel a bridge network owns its bridge (gateway address, MTU, state), the isolation
flag of the bridge's ports (``icc: false`` = bridge port isolation: ports reach the gateway
but not each other), the NAT and isolation rules in the collection's nftables table, and
turns on IPv4 forwarding in its namespace when it masquerades. A dual-stack bridge network
also has its IPv6 gateway on the bridge (without DAD) and turns on IPv6 forwarding in its
namespace (``net.ipv6.conf.all.forwarding``, as Docker does); there is no NAT66, as in Docker
by default: the IPv6 subnet is routed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ansible_collections.underlay.network.plugins.module_utils import _network_mtu, _network_spec, _nftables, _publish_rules, _vlan
from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._network_driver import (
    NetworkSpec,
    check_driver,
    check_leases_fit,
    check_overlap,
    common_spec,
    ipam6_entry,
    spec_subnets,
    definition_view,
    network_view,
    now,
    plan_removal,
    predicted_view,
    plan_inherited_mtu,
    read_endpoint_identities,
    read_inheriting_endpoints,
    read_owners,
    restore_definition,
)
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step

DRIVER = "bridge"
FORWARDING = "net.ipv4.ip_forward"
FORWARDING6 = "net.ipv6.conf.all.forwarding"  # IPv6 forwards only with this on (per interface it does not)


@dataclass(frozen=True)
class BridgeSpec(NetworkSpec):
    bridge_name: Optional[str] = None
    icc: bool = True
    masquerade: bool = True


@dataclass(frozen=True)
class BridgeCurrent:
    definition: Optional[dict]
    others: dict
    leases: dict
    now: str                     # the time read() was called (a new definition's 'created')
    bridge: object = None          # LinkSnapshot of the desired bridge name
    old_bridge: object = None      # LinkSnapshot of the stored bridge name, when it differs
    ports: tuple = ()
    rules: dict = None             # comment -> {handle, chain, expr}, all of the collection's rules
    forwarding: Optional[str] = None
    forwarding6: Optional[str] = None  # net.ipv6.conf.all.forwarding, read for a dual-stack network
    owners: dict = None            # on removal: lease owner -> _targets.owner_state answer
    endpoint_identities: dict = None  # on removal: leased address -> identity of its endpoint
    inheriting: dict = None      # on an MTU change: read_inheriting_endpoints


def build_spec(params):
    common = common_spec(params)
    name = common["name"]
    if common["state"] == "absent":
        return BridgeSpec(**common)
    if params.get("subnet") is None:
        raise UnderlayError("is required when state is present", "subnet", None)
    ipam = _network_spec.build_ipam(params)
    if ipam.subnet.version != 4:
        raise UnderlayError("a bridge network's subnet is IPv4 (give an IPv6 subnet in ipv6_subnet, beside it)",
                            "subnet", str(ipam.subnet))
    ipam6 = _network_spec.build_ipam6(params, ipam)
    if ipam6 is not None and params.get("internal"):
        raise UnderlayError("an internal bridge network is IPv4 only for now (its isolation rules are IPv4's):"
                            " drop ipv6_subnet or internal", "ipv6_subnet", params.get("ipv6_subnet"))
    bridge_name = params.get("bridge_name") or "br-" + _network_spec.network_id(name)[:12]
    v.interface_name("bridge_name", bridge_name)
    internal = v.boolean("internal", params.get("internal", False))
    icc = v.boolean("icc", params.get("icc", True))
    masquerade = params.get("masquerade")
    masquerade = (not internal) if masquerade is None else v.boolean("masquerade", masquerade)
    if internal and masquerade:
        raise UnderlayError("an internal network is never NATed: drop masquerade or internal", "masquerade", True)
    common["mtu"] = _network_mtu.checked("mtu", common["mtu"], spec_subnets(ipam, ipam6))
    return BridgeSpec(bridge_name=bridge_name, ipam=ipam, ipam6=ipam6, icc=icc, internal=internal, masquerade=masquerade, **common)


def read(ws, spec):
    store, kernel = ws.store, ws.kernel
    definition = store.network(spec.name)
    others = {name: d for name, d in store.networks().items() if name != spec.name}
    leases = store.leases(spec.name) if definition else {"leases": {}, "last_reserved": None}
    stored_name = (definition or {}).get("bridge_name")
    wanted = spec.bridge_name or stored_name
    bridge = kernel.link(wanted) if wanted else None
    old_bridge = kernel.link(stored_name) if stored_name and stored_name != wanted else None
    ports = kernel.ports(wanted) if bridge is not None and bridge.kind == "bridge" else ()
    if not ports and old_bridge is not None:
        ports = kernel.ports(stored_name)
    forwarding = kernel.sysctl(FORWARDING) if spec.state == "present" and spec.masquerade else None
    forwarding6 = kernel.sysctl(FORWARDING6) if spec.state == "present" and spec.ipam6 is not None else None
    needed_by = _rules_needed_by(spec, definition) or (
        "publish" if spec.state == "absent" and _publish_rules.publishes(leases["leases"]) else None)
    rules = ws.nft.rules(needed_by) if needed_by else {}
    return BridgeCurrent(definition=definition, others=others, leases=leases, now=now(), bridge=bridge,
                         old_bridge=old_bridge, ports=ports, rules=rules, forwarding=forwarding,
                         forwarding6=forwarding6,
                         owners=read_owners(spec, leases),
                         endpoint_identities=read_endpoint_identities(kernel, spec, definition, leases),
                         inheriting=read_inheriting_endpoints(kernel, spec, definition, leases))


def _rules_needed_by(spec, definition):
    """The option (desired, else stored) that makes the network have nftables rules, else None:
    a network that never had masquerade or internal does not need ``nft`` at all."""
    wanted = [] if spec.state == "absent" else [("masquerade", spec.masquerade), ("internal", spec.internal)]
    stored = [(field, bool((definition or {}).get(field))) for field in ("masquerade", "internal")]
    return next((field for field, on in wanted + stored if on), None)


def _wanted_rules(spec):
    rules = []
    if spec.masquerade:
        rules.append(_nftables.masquerade_rule(spec.name, spec.ipam.subnet, spec.bridge_name))
    if spec.internal:
        rules.extend(_nftables.isolation_rules(spec.name, spec.bridge_name))
    return rules


def _own_rules(current, name):
    return {text: rule for text, rule in (current.rules or {}).items() if _nftables.owner(text) == name}


def plan(spec, current):
    definition = check_driver(spec, current.definition, DRIVER)
    before = definition_view(definition)
    if spec.state == "absent":
        return _plan_absent(spec, current, before)
    _check_conflicts(spec, current)
    desired = {
        "name": spec.name, "id": _network_spec.network_id(spec.name), "driver": DRIVER,
        "bridge_name": spec.bridge_name, "ipam": spec.ipam.as_dict(), **ipam6_entry(spec), "icc": spec.icc,
        "internal": spec.internal, "masquerade": spec.masquerade, "mtu": spec.mtu, "dns": spec.dns, "netns": spec.netns,
        "labels": spec.labels,
        "created": (definition or {}).get("created") or current.now,
    }
    result = Plan(before=before, after=definition_view(desired))
    _plan_bridge(result, spec, current)
    _plan_ports(result, spec, current)
    plan_inherited_mtu(result, desired, current.inheriting or {}, None)
    _plan_rules(result, spec, current)
    if spec.masquerade and current.forwarding != "1":
        result.add("enable IPv4 forwarding (net.ipv4.ip_forward=1)", "sysctl_set",
                   undo=Step("restore net.ipv4.ip_forward", "sysctl_set",
                             {"key": FORWARDING, "value": current.forwarding or "0"}),
                   key=FORWARDING, value="1")
    if spec.ipam6 is not None and current.forwarding6 != "1":
        result.add(f"enable IPv6 forwarding ({FORWARDING6}=1)", "sysctl_set",
                   undo=Step(f"restore {FORWARDING6}", "sysctl_set",
                             {"key": FORWARDING6, "value": current.forwarding6 or "0"}),
                   key=FORWARDING6, value="1")
    if definition_view(definition) != result.after:
        result.add(f"{'update' if definition else 'store'} network definition '{spec.name}'", "store_put_network",
                   undo=restore_definition(spec.name, definition), definition=desired)
    return result


def _check_conflicts(spec, current):
    check_overlap(spec, current.others)
    for name, other in sorted(current.others.items()):
        if other.get("bridge_name") == spec.bridge_name:
            raise UnderlayError(f"'{spec.bridge_name}' is the bridge of network '{name}'", "bridge_name",
                                spec.bridge_name)
    bridge = current.bridge
    if bridge is not None and bridge.kind != "bridge":
        raise UnderlayError(f"'{spec.bridge_name}' already exists as a {bridge.kind or 'physical'} link, not a bridge",
                            "bridge_name", spec.bridge_name)
    check_leases_fit(spec, current.leases["leases"])


def _plan_bridge(result, spec, current):
    name = spec.bridge_name
    gateway = f"{spec.ipam.gateway}/{spec.ipam.subnet.prefixlen}"
    gateway6 = f"{spec.ipam6.gateway}/{spec.ipam6.subnet.prefixlen}" if spec.ipam6 is not None else None
    bridge = current.bridge
    if bridge is None and current.old_bridge is not None and current.old_bridge.kind == "bridge":
        old = current.old_bridge.name
        if current.old_bridge.admin_state == "up":
            result.add(f"set '{old}' down to rename it", "link_set",
                       undo=Step(f"set '{old}' up", "link_set", {"name": old, "admin_state": "up"}),
                       name=old, admin_state="down")
        result.add(f"rename bridge '{old}' to '{name}'", "link_rename",
                   undo=Step(f"rename '{name}' back to '{old}'", "link_rename", {"name": name, "new_name": old}),
                   name=old, new_name=name)
        bridge = current.old_bridge
        have, mtu, state = set(_vlan.managed_addresses(bridge.addresses)), bridge.mtu, "down"
    elif bridge is None:
        result.add(f"create bridge '{name}'" + (f" with MTU {spec.mtu}" if spec.mtu else ""), "link_add_bridge",
                   undo=Step(f"remove bridge '{name}'", "link_del", {"name": name}), name=name, mtu=spec.mtu)
        have, mtu, state = set(), spec.mtu, "down"
    else:
        have, mtu, state = set(_vlan.managed_addresses(bridge.addresses)), bridge.mtu, bridge.admin_state
    if spec.mtu is not None and mtu != spec.mtu:
        result.add(f"set MTU of '{name}' from {mtu} to {spec.mtu}", "link_set",
                   undo=Step(f"restore MTU {mtu}", "link_set", {"name": name, "mtu": mtu}), name=name, mtu=spec.mtu)
    for address in sorted(have - {gateway, gateway6}, key=v.address_sort_key):
        result.add(f"remove address {address} from '{name}'", "addr_del",
                   undo=Step(f"restore {address}", "addr_add", {"name": name, "address": address}),
                   name=name, address=address)
    if gateway not in have:
        result.add(f"add gateway {gateway} to '{name}'", "addr_add",
                   undo=Step(f"remove {gateway}", "addr_del", {"name": name, "address": gateway}),
                   name=name, address=gateway)
    if gateway6 and gateway6 not in have:
        result.add(f"add IPv6 gateway {gateway6} to '{name}' (no DAD)", "addr_add",
                   undo=Step(f"remove {gateway6}", "addr_del", {"name": name, "address": gateway6}),
                   name=name, address=gateway6, nodad=True)
    if state != "up":
        result.add(f"set '{name}' up", "link_set",
                   undo=Step(f"set '{name}' down", "link_set", {"name": name, "admin_state": "down"}),
                   name=name, admin_state="up")


def _plan_ports(result, spec, current):
    for port in current.ports:
        if bool(port.isolated) != (not spec.icc):
            result.add(f"{'isolate' if not spec.icc else 'un-isolate'} bridge port '{port.name}'",
                       "port_set_isolated",
                       undo=Step(f"restore isolation of '{port.name}'", "port_set_isolated",
                                 {"name": port.name, "isolated": bool(port.isolated)}),
                       name=port.name, isolated=not spec.icc)


def _plan_rules(result, spec, current):
    # the published ports' rules are its endpoints' (container_endpoint's), removed with the network
    have = {text: rule for text, rule in _own_rules(current, spec.name).items() if not _publish_rules.is_publish(text)}
    wanted = {rule["comment"]: rule for rule in _wanted_rules(spec)}
    for text in sorted(set(have) - set(wanted)):
        _delete_rule(result, text, have[text])
    for text in sorted(set(wanted) - set(have)):
        result.add(f"add nftables rule '{text}'", "nft_add_rule",
                   undo=Step(f"remove nftables rule '{text}'", "nft_delete_rule", {"comment_text": text}),
                   rule=wanted[text])


def _delete_rule(result, text, listed):
    """Delete one of the network's rules; the undo adds it back exactly as nft listed it."""
    rule = {"chain": listed["chain"], "comment": text, "expr": listed["expr"]}
    result.add(f"remove nftables rule '{text}'", "nft_delete_rule",
               undo=Step(f"restore nftables rule '{text}'", "nft_add_rule", {"rule": rule}), comment_text=text)


def _plan_absent(spec, current, before):
    """The network's nftables rules go with its definition; its bridge last."""
    def rules(result):
        for text, listed in sorted(_own_rules(current, spec.name).items()):
            _delete_rule(result, text, listed)

    def bridge(result):
        if current.bridge is not None and current.bridge.kind == "bridge":
            result.add(f"remove bridge '{current.bridge.name}'", "link_del", name=current.bridge.name)

    return plan_removal(spec, current, before, undoable=rules, links=bridge)


def stored_params(definition):
    """The module parameters that declare ``definition`` again (the inverse of ``plan``'s
    stored definition): what ``underlay-network restore`` applies."""
    params = {"name": definition["name"], "bridge_name": definition["bridge_name"],
              "icc": definition.get("icc", True), "internal": bool(definition.get("internal")),
              "masquerade": bool(definition.get("masquerade")), "mtu": definition.get("mtu"),
              "dns": bool(definition.get("dns", True)), "labels": dict(definition.get("labels") or {})}
    params.update(definition["ipam"])
    params.update(_network_spec.ipv6_params(definition))
    return params


def options(definition):
    view = {
        "com.docker.network.bridge.name": definition["bridge_name"],
        "com.docker.network.bridge.enable_icc": str(bool(definition.get("icc", True))).lower(),
        "com.docker.network.bridge.enable_ip_masquerade": str(bool(definition.get("masquerade"))).lower(),
    }
    if definition.get("mtu"):
        view["com.docker.network.driver.mtu"] = str(definition["mtu"])
    return view


def report(spec, current):
    return network_view(current.definition, current.leases["leases"], options)


def predict(spec, current, planned):
    return predicted_view(spec, current, planned, options)
