# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names (issue 17) through container_endpoint, on the real kernel: two bridge networks
(internal + front) and a macvlan network without host_access, ``container_netns`` endpoints in
test-made namespaces. Each resolves the names and aliases of its own networks and nothing of
the others, asked with dnspython from a socket opened inside the namespace and through the
namespace's resolv.conf (``ip netns exec NS getent hosts``, Python's resolver); the module
starts the resolver, a re-run changes nothing, check mode changes nothing, a detach removes the
name and puts resolv.conf back, a killed resolver is started again, bad names are refused."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from types import SimpleNamespace

import pytest

import underlay_testlib as lib

from ansible_collections.underlay.network.plugins.module_utils import _dns_service

MODULE = "underlay.network.container_endpoint"


ask = lib.resolve_a  # the names resolver's answer inside a namespace


def getent(ns, name):
    """``getent hosts NAME`` inside ``ns``: through /etc/netns/NS/resolv.conf (ip netns exec)."""
    proc = lib.sh("ip", "netns", "exec", ns, "getent", "hosts", name, check=False)
    return proc.stdout.split()[0] if proc.returncode == 0 and proc.stdout.strip() else None


def python_lookup(ns, name):
    proc = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c",
                           f"import socket; print(socket.gethostbyname({name!r}))"],
                          capture_output=True, text=True, check=False, timeout=60)
    return proc.stdout.strip() if proc.returncode == 0 else None


def resolv(ns):
    try:
        with open(f"/etc/netns/{ns}/resolv.conf", encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def stop_resolver(state_dir):
    assert lib.stop_resolver(state_dir)
    assert not _dns_service.running(state_dir)


@pytest.fixture
def lab(namespaces, tmp_path):
    host = namespaces.host_with_parent()
    state_dir = str(tmp_path / "state")
    common = {"netns": host, "state_dir": state_dir}
    r = lib.run_tasks([
        {"underlay.network.bridge_network": dict(common, name="internal", bridge_name="br-int", internal=True,
                                                 subnet="10.61.0.0/24")},
        {"underlay.network.bridge_network": dict(common, name="front", bridge_name="br-front",
                                                 subnet="10.62.0.0/24")},
        {"underlay.network.macvlan_network": dict(common, name="mv", parent="veth0", subnet="10.63.0.0/24")},
    ])
    assert not any(x.get("failed") for x in r), [x.get("msg") for x in r]
    assert all(x["network"]["EnableDNS"] is True for x in r)
    names = SimpleNamespace(db=namespaces.new("db"), wp=namespaces.new("wp"), out=namespaces.new("out"),
                            m1=namespaces.new("m"), m2=namespaces.new("m"))
    try:
        yield SimpleNamespace(host=host, state_dir=state_dir, common=common, ns=names, namespaces=namespaces)
    finally:
        lib.stop_resolver(state_dir)


def attach_all(lab, check_mode=False):
    ns = lab.ns
    return lib.run_tasks([{MODULE: dict(lab.common, endpoints=[
        {"network": "internal", "container_netns": ns.db, "aliases": ["mariadb", "db"]},
        {"network": "internal", "container_netns": ns.wp},
        {"network": "front", "container_netns": ns.wp, "aliases": ["wordpress"]},
        {"network": "front", "container_netns": ns.out},
        {"network": "mv", "container_netns": ns.m1, "aliases": ["m-one"]},
        {"network": "mv", "container_netns": ns.m2},
    ])}], check_mode=check_mode, diff=True)[0]


def observed(lab):
    """Everything check mode must leave byte-identical: the host's ruleset, the state files
    (the resolver's pid and served fingerprints among them; not its log), every resolv.conf."""
    state = lib.tree_snapshot(lab.state_dir) or {}
    state.pop(os.path.join("dns", "resolver.log"), None)
    return {"nft": lib.nft_ruleset(lab.host), "state": state,
            "resolv": {name: resolv(name) for name in vars(lab.ns).values()},
            "lo": {name: lib.sh("ip", "-o", "link", "show", "lo", ns=name).stdout.split()[2]
                   for name in vars(lab.ns).values()}}


def test_names_resolve_on_their_own_networks_only_rerun_check_mode_detach_restart(lab):
    ns = lab.ns
    lib.sh("ip", "link", "set", "lo", "down", ns=ns.m1)  # the resolver lives on lo: the module sets it up
    with open("/etc/resolv.conf", encoding="utf-8") as handle:
        host_search = [line for line in handle.read().splitlines() if line.startswith("search")]

    before = observed(lab)
    checked = attach_all(lab, check_mode=True)
    assert checked["changed"] is True, checked
    assert any("start the names resolver" in action for action in checked["actions"])
    assert observed(lab) == before
    assert not _dns_service.running(lab.state_dir)

    done = attach_all(lab)
    assert done["changed"] is True and not done.get("failed"), done.get("msg")
    assert any(f"set 'lo' up in namespace {ns.m1}" in action for action in done["actions"])
    assert [e["aliases"] for e in done["endpoints"]] == [["mariadb", "db"], [], ["wordpress"], [], ["m-one"], []]
    assert _dns_service.running(lab.state_dir)
    for name in vars(ns).values():
        text = resolv(name)
        assert [line for line in text.splitlines() if line.startswith("nameserver")] == ["nameserver 127.0.0.11"]
        assert "options ndots:0" in text.splitlines()
        assert [line for line in text.splitlines() if line.startswith("search")] == host_search
        assert os.stat(f"/etc/netns/{name}/resolv.conf").st_mode & 0o777 == 0o644

    db, wp_internal, wp_front, out, m1, m2 = (e["ipv4_address"].split("/")[0] for e in done["endpoints"])
    # wordpress is on both bridges: it resolves the database (by name and aliases) and the outsider
    assert ask(ns.wp, "mariadb") == [db] and ask(ns.wp, "DB") == [db] and ask(ns.wp, ns.db) == [db]
    assert ask(ns.wp, ns.out) == [out]
    assert ask(ns.wp, "wordpress") == [wp_front] and ask(ns.wp, ns.wp) == sorted([wp_internal, wp_front])
    # the database is on internal only: it resolves wordpress's internal address, not front's names
    assert ask(ns.db, ns.wp) == [wp_internal]
    assert ask(ns.db, "wordpress") == [] and ask(ns.db, ns.out) == []
    # the outsider is on front only: no internal name
    assert ask(ns.out, "wordpress") == [wp_front] and ask(ns.out, "mariadb") == [] and ask(ns.out, ns.db) == []
    # the macvlan network (no host_access: its endpoints cannot reach the host) resolves too
    assert ask(ns.m2, "m-one") == [m1] and ask(ns.m1, ns.m2) == [m2]
    assert ask(ns.m1, "mariadb") == [] and ask(ns.wp, "m-one") == []
    # through resolv.conf: ip netns exec shows /etc/netns/NS/resolv.conf as /etc/resolv.conf
    assert getent(ns.wp, "mariadb") == db and getent(ns.out, "wordpress") == wp_front
    assert getent(ns.m2, "m-one") == m1
    assert python_lookup(ns.wp, "db") == db and python_lookup(ns.m1, ns.m2) == m2

    again = attach_all(lab)
    assert again["changed"] is False and again["actions"] == [], again["actions"]

    # check mode of a change (a new alias, a detach) changes nothing either
    before = observed(lab)
    checked = lib.run_tasks([{MODULE: dict(lab.common, network="front", container_netns=ns.out, state="absent")}],
                            check_mode=True)[0]
    assert checked["changed"] is True and observed(lab) == before

    # detach: the name is gone for the others, the outsider's resolv.conf is put back (it had none)
    gone = lib.run_tasks([{MODULE: dict(lab.common, network="front", container_netns=ns.out, state="absent")}])[0]
    assert gone["changed"] is True and not gone.get("failed"), gone.get("msg")
    assert resolv(ns.out) is None and not os.path.exists(f"/etc/netns/{ns.out}")
    assert ask(ns.wp, ns.out) == [] and ask(ns.wp, "mariadb") == [db]

    info = {n["Name"]: n for n in lib.run_module("network_info", lab.common)["networks"]}
    assert all(n["drift"] == [] for n in info.values()), {k: n["drift"] for k, n in info.items()}
    assert info["internal"]["Containers"][f"netns:{ns.db}"]["Aliases"] == ["mariadb", "db"]

    # resolv.conf edited by someone else, the resolver killed: network_info says so
    with open(f"/etc/netns/{ns.m2}/resolv.conf", "w", encoding="utf-8") as handle:
        handle.write("nameserver 192.0.2.53\n")
    info = {n["Name"]: n for n in lib.run_module("network_info", lab.common)["networks"]}
    assert info["mv"]["drift"] == [f"endpoint namespace {ns.m2} ({m2}): /etc/netns/{ns.m2}/resolv.conf does not point"
                                   " at the names resolver (127.0.0.11)"], info["mv"]["drift"]
    stop_resolver(lab.state_dir)
    info = {n["Name"]: n for n in lib.run_module("network_info", lab.common)["networks"]}
    assert "names are not served: the names resolver of the state directory is not running" in info["front"]["drift"]

    # the resolver killed: the next run starts it again (changed), the file is pointed again, names resolve
    assert ask(ns.wp, "mariadb") == []
    restarted = attach_all(lab)
    assert restarted["changed"] is True, restarted
    assert restarted["actions"][-1].startswith("start the names resolver")
    assert f"point /etc/netns/{ns.m2}/resolv.conf at the names resolver (127.0.0.11)" in restarted["actions"]
    assert ask(ns.wp, "mariadb") == [db] and getent(ns.m2, "m-one") == m1
    assert attach_all(lab)["changed"] is False


def test_a_corrupt_lease_file_of_another_network_stops_only_the_runs_that_need_it(lab):
    """A run reads the leases of its own networks (and, for a namespace that already resolves
    names, of the others): a corrupt file of network ``internal`` does not stop attaching to
    ``front``, is never rewritten, and the resolver keeps serving every network."""
    ns = lab.ns
    first = lib.run_tasks([{MODULE: dict(lab.common, endpoints=[
        {"network": "internal", "container_netns": ns.db, "aliases": ["mariadb"]},
        {"network": "front", "container_netns": ns.out}])}])[0]
    assert first["changed"] is True and not first.get("failed"), first.get("msg")
    db, out = (e["ipv4_address"].split("/")[0] for e in first["endpoints"])
    corrupt = os.path.join(lab.state_dir, "leases", "internal.json")
    with open(corrupt, "rb") as handle:
        good = handle.read()
    broken = good[: len(good) // 2]  # a torn write
    with open(corrupt, "wb") as handle:
        handle.write(broken)

    attach = {MODULE: dict(lab.common, network="front", container_netns=ns.wp, aliases=["wordpress"])}
    done = lib.run_tasks([attach])[0]
    assert done["changed"] is True and not done.get("failed"), done.get("msg")
    wp = done["endpoint"]["ipv4_address"].split("/")[0]
    assert ask(ns.out, "wordpress") == [wp] and ask(ns.wp, ns.out) == [out]
    assert lib.run_tasks([attach])[0]["changed"] is False
    # network_peers too reads, and waits for, its own network only
    joined = lib.run_tasks([{MODULE: dict(lab.common, network="mv", container_netns=ns.m2)}])[0]
    assert joined["changed"] is True and not joined.get("failed"), joined.get("msg")
    peers = {"underlay.network.network_peers": dict(lab.common, network="mv", peers=[
        {"host": "far", "name": "remote", "address": "10.63.0.200"}])}
    stored = lib.run_tasks([peers, peers])
    assert [x["changed"] for x in stored] == [True, False], [x.get("msg") for x in stored]
    assert ask(ns.m2, "remote") == ["10.63.0.200"]
    # the resolver follows: it says why internal is not read, and serves what it had of it
    assert _dns_service.running(lab.state_dir)
    assert ask(ns.db, "mariadb") == [db]
    with open(os.path.join(lab.state_dir, "dns", "resolver.log"), encoding="utf-8") as handle:
        assert f"{corrupt} is corrupt" in handle.read()

    # a namespace that resolves names already may have them through internal: that run needs it
    before = observed(lab)
    refused = lib.run_tasks([{MODULE: dict(lab.common, network="front", container_netns=ns.db)}])[0]
    assert refused.get("failed") and f"{corrupt} is corrupt" in refused["msg"], refused
    refused = lib.run_tasks([{MODULE: dict(lab.common, network="internal", container_netns=ns.m1)}])[0]
    assert refused.get("failed") and f"{corrupt} is corrupt" in refused["msg"], refused
    assert observed(lab)["resolv"] == before["resolv"] and observed(lab)["nft"] == before["nft"]
    with open(corrupt, "rb") as handle:
        assert handle.read() == broken  # never overwritten

    # repaired: the resolver reads it again, the run that needed it goes through
    with open(corrupt, "wb") as handle:
        handle.write(good)
    joined = lib.run_tasks([{MODULE: dict(lab.common, network="front", container_netns=ns.db)}])[0]
    assert joined["changed"] is True and not joined.get("failed"), joined.get("msg")
    assert ask(ns.wp, ns.db) == [joined["endpoint"]["ipv4_address"].split("/")[0]]
    assert ask(ns.db, "mariadb") == [db]


def restore(lab):
    """``underlay-network restore`` (what ``watch`` runs at a container start), in the host namespace."""
    code = ("import sys\nfrom ansible_collections.underlay.network.plugins.module_utils import _cli\n"
            "sys.exit(_cli.main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, "restore", "--netns", lab.host, "--state-dir", lab.state_dir],
                          capture_output=True, text=True, env=lib.ansible_env(), check=False, timeout=120)


def test_restore_has_the_resolver_let_go_of_a_replaced_namespace_before_attaching_again(lab):
    """The resolver's listeners keep the namespace they are in alive (and with it the old
    endpoint). A run that makes endpoints again (restore, and watch at a container start) asks
    it to let go of the namespaces that went first, and is answered only after it has: the
    replaced namespace is held no more, the new one is attached again and resolves."""
    ns = lab.ns
    done = lib.run_tasks([{MODULE: dict(lab.common, endpoints=[
        {"network": "front", "container_netns": ns.wp, "aliases": ["wordpress"]},
        {"network": "mv", "container_netns": ns.out}, {"network": "mv", "container_netns": ns.m1}])}])[0]
    assert done["changed"] is True and not done.get("failed"), done.get("msg")
    out = done["endpoints"][1]["ipv4_address"].split("/")[0]
    path = f"/run/netns/{ns.out}"
    old = os.stat(path).st_ino
    held = _dns_service.release(lab.state_dir)
    assert held == {f"/run/netns/{name}": os.stat(f"/run/netns/{name}").st_ino for name in (ns.m1, ns.out, ns.wp)}

    # a restart: the namespace goes (its macvlan with it, once nothing holds it) and a new one
    # comes under the same name
    lib.sh("ip", "netns", "del", ns.out)
    lib.sh("ip", "netns", "add", ns.out)  # its loopback down: the resolver does not serve it yet
    held = _dns_service.release(lab.state_dir)
    assert held is not None and path not in held
    restored = restore(lab)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert f"namespace {ns.out}" in restored.stdout, restored.stdout
    assert ask(ns.m1, ns.out) == [out]
    assert ask(ns.out, ns.m1) == [done["endpoints"][2]["ipv4_address"].split("/")[0]]
    assert _dns_service.release(lab.state_dir).get(path) == os.stat(path).st_ino
    # no resolver: nothing to ask
    stop_resolver(lab.state_dir)
    assert _dns_service.release(lab.state_dir) is None


def test_bad_names_are_refused_naming_field_and_value_and_nothing_changes(lab):
    ns = lab.ns
    first = lib.run_tasks([{MODULE: dict(lab.common, network="internal", container_netns=ns.db,
                                         aliases=["mariadb", ns.out])}])[0]
    assert first["changed"] is True and not first.get("failed"), first.get("msg")
    before = observed(lab)
    bad = lib.run_tasks([
        {MODULE: dict(lab.common, network="internal", container_netns=ns.wp, aliases=["bad name!"])},
        {MODULE: dict(lab.common, network="internal", container_netns=ns.wp, aliases=["-db"])},
        {MODULE: dict(lab.common, network="internal", container_netns=ns.wp, aliases=["MariaDB"])},
        {MODULE: dict(lab.common, network="internal", container_netns=ns.wp, aliases=[ns.db])},
        {MODULE: dict(lab.common, network="internal", container_netns=ns.out)},
    ])
    for result in bad[:4]:
        assert result.get("failed") and result.get("field") == "aliases", result
    assert "'bad name!' is not a valid DNS name" in bad[0]["msg"]
    assert "'-db' is not a valid DNS name" in bad[1]["msg"]
    assert "'mariadb' is already a name of netns:" + ns.db in bad[2]["msg"] and "network 'internal'" in bad[2]["msg"]
    assert f"'{ns.db}' is already a name of netns:{ns.db}" in bad[3]["msg"]
    # a namespace whose own name is another endpoint's alias
    assert bad[4].get("failed") and bad[4]["field"] == "container_netns", bad[4]
    assert f"'{ns.out}' is already a name of netns:{ns.db}" in bad[4]["msg"]
    assert observed(lab) == before


@pytest.fixture
def podman(namespaces, tmp_path):
    """Podman with private storage (as test_container_endpoint_runtimes.py runs it), busybox
    as the image's root; a container joins a test-made namespace (``--network ns:PATH``), so
    Podman gives it a resolv.conf (its ResolvConfPath) and nothing of this machine's network is used."""
    if not os.path.exists("/usr/bin/podman") or not os.path.exists("/bin/busybox"):
        pytest.fail("podman and busybox-static are needed: scripts/setup installs them")
    work = tmp_path / "podman"
    rootfs = work / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    subprocess.run(["cp", "/bin/busybox", str(rootfs / "bin" / "busybox")], check=True)
    lib.sh("chroot", str(rootfs), "/bin/busybox", "--install", "-s")
    (work / "storage.conf").write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{work}/graph"\n'
                                       f'runroot = "{work}/run"\n')
    (work / "containers.conf").write_text('[containers]\ndefault_ulimits = ["nofile=20000:20000",'
                                          ' "nproc=32768:32768"]\n')
    saved = {key: os.environ.get(key) for key in ("CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF")}
    os.environ["CONTAINERS_STORAGE_CONF"] = str(work / "storage.conf")
    os.environ["CONTAINERS_CONF"] = str(work / "containers.conf")
    made = []

    def run(name):
        ns = namespaces.new("pc")
        lib.sh("podman", "run", "-d", "--name", name, "--network", f"ns:/run/netns/{ns}", "--rootfs", str(rootfs),
               "sleep", "100000")
        made.append(name)
        return ns

    try:
        yield run
    finally:
        for name in made:
            lib.sh("podman", "rm", "-f", "-t", "0", name, check=False)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_a_podman_container_resolv_conf_is_rewritten_in_place_and_its_name_resolves(lab, podman):
    token = uuid.uuid4().hex[:6]
    web, db = f"ulnames-web-{token}".lower(), f"ulnames-db-{token}".lower()
    podman(web)
    podman(db)
    path = lib.sh("podman", "inspect", "--format", "{{.ResolvConfPath}}", db).stdout.strip()
    inode, original = os.stat(path).st_ino, open(path, encoding="utf-8").read()
    r = lib.run_tasks([{MODULE: dict(lab.common, network="front", runtime="podman", endpoints=[
        {"container": db, "aliases": ["mariadb"]}, {"container": web}])}])[0]
    assert r["changed"] is True and not r.get("failed"), r.get("msg")
    db_address = r["endpoints"][0]["ipv4_address"].split("/")[0]
    assert f"point {path} at the names resolver (127.0.0.11)" in r["actions"]
    assert os.stat(path).st_ino == inode  # in place: the container's bind mount sees it
    inside = lib.sh("podman", "exec", db, "cat", "/etc/resolv.conf").stdout
    assert [line for line in inside.splitlines() if line.startswith(("nameserver", "options"))] == \
        ["nameserver 127.0.0.11", "options ndots:0"]
    for name in ("mariadb", db):
        answer = lib.sh("podman", "exec", web, "busybox", "nslookup", name).stdout
        assert f"Address: {db_address}" in answer, answer
    assert lib.run_tasks([{MODULE: dict(lab.common, network="front", runtime="podman", endpoints=[
        {"container": db, "aliases": ["mariadb"]}, {"container": web}])}])[0]["changed"] is False
    # detached: the file is put back as it was, in place
    gone = lib.run_tasks([{MODULE: dict(lab.common, network="front", runtime="podman", container=db,
                                        state="absent")}])[0]
    assert gone["changed"] is True and not gone.get("failed"), gone.get("msg")
    assert open(path, encoding="utf-8").read() == original and os.stat(path).st_ino == inode
