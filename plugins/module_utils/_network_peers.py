# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""network_peers: the name records of a network's endpoints on other hosts, kept in
``state_dir/peers/NETWORK.json`` and served by the host's names resolver beside its own
endpoints' (one macvlan network spanning several hosts on one VLAN resolves names fleet-wide).

``check_peers`` is the one validation of a peer list against the stored network and its local
leases (a plain function: anything else that hands out peers can ask it too). The plan writes
the file and, when local endpoints resolve names, ends with the resolver serving the new records
(``dns_ensure``, as container_endpoint does), so the names resolve when the module returns.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.underlay.network.plugins.module_utils import _dns_records, _endpoint_dns
from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._network_spec import network_name
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step
from ansible_collections.underlay.network.plugins.module_utils._store import DEFAULT_STATE_DIR

# the drivers whose networks span hosts (an endpoint is directly on the shared segment)
DRIVERS = frozenset({"macvlan", "ipvlan"})
PEER_FIELDS = ("host", "name", "aliases", "address")


@dataclass(frozen=True)
class PeersSpec:
    network: str
    state: str
    peers: Tuple[dict, ...] = ()   # each {host, name, aliases, address}, validated in itself
    state_dir: str = DEFAULT_STATE_DIR
    netns: Optional[str] = None
    netns_path: Optional[str] = None


@dataclass
class PeersCurrent:
    definition: Optional[dict]
    leases: dict                     # {ip: lease} of the network
    stored: list                     # the stored peer records ([]: none, no file)
    served: Optional[dict] = None    # {network: fingerprint} the running resolver serves (None: none
    #                                  runs, or not read: the network has no names or no local endpoint)


def build_spec(params):
    netns = params.get("netns")
    state = v.state(params.get("state"))
    peers = params.get("peers") or []
    if not isinstance(peers, (list, tuple)):
        raise UnderlayError(f"{peers!r} is not a list of peers", "peers", peers)
    return PeersSpec(network=network_name(params.get("network"), "network"), state=state,
                     peers=tuple(peer_record(f"peers[{index}]", peer) for index, peer in enumerate(peers)),
                     state_dir=params.get("state_dir") or DEFAULT_STATE_DIR,
                     netns=netns, netns_path=v.netns_path("netns", netns))


def peer_record(where, peer):
    """One peer, validated in itself: ``{host, name, aliases, address}`` (aliases deduplicated,
    without the name)."""
    if not isinstance(peer, dict):
        raise UnderlayError(f"{peer!r} is not an object with host, name and address", where, peer)
    unknown = sorted(set(peer) - set(PEER_FIELDS))
    if unknown:
        raise UnderlayError(f"unknown field {unknown[0]!r} (a peer has {', '.join(PEER_FIELDS)})", where, peer)
    host = peer.get("host")
    if not isinstance(host, str) or not host.strip():
        raise UnderlayError(f"{host!r} is not a host name", f"{where}.host", host)
    name = _dns_records.dns_name(f"{where}.name", peer.get("name"))
    aliases = peer.get("aliases") or []
    if not isinstance(aliases, (list, tuple)):
        raise UnderlayError(f"{aliases!r} is not a list of names", f"{where}.aliases", aliases)
    kept = {name.lower(): None}  # DNS names match without regard to case: each once, the name not again
    for alias in aliases:
        kept.setdefault(_dns_records.dns_name(f"{where}.aliases", alias).lower(), alias.rstrip("."))
    aliases = [alias for alias in kept.values() if alias is not None]
    raw = peer.get("address")
    try:
        address = ipaddress.IPv4Address(str(raw).split("/", 1)[0]) if isinstance(raw, str) else None
    except ValueError:
        address = None
    if address is None:
        raise UnderlayError(f"{raw!r} is not an IPv4 address", f"{where}.address", raw)
    return {"host": host, "name": name, "aliases": aliases, "address": str(address)}


def check_peers(network, definition, leases, peers):
    """Refuse ``peers`` (validated records) for the stored ``network`` (its ``definition``, None
    when there is none, and its local ``leases``): the network must exist with ``dns`` on and a
    driver whose networks span hosts; each peer's address lies in its subnet and is no other
    endpoint's; no name or alias is answered to twice, by a peer or a local endpoint.
    Returns the records sorted by address."""
    if definition is None:
        raise UnderlayError(f"no network named '{network}' in the state directory", "network", network)
    if definition.get("driver") not in DRIVERS:
        raise UnderlayError(f"network '{network}' is a {definition.get('driver')} network: only networks of the drivers"
                            f" {', '.join(sorted(DRIVERS))} span hosts", "network", network)
    if not _endpoint_dns.enabled(definition):
        raise UnderlayError(f"network '{network}' has dns off: nothing would resolve the peers' names", "network",
                            network)
    subnet = ipaddress.ip_network(definition["ipam"]["subnet"])
    addresses, names = {}, {}
    for index, peer in enumerate(peers):
        where = f"peers[{index}]"
        address = ipaddress.ip_address(peer["address"])
        if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
            raise UnderlayError(f"{address} is not a host address of the subnet {subnet} of network '{network}'",
                                f"{where}.address", peer["address"])
        if address == ipaddress.ip_address(definition["ipam"]["gateway"]):
            raise UnderlayError(f"{address} is the gateway of network '{network}'", f"{where}.address", peer["address"])
        lease = leases.get(str(address))
        holder = lease["owner"] if lease is not None else addresses.get(str(address))
        if holder is not None:
            raise UnderlayError(f"{address} is also the address of {holder} on network '{network}'",
                                f"{where}.address", peer["address"])
        addresses[str(address)] = f"{where} ({peer_label(peer)})"
        for field_name, name in [("name", peer["name"])] + [("aliases", alias) for alias in peer["aliases"]]:
            held = _dns_records.name_holder(leases, None, [name])
            if held is not None:
                raise UnderlayError(f"'{name}' of {peer_label(peer)} is already a name of the local endpoint {held[1]}"
                                    f" on network '{network}'", f"{where}.{field_name}", name)
            if name.lower() in names:
                raise UnderlayError(f"'{name}' of {peer_label(peer)} is also a name of {names[name.lower()]}",
                                    f"{where}.{field_name}", name)
            names[name.lower()] = f"{where} ({peer_label(peer)})"
    return sorted(peers, key=lambda peer: ipaddress.ip_address(peer["address"]))


def peer_label(peer):
    return f"{peer['name']} on {peer['host']} ({peer['address']})"


def read(ws, spec):
    """The network's definition, leases and stored records, and what the resolver serves of it
    (read only when the network has names and local endpoints). Other networks' files are not
    read: the resolver is asked about this network only."""
    store = ws.store
    definition = store.network(spec.network)
    current = PeersCurrent(definition=definition,
                           leases=store.leases(spec.network)["leases"] if definition else {},
                           stored=store.peers(spec.network))
    if definition and _endpoint_dns.enabled(definition) and current.leases:
        current.served = _endpoint_dns._service().served_fingerprints(spec.state_dir)  # pylint: disable=protected-access
    return current


def _diff_view(spec, records):
    return {"network": spec.network, "peers": [peer_label(peer) + (f" aliases {', '.join(peer['aliases'])}"
                                                                   if peer["aliases"] else "")
                                               for peer in records or ()]}


def plan(spec, current):
    if spec.state == "absent":
        wanted = []
    else:
        wanted = check_peers(spec.network, current.definition, current.leases, spec.peers)
    result = Plan(before=_diff_view(spec, current.stored), after=_diff_view(spec, wanted))
    have = current.stored
    if wanted != have:  # no records: no file
        undo = Step("put the peer records back", "store_put_peers", {"network": spec.network, "peers": have}) \
            if have else Step("remove the peer records", "store_delete_peers", {"network": spec.network})
        if wanted:
            result.add(f"store {len(wanted)} peer record(s) of network '{spec.network}'", "store_put_peers",
                       undo=undo, network=spec.network, peers=wanted)
        else:
            result.add(f"remove the peer records of network '{spec.network}'", "store_delete_peers", undo=undo,
                       network=spec.network)
    # the resolver serves the records to the network's local endpoints: none, nothing to wait for
    if current.definition and _endpoint_dns.enabled(current.definition) and current.leases:
        network = {spec.network: (current.leases, _dns_records.peer_records(wanted or ()))}
        if not _endpoint_dns._service().serves(current.served, network):  # pylint: disable=protected-access
            state = "start the names resolver and wait until it serves" if current.served is None else \
                "wait until the names resolver serves"
            result.add(f"{state} the new records ({spec.state_dir})", "dns_ensure", state_dir=spec.state_dir,
                       netns=spec.netns, networks=[spec.network])
    return result


def records(stored):
    """The module's return value: the stored peer records, as the user gave them."""
    return [dict(peer, aliases=list(peer.get("aliases", ()))) for peer in stored]


def report(spec, current):
    return records(current.stored)


def predict(spec, current, planned):
    if spec.state == "absent":
        return []
    return records(check_peers(spec.network, current.definition, current.leases, spec.peers))
