# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names in container_endpoint's plan (pure): aliases validated and unique on the network, the
resolv.conf text (Docker's embedded-DNS shape) and putting it back, the steps planned from what
was read (a file to point, a loopback to set up, the resolver to ensure) and none when all is
as wanted."""

from __future__ import annotations

import dataclasses

import pytest

from endpoint_world import current, endpoint_link, lease, spec

from ansible_collections.underlay.network.plugins.module_utils import _dns_service, _endpoint_plan, _resolv_conf
from ansible_collections.underlay.network.plugins.module_utils import _targets
from ansible_collections.underlay.network.plugins.module_utils._endpoint_dns import NamesCurrent
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

HOST = "# managed\nsearch example.org lab.test\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions ndots:2 edns0\n"


def test_wanted_keeps_search_and_other_options_and_restored_puts_the_file_back():
    wanted = _resolv_conf.wanted(HOST)
    assert wanted == ("# managed\nsearch example.org lab.test\nnameserver 127.0.0.11\noptions ndots:0 edns0\n")
    assert _resolv_conf.wanted(wanted) == wanted
    assert _resolv_conf.points_at_resolver(wanted) and not _resolv_conf.points_at_resolver(HOST)
    original = _resolv_conf.original_lines(HOST)
    assert _resolv_conf.restored(wanted, original) == HOST
    assert _resolv_conf.restored(wanted, None) is None  # there was no file: it is removed
    assert _resolv_conf.wanted(None) == "nameserver 127.0.0.11\noptions ndots:0\n"


def test_which_file_each_target_kind_has():
    assert _resolv_conf.path_of("container_netns", "tenant") == "/etc/netns/tenant/resolv.conf"
    assert _resolv_conf.path_of("container_netns", "/proc/1/ns/net") is None
    assert _resolv_conf.path_of("pid", 42) is None
    assert _resolv_conf.path_of("container", "web", "/var/lib/docker/containers/x/resolv.conf") == \
        "/var/lib/docker/containers/x/resolv.conf"


@pytest.mark.parametrize("alias", ["bad name", "-db", "db-", "a" * 64, "", "x..y"])
def test_an_invalid_alias_is_refused_naming_field_and_value(alias):
    with pytest.raises(UnderlayError) as err:
        spec(network="b1", container_netns="c1", aliases=[alias])
    assert err.value.field == "aliases" and err.value.value == alias


def test_a_batch_item_alias_is_named_by_its_index():
    with pytest.raises(UnderlayError) as err:
        spec(network="b1", endpoints=[{"container_netns": "c1"}, {"container_netns": "c2", "aliases": ["ok", "no!"]}])
    assert err.value.field == "endpoints[1].aliases" and err.value.value == "no!"


def _names(tables, served=None, files=None, lo_down=()):
    return NamesCurrent(state_dir="/state", netns=None, tables=tables, served=served, files=files or {},
                        lo_down=set(lo_down), host_text=HOST)


def test_a_new_endpoint_points_its_file_sets_lo_up_records_the_original_and_ensures_the_resolver():
    batch = spec(network="b1", container_netns="c1", aliases=["web"])
    world = current(batch, c1={"names": frozenset({"lo"})})
    world.names = _names({"b1": {}}, files={"/etc/netns/c1/resolv.conf": None}, lo_down=["/run/netns/c1"])
    planned = _endpoint_plan.plan(batch, world)
    ops = [step.op for step in planned.steps]
    assert ops[-1] == "dns_ensure"
    assert planned.steps[-1].args == {"state_dir": "/state", "netns": None, "networks": ["b1"]}
    written = next(step for step in planned.steps if step.op == "resolv_conf_write")
    assert written.args == {"path": "/etc/netns/c1/resolv.conf", "text": _resolv_conf.wanted(HOST), "in_place": False}
    assert written.undo.args["text"] is None
    assert any(step.op == "link_set" and step.args["name"] == "lo" for step in planned.steps)
    saved = [step for step in planned.steps if step.op == "store_put_leases"][-1].args["table"]["leases"]
    (entry,) = saved.values()
    assert entry["aliases"] == ["web"]
    assert entry["resolv_conf"] == {"path": "/etc/netns/c1/resolv.conf", "lines": None}
    assert planned.after["endpoints"][0]["aliases"] == ["web"]


def test_nothing_to_do_when_the_file_points_and_the_resolver_serves_the_same_records():
    batch = spec(network="b1", container_netns="c1")
    record = {"path": "/etc/netns/c1/resolv.conf", "lines": None}
    stored = {"172.30.0.2": lease("b1", "c1", mac="02:42:ac:1e:00:02", resolv_conf=record)}
    world = current(batch, tables={"b1": stored},
                    c1={"link": endpoint_link("b1", "c1", address="172.30.0.2", mac="02:42:ac:1e:00:02"),
                        "gateway_routes": {"default": "172.30.0.1"}})
    served = _dns_service.fingerprints({"b1": (stored, ())})
    world.names = _names({"b1": stored}, served=served,
                         files={"/etc/netns/c1/resolv.conf": _resolv_conf.wanted(HOST)})
    assert _endpoint_plan.plan(batch, world).steps == []
    world.names = _names({"b1": stored}, served=None, files={"/etc/netns/c1/resolv.conf": _resolv_conf.wanted(HOST)})
    assert [step.op for step in _endpoint_plan.plan(batch, world).steps] == ["dns_ensure"]  # the resolver died


def test_only_the_batchs_networks_are_waited_for():
    batch = spec(network="b1", container_netns="c1")
    record = {"path": "/etc/netns/c1/resolv.conf", "lines": None}
    stored = {"172.30.0.2": lease("b1", "c1", mac="02:42:ac:1e:00:02", resolv_conf=record)}
    world = current(batch, tables={"b1": stored},
                    c1={"link": endpoint_link("b1", "c1", address="172.30.0.2", mac="02:42:ac:1e:00:02"),
                        "gateway_routes": {"default": "172.30.0.1"}})
    other = {"10.0.0.9": lease("n1", "c9", mac="02:42:0a:00:00:09")}
    # another network the resolver serves otherwise (or not at all): not this run's business
    served = dict(_dns_service.fingerprints({"b1": (stored, ())}), n1="stale")
    world.names = _names({"b1": stored, "n1": other}, served=served,
                         files={"/etc/netns/c1/resolv.conf": _resolv_conf.wanted(HOST)})
    assert _endpoint_plan.plan(batch, world).steps == []
    world.names = _names({"b1": stored, "n1": other}, served={"n1": "stale"},
                         files={"/etc/netns/c1/resolv.conf": _resolv_conf.wanted(HOST)})
    (step,) = _endpoint_plan.plan(batch, world).steps
    assert (step.op, step.args["networks"]) == ("dns_ensure", ["b1"])


def test_a_loopback_set_up_waits_for_the_resolver_even_with_the_same_records():
    batch = spec(network="b1", container_netns="c1")
    record = {"path": "/etc/netns/c1/resolv.conf", "lines": None}
    stored = {"172.30.0.2": lease("b1", "c1", mac="02:42:ac:1e:00:02", resolv_conf=record)}
    world = current(batch, tables={"b1": stored},
                    c1={"link": endpoint_link("b1", "c1", address="172.30.0.2", mac="02:42:ac:1e:00:02"),
                        "gateway_routes": {"default": "172.30.0.1"}})
    # the namespace was made again (lo down): the resolver serves it only once lo is up
    world.names = _names({"b1": stored}, served=_dns_service.fingerprints({"b1": (stored, ())}),
                         files={"/etc/netns/c1/resolv.conf": _resolv_conf.wanted(HOST)}, lo_down=["/run/netns/c1"])
    assert [step.op for step in _endpoint_plan.plan(batch, world).steps] == ["link_set", "dns_ensure"]


def test_the_last_endpoint_going_puts_the_file_back():
    batch = spec(network="b1", container_netns="c1", state="absent")
    record = {"path": "/etc/netns/c1/resolv.conf", "lines": ["nameserver 192.0.2.1"]}
    stored = {"172.30.0.2": lease("b1", "c1", mac="02:42:ac:1e:00:02", resolv_conf=record)}
    world = current(batch, tables={"b1": stored}, c1={"link": None})
    world.names = _names({"b1": stored}, served={"b1": "x"},
                         files={"/etc/netns/c1/resolv.conf": "search a\nnameserver 127.0.0.11\noptions ndots:0\n"})
    planned = _endpoint_plan.plan(batch, world)
    back = next(step for step in planned.steps if step.op == "resolv_conf_write")
    assert back.args["text"] == "search a\nnameserver 192.0.2.1\n"
    assert planned.steps[-1].op == "dns_ensure"


def test_a_name_another_endpoint_answers_to_is_refused_naming_both():
    stored = {"172.30.0.2": lease("b1", "c1", mac="02:42:ac:1e:00:02", aliases=["db"])}
    batch = spec(network="b1", container_netns="c2", aliases=["DB"])
    with pytest.raises(UnderlayError) as err:
        _endpoint_plan.plan(batch, current(batch, tables={"b1": stored}, c2={}))
    assert err.value.field == "aliases" and "'db' is already a name of netns:c1 on network 'b1'" in str(err.value)
    batch = spec(network="b1", container_netns="db")
    with pytest.raises(UnderlayError) as err:
        _endpoint_plan.plan(batch, current(batch, tables={"b1": stored}, db={}))
    assert err.value.field == "container_netns" and err.value.value == "db"


def test_a_container_without_a_resolv_conf_is_named_in_a_warning():
    """Podman gives a ``--network none`` container no ResolvConfPath: nothing to point, the
    resolver is still ensured, and the result says so (the names steps' warnings reach it)."""
    batch = spec(network="b1", container="web")
    world = current(batch, web={"names": frozenset({"lo"})})
    world.items[0] = dataclasses.replace(world.items[0], target=_targets.Target(
        owner="container:web", label="container web", netns_path="/proc/42/ns/net", container="web",
        runtime="podman"))
    world.names = _names({"b1": {}})
    planned = _endpoint_plan.plan(batch, world)
    assert [warning.split(":")[0] for warning in planned.warnings] == [
        "container web (podman) has no resolv.conf of its runtime (no ResolvConfPath; Podman gives a --network none"
        " container none)"], planned.warnings
    assert not any(step.op == "resolv_conf_write" for step in planned.steps)
    assert planned.steps[-1].op == "dns_ensure"


def test_a_container_without_a_resolv_conf_is_told_once_not_at_each_reattach():
    """Its lease says it was attached (and told) before: a restore or a watcher's re-attach
    after a restart does not report the same warning as a problem again."""
    batch = spec(network="b1", container="web")
    world = current(batch, web={"names": frozenset({"lo"})})
    world.items[0] = dataclasses.replace(world.items[0], target=_targets.Target(
        owner="container:web", label="container web", netns_path="/proc/42/ns/net", container="web",
        runtime="podman"))
    stored = {"172.30.0.2": lease("b1", "web", owner="container:web", netns_path="/proc/41/ns/net",
                                  resolv_conf={"path": None, "lines": None})}
    world.names = _names({"b1": stored})
    planned = _endpoint_plan.plan(batch, world)
    assert not planned.warnings, planned.warnings
