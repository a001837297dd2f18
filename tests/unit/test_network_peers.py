# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""network_peers: a peer validated in itself, a peer list against the stored network and its
local leases (each refusal naming field and value), the records the resolver serves from
them, the stored file's checks, and the plan (store, remove, idempotent, the resolver wait)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _dns_records, _dns_service, _network_peers
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir

LAN = {"name": "lan", "id": "0" * 64, "driver": "macvlan", "parent": "eth0", "mode": "bridge",
       "ipam": {"subnet": "10.0.0.0/24", "gateway": "10.0.0.1", "ip_range": "10.0.0.0/25", "aux_addresses": {}}}
LEASES = {"10.0.0.2": {"owner": "container:web", "netns_path": "/proc/7/ns/net", "aliases": ["www"]},
          "10.0.0.3": {"owner": "pid:42", "netns_path": "/proc/42/ns/net"}}
DB = {"host": "host2", "name": "mariadb", "address": "10.0.0.130", "aliases": ["db"]}


def peer(**changes):
    return _network_peers.peer_record("peers[0]", dict(DB, **changes))


def test_a_peer_is_normalised_aliases_deduplicated_without_its_name():
    assert peer(aliases=["db", "DB", "mariadb", "sql"], address="10.0.0.130/24") == {
        "host": "host2", "name": "mariadb", "aliases": ["db", "sql"], "address": "10.0.0.130"}
    assert peer(aliases=None)["aliases"] == []


@pytest.mark.parametrize("changes, field, message", [
    ({"name": "-x"}, "peers[0].name", "'-x' is not a valid DNS name"),
    ({"name": None}, "peers[0].name", "None is not a valid DNS name"),
    ({"aliases": ["ok", "a b"]}, "peers[0].aliases", "'a b' is not a valid DNS name"),
    ({"aliases": "db"}, "peers[0].aliases", "'db' is not a list of names"),
    ({"address": "fe80::1"}, "peers[0].address", "'fe80::1' is not an IPv4 address"),
    ({"address": 5}, "peers[0].address", "5 is not an IPv4 address"),
    ({"host": ""}, "peers[0].host", "'' is not a host name"),
    ({"port": 1}, "peers[0]", "unknown field 'port'"),
])
def test_a_bad_peer_is_refused_naming_field_and_value(changes, field, message):
    with pytest.raises(UnderlayError) as err:
        peer(**changes)
    assert err.value.field == field and message in str(err.value)


def test_peers_are_checked_against_the_network_and_sorted_by_address():
    other = peer(name="cache", aliases=[], address="10.0.0.129")
    assert _network_peers.check_peers("lan", LAN, LEASES, [peer(), other]) == [other, peer()]
    assert _network_peers.check_peers("lan", LAN, LEASES, []) == []


@pytest.mark.parametrize("definition, peers, field, message", [
    (None, [], "network", "no network named 'lan'"),
    (dict(LAN, driver="bridge", bridge_name="br0"), [], "network", "is a bridge network: only networks of the drivers"
     " ipvlan, macvlan span hosts"),
    (dict(LAN, dns=False), [], "network", "has dns off"),
    (LAN, [{"name": "web"}], "peers[0].name", "'web' of web on host2 (10.0.0.130) is already a name of the local"
     " endpoint container:web on network 'lan'"),
    (LAN, [{"aliases": ["WWW"]}], "peers[0].aliases", "already a name of the local endpoint container:web"),
    (LAN, [{"address": "10.0.1.5"}], "peers[0].address", "10.0.1.5 is not a host address of the subnet 10.0.0.0/24"),
    (LAN, [{"address": "10.0.0.255"}], "peers[0].address", "not a host address"),
    (LAN, [{"address": "10.0.0.1"}], "peers[0].address", "10.0.0.1 is the gateway of network 'lan'"),
    (LAN, [{"address": "10.0.0.3"}], "peers[0].address", "10.0.0.3 is also the address of pid:42"),
    (LAN, [{}, {"name": "x", "aliases": []}], "peers[1].address",
     "10.0.0.130 is also the address of peers[0] (mariadb on host2 (10.0.0.130))"),
    (LAN, [{}, {"name": "x", "aliases": ["MariaDB"], "address": "10.0.0.131"}], "peers[1].aliases",
     "'MariaDB' of x on host2 (10.0.0.131) is also a name of peers[0]"),
])
def test_bad_peers_are_refused_naming_field_and_value(definition, peers, field, message):
    records = [peer(**changes) for changes in peers]
    with pytest.raises(UnderlayError) as err:
        _network_peers.check_peers("lan", definition, LEASES, records)
    assert err.value.field == field and message in str(err.value), str(err.value)


def test_drivers_that_span_hosts_are_a_set():
    assert _network_peers.DRIVERS == {"macvlan", "ipvlan"}


def test_the_resolver_serves_a_peer_by_its_name_and_aliases_in_the_local_namespaces_only():
    records = _dns_records.peer_records([peer()])
    assert records == ({"names": ["mariadb", "db"], "address": "10.0.0.130"},)
    views = _dns_records.views({"lan": (LEASES, records), "other": ({}, _dns_records.peer_records([peer()]))})
    assert set(views) == {"/proc/7/ns/net", "/proc/42/ns/net"}
    assert views["/proc/7/ns/net"].records == {"web": ["10.0.0.2"], "www": ["10.0.0.2"], "mariadb": ["10.0.0.130"],
                                               "db": ["10.0.0.130"]}


def test_stored_peers_are_what_the_service_serves(tmp_path):
    with StateDir(str(tmp_path)) as store:
        store.put_network(LAN)
        store.put_leases("lan", {"leases": LEASES})
        store.put_peers("lan", [peer()])
    served = _dns_service.served_networks(str(tmp_path))
    assert served == {"lan": (LEASES, ({"names": ["mariadb", "db"], "address": "10.0.0.130"},))}
    assert "peers" in _dns_service.WATCHED


@pytest.mark.parametrize("data, problem", [
    ({}, "no 'peers' list"),
    ({"peers": [{"host": "h", "name": "n"}]}, "peers[0] is not an object with string host, name and address"),
    ({"peers": [{"host": "h", "name": "n", "address": "10.0.0.300"}]}, "the address of peers[0]"),
    ({"peers": [{"host": "h", "name": "n", "address": "10.0.0.3", "aliases": "x"}]}, "the aliases of peers[0]"),
])
def test_a_malformed_peer_file_is_refused_and_kept(tmp_path, data, problem):
    path = tmp_path / "peers" / "lan.json"
    os.makedirs(path.parent)
    path.write_text(json.dumps(data))
    with StateDir(str(tmp_path)) as store:
        with pytest.raises(UnderlayError) as err:
            store.peers("lan")
    assert f"is corrupt ({problem}" in str(err.value)
    assert json.loads(path.read_text()) == data


def current(stored=(), leases=None, served=None):
    leases = LEASES if leases is None else leases
    return _network_peers.PeersCurrent(definition=LAN, leases=leases, stored=list(stored), served=served)


def spec(peers=(), state="present"):
    return _network_peers.PeersSpec(network="lan", state=state, peers=tuple(peers), state_dir="/s")


def test_the_plan_stores_the_records_then_waits_for_the_resolver_then_changes_nothing():
    planned = _network_peers.plan(spec([peer()]), current())
    assert [step.op for step in planned.steps] == ["store_put_peers", "dns_ensure"]
    assert planned.steps[0].args == {"network": "lan", "peers": [peer()]}
    assert planned.steps[1].args["networks"] == ["lan"]  # waited for alone: no other network's file is read
    assert planned.steps[0].undo.op == "store_delete_peers"
    assert planned.before == {"network": "lan", "peers": []}
    assert planned.after == {"network": "lan", "peers": ["mariadb on host2 (10.0.0.130) aliases db"]}
    served = _dns_service.fingerprints({"lan": (LEASES, _dns_records.peer_records([peer()]))})
    done = current(stored=[peer()], served=dict(served, other="what another network has"))
    assert _network_peers.plan(spec([peer()]), done).steps == []
    removed = _network_peers.plan(spec(state="absent"), done)
    assert [step.op for step in removed.steps] == ["store_delete_peers", "dns_ensure"]
    assert removed.steps[0].undo.args == {"network": "lan", "peers": [peer()]}


def test_without_local_endpoints_nothing_is_waited_for():
    planned = _network_peers.plan(spec([peer()]), current(leases={}))
    assert [step.op for step in planned.steps] == ["store_put_peers"]


def test_no_records_is_no_file():
    assert _network_peers.plan(spec([]), current(leases={})).steps == []
    emptied = _network_peers.plan(spec([]), current(stored=[peer()], leases={}))
    assert [step.op for step in emptied.steps] == ["store_delete_peers"]
