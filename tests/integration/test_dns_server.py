# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names resolver on the real kernel: one process answering at 127.0.0.11:53 inside each
endpoint's test-made namespace, each seeing only its own networks' names, the rest forwarded to
an upstream resolver that lives in the test's "host" namespace (never this machine's)."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rrset
import pytest

import underlay_testlib as lib

from ansible_collections.underlay.network.plugins.module_utils import _dns_records, _dns_service
from ansible_collections.underlay.network.plugins.module_utils._dns_server import Resolver


class Upstream:
    """The host's resolver: knows example.test, says NXDOMAIN to everything else."""

    def __init__(self, ns):
        self.sock = lib.in_netns(ns, socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 53))
        self.asked = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                wire, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(wire)
            name = query.question[0].name.to_text()
            self.asked.append(name)
            reply = dns.message.make_response(query)
            if name == "example.test.":
                reply.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "192.0.2.1"))
            else:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(reply.to_wire(), peer)


def ask(ns, name, rdtype="A", tcp=False):
    query = dns.message.make_query(name, rdtype)
    if tcp:
        sock = lib.in_netns(ns, socket.socket, socket.AF_INET, socket.SOCK_STREAM)
        with sock:
            sock.settimeout(3)
            sock.connect(("127.0.0.11", 53))
            sock.setblocking(False)
            return dns.query.tcp(query, "127.0.0.11", timeout=3, sock=sock)
    sock = lib.in_netns(ns, socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)  # dnspython waits with its own timeout only on a non-blocking socket
    with sock:
        return dns.query.udp(query, "127.0.0.11", timeout=3, sock=sock)


def addresses(reply):
    return sorted(item.address for rrset in reply.answer for item in rrset)


@pytest.fixture
def served(namespaces):
    host, wordpress, mariadb, outsider = (namespaces.new(role) for role in ("h", "wp", "db", "out"))
    paths = {name: f"/run/netns/{name}" for name in (wordpress, mariadb, outsider)}
    networks = {
        "internal": ({"10.10.0.2": {"owner": f"netns:{mariadb}", "netns_path": paths[mariadb], "aliases": ["mariadb"]},
                      "10.10.0.3": {"owner": f"netns:{wordpress}", "netns_path": paths[wordpress]}}, ()),
        "front": ({"10.20.0.2": {"owner": f"netns:{wordpress}", "netns_path": paths[wordpress],
                                 "aliases": ["wordpress"]},
                   "10.20.0.3": {"owner": f"netns:{outsider}", "netns_path": paths[outsider]}}, ()),
    }
    upstream = Upstream(host)
    resolver = Resolver(["127.0.0.1"], timeout=1.0)
    resolver.update(_dns_records.views(networks))
    thread = threading.Thread(target=lib.in_netns, args=(host, resolver.serve), daemon=True)
    thread.start()
    try:
        yield resolver, upstream, dict(wordpress=wordpress, mariadb=mariadb, outsider=outsider, host=host), networks
    finally:
        resolver.stop()
        thread.join(10)
        resolver.close()
        upstream.sock.close()


def test_each_namespace_resolves_its_own_networks_names_and_forwards_the_rest(served):
    resolver, upstream, ns, _networks = served
    assert resolver.problems == {} and len(resolver.served) == 3
    assert addresses(ask(ns["wordpress"], "mariadb")) == ["10.10.0.2"]
    assert addresses(ask(ns["wordpress"], "MariaDB.", tcp=True)) == ["10.10.0.2"]
    # mariadb is not on "front": the alias 'wordpress' lives there, so mariadb's lookup goes upstream
    assert ask(ns["mariadb"], "wordpress").rcode() == dns.rcode.NXDOMAIN
    assert addresses(ask(ns["mariadb"], ns["wordpress"])) == ["10.10.0.3"]
    assert addresses(ask(ns["outsider"], "wordpress")) == ["10.20.0.2"]
    assert ask(ns["outsider"], "mariadb").rcode() == dns.rcode.NXDOMAIN
    assert "mariadb." in upstream.asked
    assert addresses(ask(ns["outsider"], "example.test")) == ["192.0.2.1"]
    aaaa = ask(ns["wordpress"], "mariadb", "AAAA")
    assert aaaa.rcode() == dns.rcode.NOERROR and aaaa.answer == []


def test_a_namespace_dropped_from_the_views_is_no_longer_served(served):
    resolver, _upstream, ns, networks = served
    del networks["front"][0]["10.20.0.3"]
    resolver.update(_dns_records.views(networks))
    assert f"/run/netns/{ns['outsider']}" not in resolver.served
    with pytest.raises(dns.exception.Timeout):
        ask(ns["outsider"], "wordpress")
    assert addresses(ask(ns["wordpress"], "mariadb")) == ["10.10.0.2"]


def test_a_namespace_that_is_gone_is_a_problem_not_a_failure(served):
    resolver, _upstream, ns, networks = served
    networks["front"][0]["10.20.0.9"] = {"owner": "netns:gone", "netns_path": "/run/netns/ult-no-such-namespace"}
    resolver.update(_dns_records.views(networks))
    assert list(resolver.problems) == ["/run/netns/ult-no-such-namespace"]
    assert addresses(ask(ns["outsider"], "gone")) == ["10.20.0.9"]


def test_the_service_follows_the_state_directory_and_a_module_can_wait_for_it(namespaces, tmp_path):
    """``_dns_service.ensure`` starts the resolver detached (as a module does), which serves what
    ``state_dir`` says; a changed lease table is served before ``ensure`` returns again."""
    host, web = namespaces.new("h"), namespaces.new("web")
    state_dir = tmp_path / "state"
    (state_dir / "networks").mkdir(parents=True)
    (state_dir / "leases").mkdir()
    definition = {"name": "front", "id": "0" * 64, "driver": "bridge", "bridge_name": "brf", "created": "x",
                  "ipam": {"subnet": "10.20.0.0/24", "gateway": "10.20.0.1", "ip_range": "10.20.0.0/24",
                           "aux_addresses": {}}, "options": {}}
    (state_dir / "networks" / "front.json").write_text(json.dumps(definition))

    def leases(table):
        temporary = state_dir / "leases" / ".front.tmp"
        temporary.write_text(json.dumps({"leases": table, "last_reserved": None}))
        temporary.rename(state_dir / "leases" / "front.json")

    leases({"10.20.0.2": {"owner": f"netns:{web}", "netns_path": f"/run/netns/{web}"}})
    assert not _dns_service.running(str(state_dir))
    try:
        assert _dns_service.ensure(str(state_dir), netns=host) == []
        assert _dns_service.running(str(state_dir))
        assert addresses(ask(web, web)) == ["10.20.0.2"]
        leases({"10.20.0.2": {"owner": f"netns:{web}", "netns_path": f"/run/netns/{web}", "aliases": ["www"]}})
        _dns_service.ensure(str(state_dir), netns=host)
        assert addresses(ask(web, "www")) == ["10.20.0.2"]
    finally:
        pid = int((state_dir / "dns" / "resolver.lock").read_text())
        subprocess.run(["kill", str(pid)], check=False)
        deadline = time.monotonic() + 10
        while _dns_service.running(str(state_dir)) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not _dns_service.running(str(state_dir))
    assert not (state_dir / "dns" / "served").exists()
