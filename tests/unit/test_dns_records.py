"""Which names each endpoint's namespace resolves (the seed's two-network example)."""

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _dns_records
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

INTERNAL = {"10.10.0.2": {"owner": "container:mariadb", "netns_path": "/proc/11/ns/net"},
            "10.10.0.3": {"owner": "container:wordpress", "netns_path": "/proc/12/ns/net", "aliases": ["blog"]}}
FRONT = {"10.20.0.2": {"owner": "container:wordpress", "netns_path": "/proc/12/ns/net"},
         "10.20.0.3": {"owner": "netns:outsider", "netns_path": "/run/netns/outsider"},
         "10.20.0.4": {"owner": "pid:4242", "netns_path": "/proc/4242/ns/net"}}


def test_each_namespace_sees_the_names_of_its_own_networks_only():
    views = _dns_records.views({"internal": (INTERNAL, ()), "front": (FRONT, ())})
    mariadb, wordpress, outsider = (views[p] for p in ("/proc/11/ns/net", "/proc/12/ns/net", "/run/netns/outsider"))
    assert mariadb.records == {"mariadb": ["10.10.0.2"], "wordpress": ["10.10.0.3"], "blog": ["10.10.0.3"]}
    assert wordpress.networks == ("front", "internal")
    assert wordpress.records["wordpress"] == ["10.20.0.2", "10.10.0.3"]
    assert wordpress.records["mariadb"] == ["10.10.0.2"] and wordpress.records["outsider"] == ["10.20.0.3"]
    assert "mariadb" not in outsider.records and outsider.records["wordpress"] == ["10.20.0.2"]
    assert "4242" not in outsider.records  # a PID has no name


def test_peers_on_other_hosts_resolve_but_are_served_nowhere_here():
    peers = [{"names": ["Centos02"], "address": "10.30.0.12"}]
    views = _dns_records.views({"vlan30": ({"10.30.0.11": {"owner": "container:centos01",
                                                           "netns_path": "/proc/7/ns/net"}}, peers)})
    assert list(views) == ["/proc/7/ns/net"]
    assert views["/proc/7/ns/net"].records == {"centos01": ["10.30.0.11"], "centos02": ["10.30.0.12"]}


def test_a_name_already_answered_to_on_the_network_is_found_with_its_holder():
    assert _dns_records.name_holder(INTERNAL, "container:other", ["BLOG"]) == ("blog", "container:wordpress")
    assert _dns_records.name_holder(INTERNAL, "container:wordpress", ["blog", "wordpress"]) is None
    assert _dns_records.name_holder({}, "container:x", ["db"], [{"names": ["db"], "address": "10.0.0.9"}]) == (
        "db", "an endpoint of another host (10.0.0.9)")


@pytest.mark.parametrize("name", ["db", "centos_three", "db.example", "a" * 63, "x1-y2"])
def test_valid_names(name):
    assert _dns_records.dns_name("aliases", name) == name


@pytest.mark.parametrize("name", ["", "-db", "db-", "a" * 64, "a b", "db..x", "x/y", 5, ("a" * 60 + ".") * 5])
def test_an_invalid_alias_is_refused_naming_it(name):
    with pytest.raises(UnderlayError) as caught:
        _dns_records.dns_name("aliases", name)
    assert caught.value.field == "aliases" and caught.value.value == name and "not a valid DNS name" in str(caught.value)
