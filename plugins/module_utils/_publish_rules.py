# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published ports of bridge endpoints: their rules in the collection's nftables table, the
sysctls they need, and the checks before any of it (bridge networks only, one host port one
endpoint). Pure but for ``read``.

Every rule is the network's, tagged like its NAT rules
(``underlay.network:NETWORK:publish-...:FINGERPRINT``), and is derived from the network's
leases alone: a lease records its endpoint's mappings (``_publish.to_strings``), so the rules a
network wants are a function of its lease table, and a run compares them with what the table
holds by comment (a changed mapping is a changed comment: the old rule goes, the new one comes).

- ``publish-in`` (chain ``prerouting``): traffic arriving for a local address of the host
  (``fib daddr type local``, and ``ip daddr HOST_IP`` when given) on the host port is DNATed to
  the endpoint; it also covers other containers of the bridge reaching the host's address;
- ``publish-local`` (chain ``output``): the same for connections the host itself makes,
  ``127.0.0.1`` included when ``HOST_IP`` allows it (none, or ``127.0.0.1``);
- ``publish-hairpin`` (``postrouting``): what is DNATed back into the bridge from the bridge's
  own subnet is masqueraded, so the reply comes back through the host;
- ``publish-loopback`` (``postrouting``): connections from ``127.0.0.0/8`` leaving through the
  bridge are masqueraded; with ``net.ipv4.conf.BRIDGE.route_localnet=1`` (Docker does both
  when its userland proxy is off).
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field

from ansible_collections.underlay.network.plugins.module_utils import _publish
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._nftables import comment, owner, purpose
from ansible_collections.underlay.network.plugins.module_utils._plan import Step

PURPOSE_PREFIX = "publish-"
FORWARDING = "net.ipv4.ip_forward"
LOOPBACK = "127.0.0.1"
MAX_COMMENT = 127  # nftables keeps comments of at most 128 bytes, the terminating NUL included


@dataclass(frozen=True)
class PublishCurrent:
    """What a run that publishes (or whose networks' leases publish) reads: the collection's
    rules, the sysctls involved, and the publishing leases of the host's other bridge networks."""

    rules: dict = field(default_factory=dict)     # comment -> {handle, chain, expr}
    sysctls: dict = field(default_factory=dict)   # key -> value (None: cannot be read)
    others: dict = field(default_factory=dict)    # network -> {ip: lease} of its publishing leases


def is_publish(text):
    """Whether a comment of ours tags a published port's rule."""
    return (purpose(text) or "").startswith(PURPOSE_PREFIX)


def route_localnet(bridge):
    return f"net.ipv4.conf.{bridge}.route_localnet"


def _comment(network, what, fingerprint):
    text = comment(network, PURPOSE_PREFIX + what, fingerprint)
    if len(text.encode()) > MAX_COMMENT:  # a long network name: a short hash stands for the mapping
        text = comment(network, PURPOSE_PREFIX + what, hashlib.sha256(fingerprint.encode()).hexdigest()[:16])
    return text


def _match(op, left, right):
    return {"match": {"op": op, "left": left, "right": right}}


def _payload(protocol, name):
    return {"payload": {"protocol": protocol, "field": name}}


def _prefix(subnet):
    return {"prefix": {"addr": str(subnet.network_address), "len": subnet.prefixlen}}


def allows_loopback(mapping):
    return mapping.host_ip in (None, LOOPBACK)


def dnat_rules(network, mapping, address):
    """The DNAT rules of one mapping to the endpoint at ``address``: from outside (not for a
    mapping bound to ``127.0.0.1``, which nothing from outside can reach) and from the host."""
    fingerprint = (f"{mapping.shown_host_ip}:{mapping.host_port}/{mapping.protocol}"
                   f">{address}:{mapping.container_port}")
    expr = [_match("==", {"fib": {"result": "type", "flags": ["daddr"]}}, "local")]
    if mapping.host_ip is not None:
        expr.append(_match("==", _payload("ip", "daddr"), mapping.host_ip))
    expr += [_match("==", _payload(mapping.protocol, "dport"), mapping.host_port),
             {"dnat": {"addr": address, "port": mapping.container_port}}]
    rules = [] if mapping.host_ip == LOOPBACK else [
        {"chain": "prerouting", "comment": _comment(network, "in", fingerprint), "expr": expr}]
    rules.append({"chain": "output", "comment": _comment(network, "local", fingerprint), "expr": list(expr)})
    return rules


def hairpin_rule(network, subnet, bridge):
    """Masquerade what the bridge's own subnet reaches through a published port on that bridge."""
    return {"chain": "postrouting", "comment": _comment(network, "hairpin", f"{subnet}>{bridge}"),
            "expr": [_match("==", _payload("ip", "saddr"), _prefix(subnet)),
                     _match("==", {"meta": {"key": "oifname"}}, bridge),
                     _match("in", {"ct": {"key": "status"}}, "dnat"), {"masquerade": None}]}


def loopback_rule(network, bridge):
    """Masquerade the host's connections from 127.0.0.0/8 that a published port sends into the bridge."""
    return {"chain": "postrouting", "comment": _comment(network, "loopback", f"127.0.0.0/8>{bridge}"),
            "expr": [_match("==", _payload("ip", "saddr"), {"prefix": {"addr": "127.0.0.0", "len": 8}}),
                     _match("==", {"meta": {"key": "oifname"}}, bridge), {"masquerade": None}]}


def lease_mappings(network, ip, lease):
    """The mappings a lease records (``publish``), parsed as the module parses its option."""
    return _publish.parse_all(f"leases of network '{network}': {ip}: publish", lease.get("publish") or ())


def wanted(network, definition, leases):
    """``({comment: rule}, loopback)``: the rules the network's ``leases`` imply, and whether
    one of them maps ``127.0.0.1`` (so the bridge needs ``route_localnet``)."""
    rules, loopback = {}, False
    for ip, lease in sorted(leases.items()):
        for mapping in lease_mappings(network, ip, lease):
            rules.update((rule["comment"], rule) for rule in dnat_rules(network, mapping, ip))
            loopback = loopback or allows_loopback(mapping)
    if rules:
        bridge = definition["bridge_name"]
        subnet = ipaddress.ip_network(definition["ipam"]["subnet"])
        for rule in [hairpin_rule(network, subnet, bridge)] + ([loopback_rule(network, bridge)] if loopback else []):
            rules[rule["comment"]] = rule
    return rules, loopback


def publishes(leases):
    """Whether any of ``leases`` publishes a port."""
    return any(lease.get("publish") for lease in leases.values())


def check_network(field_name, mappings, network, definition):
    """Refuse ``publish`` where no host port can lead to the endpoint: on a network that is
    not a bridge, or an internal one. ``definition``: the network's stored definition, or
    just ``{"driver": ..., "internal": ...}`` (``fleet_plan`` runs this same rule)."""
    if not mappings:
        return
    value = [mapping.describe() for mapping in mappings]
    driver = definition.get("driver")
    if driver != "bridge":
        raise UnderlayError(f"network '{network}' is a {driver} network: its endpoints are directly on the physical"
                            " network, with addresses of their own, so there is no host port to publish (bridge"
                            f" networks only; refused: {', '.join(value)})", field_name, value)
    if definition.get("internal"):
        raise UnderlayError(f"network '{network}' is internal: nothing from outside reaches it, so no port of it"
                            f" can be published (refused: {', '.join(value)})", field_name, value)


def check_host_ports(taken, claims):
    """Refuse a host port published twice on the host. ``taken``: ``[(who, mapping)]`` of the
    endpoints this run leaves as they are; ``claims``: ``[(field, who, mappings)]`` of the
    batch's items, in order."""
    taken = list(taken)
    for field_name, who, mappings in claims:
        for mapping in mappings:
            for other_who, other in taken:
                if other.collides(mapping):
                    raise UnderlayError(
                        f"host port {mapping.host_port}/{mapping.protocol} ({mapping.describe()}) of {who} is already"
                        f" published by {other_who} ({other.describe()})", field_name, mapping.describe())
        taken.extend((who, mapping) for mapping in mappings)


def who(network, lease):
    return f"{lease.get('container') or lease['owner']} on network '{network}'"


def plan_network(result, network, definition, leases, current):
    """Steps that make the network's rules (and sysctls) what its ``leases`` imply; returns
    ``(before, after)``: the comments of its published ports' rules, for the diff."""
    have = {text: rule for text, rule in current.rules.items() if owner(text) == network and is_publish(text)}
    rules, loopback = wanted(network, definition, leases)
    successors = _successors(current.rules)
    # deleted in the order the chains list them, each undone in front of its old successor
    # (put back before it, as the undo runs in reverse): the ruleset is as it was, byte for byte
    for text in [text for text in current.rules if text in have and text not in rules]:
        listed = have[text]
        rule = {"chain": listed["chain"], "comment": text, "expr": listed["expr"]}
        result.add(f"remove nftables rule '{text}'", "nft_delete_rule",
                   undo=Step(f"restore nftables rule '{text}'", "nft_add_rule",
                             {"rule": rule, "before": successors.get(text)}), comment_text=text)
    sysctls = [(route_localnet(definition["bridge_name"]), loopback), (FORWARDING, bool(rules))]
    for key, needed in sysctls:
        value = current.sysctls.get(key)
        if needed and value != "1":
            result.add(f"set {key}=1 (published ports)", "sysctl_set",
                       undo=Step(f"restore {key}", "sysctl_set", {"key": key, "value": value or "0"}),
                       key=key, value="1")
    for text in sorted(set(rules) - set(have)):
        result.add(f"add nftables rule '{text}'", "nft_add_rule",
                   undo=Step(f"remove nftables rule '{text}'", "nft_delete_rule", {"comment_text": text}),
                   rule=rules[text])
    return sorted(have), sorted(rules)


def plan_batch(result, steps, batch, current, final):
    """A container_endpoint batch's published ports: every item checked (a bridge network that
    is not internal, a host port no other endpoint of the host publishes), then each of its
    bridge networks' rules made what its ``final`` leases (``{network: {ip: lease}}``, as the
    batch leaves them) imply. Steps go to ``steps``; the rules' comments to ``result``'s diff."""
    claims, claimed = [], set()
    for index, item in enumerate(current.items):
        spec = item.spec
        if spec.state != "present" or not spec.publish or item.target is None:
            continue
        where = f"endpoints[{index}].publish" if batch else "publish"
        check_network(where, spec.publish, spec.network, item.definition)
        claims.append((where, f"{item.target.container or item.target.label} on network '{spec.network}'",
                       spec.publish))
        claimed.add((spec.network, item.target.owner))
    taken = []
    for network, leases in list(current.publish.others.items()) + list(final.items()):
        for ip, lease in sorted(leases.items()):
            if (network, lease["owner"]) not in claimed:
                taken.extend((who(network, lease), mapping) for mapping in lease_mappings(network, ip, lease))
    check_host_ports(taken, claims)
    for network, leases in final.items():
        definition = current.definitions[network]
        had = any(owner(text) == network and is_publish(text) for text in current.publish.rules)
        if definition.get("driver") != "bridge" or not (had or publishes(leases)):
            continue
        before, after = plan_network(steps, network, definition, leases, current.publish)
        result.before.setdefault("published_rules", {})[network] = before
        result.after.setdefault("published_rules", {})[network] = after


def _successors(listed):
    """``{comment: the comment of the next rule of its chain}`` (``listed`` in chain order)."""
    last, found = {}, {}
    for text, rule in listed.items():
        if rule["chain"] in last:
            found[last[rule["chain"]]] = text
        last[rule["chain"]] = text
    return found


def read(ws, spec, definitions, tables):
    """What ``plan`` needs, read only when an item publishes or a lease of its networks does."""
    publishing = any(item.publish for item in spec.endpoints if item.state == "present")
    if not publishing and not any(publishes(table["leases"]) for table in tables.values()):
        return PublishCurrent()
    keys = [FORWARDING] + [route_localnet(d["bridge_name"]) for d in definitions.values() if d.get("driver") == "bridge"]
    sysctls = {}
    for key in keys:
        try:
            sysctls[key] = ws.kernel.sysctl(key)
        except OSError:  # the bridge is gone: the network's own run makes it again
            sysctls[key] = None
    others = {}
    if publishing:
        for name, definition in sorted(ws.store.networks().items()):
            if name in tables or not definition or definition.get("driver") != "bridge":
                continue
            leases = ws.store.leases(name)["leases"]
            others[name] = {ip: lease for ip, lease in leases.items() if lease.get("publish")}
    return PublishCurrent(rules=ws.nft.rules("publish"), sysctls=sysctls, others=others)
