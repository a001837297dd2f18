# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker docs' WordPress/MariaDB example (issue 17) as users run it: the inventory the
README shows (``inventories/wordpress/hosts.yml``, checked here to be the README's text and the
roles' READMEs' excerpts) applied with ``ansible-playbook playbooks/site.yml`` to real Docker
containers started with ``--network none``, and to Podman containers each started in an empty
namespace of its own (Podman gives a ``--network none`` container no resolv.conf).

The "host" is a test-made namespace (``underlay_netns``, its own ``underlay_state_dir``, the
command installed under the test's directory) wired to an ``outside`` namespace by a veth
(host 192.0.2.1, outside 192.0.2.2, routed through the host). The runtimes run privately:
dockerd on its own socket and data root (``--iptables=false --bridge=none``), Podman with its
own storage; the image is busybox-static, imported locally. ``mariadb`` listens on 3306
(busybox nc), ``wordpress`` serves a page on 80 (busybox httpd). The test adds one network of
its own to the example's: ``elsewhere`` with two containers, which must not resolve ``mariadb``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import pytest
import yaml

import underlay_testlib as lib

from ansible_collections.underlay.network.plugins.module_utils import _dns_service

EXAMPLE = os.path.join(lib.REPO, "inventories", "wordpress", "hosts.yml")
HOST_IP, OUTSIDE_IP = "192.0.2.1", "192.0.2.2"
PAGE = "WordPress on underlay.network"
# What the test adds to the example: a third network whose containers must not see its names.
EXTRA_NETWORKS = [{"name": "elsewhere", "driver": "bridge", "subnet": "172.30.3.0/24"}]
EXTRA_ENDPOINTS = [{"container": "other", "network": "elsewhere"},
                   {"container": "other-peer", "network": "elsewhere"}]
COMMANDS = {
    "mariadb": ["nc", "-ll", "-p", "3306", "-e", "echo", "mariadb speaking"],
    "wordpress": ["httpd", "-f", "-p", "80", "-h", "/www"],
    "other": ["sleep", "100000"],
    "other-peer": ["sleep", "100000"],
}


def example():
    with open(EXAMPLE, encoding="utf-8") as handle:
        text = handle.read()
    return text, yaml.safe_load(text)


def test_the_readme_shows_the_example_inventory_verbatim():
    """The README's block is the file the test below runs: the docs cannot drift from it."""
    text, data = example()
    with open(os.path.join(lib.REPO, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    blocks = re.findall(r"```yaml\n(# inventories/wordpress/hosts\.yml\n.*?)```", readme, re.DOTALL)
    assert blocks, "README.md shows no block starting '# inventories/wordpress/hosts.yml'"
    assert blocks[0] == "# inventories/wordpress/hosts.yml\n" + text.removeprefix("---\n")
    assert "ansible-playbook -i inventories/wordpress playbooks/site.yml" in readme
    assert set(data["all"]["hosts"]) == {"web1"}
    # the roles' READMEs show their parts of it
    for role, marker, wanted in (
            ("endpoints", "all.vars", {"underlay_endpoints": data["all"]["vars"]["underlay_endpoints"]}),
            ("networks", "host web1", {"underlay_networks": data["all"]["hosts"]["web1"]["underlay_networks"]})):
        with open(os.path.join(lib.REPO, "roles", role, "README.md"), encoding="utf-8") as handle:
            doc = handle.read()
        shown = re.findall(rf"```yaml\n# inventories/wordpress/hosts\.yml, {marker}\n(.*?)```", doc, re.DOTALL)
        assert shown and yaml.safe_load(shown[0]) == wanted, (role, shown)
        assert "ansible-playbook -i inventories/wordpress playbooks/site.yml" in doc or role == "networks"


def _rootfs(work):
    """busybox-static with its applets and the page under /www: the containers' root."""
    rootfs = os.path.join(work, "rootfs")
    for sub in ("bin", "sbin", "usr/bin", "usr/sbin", "www"):
        os.makedirs(os.path.join(rootfs, sub))
    shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    lib.sh("chroot", rootfs, "/bin/busybox", "--install", "-s")
    with open(os.path.join(rootfs, "www", "index.html"), "w", encoding="utf-8") as handle:
        handle.write(PAGE + "\n")
    return rootfs


@contextlib.contextmanager
def _environ(**values):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _podman_storage(work):
    """Podman's own storage for the test (the other runtime asks it too: ``runtime`` is auto)."""
    with open(os.path.join(work, "storage.conf"), "w", encoding="utf-8") as handle:
        handle.write(f'[storage]\ndriver = "vfs"\ngraphroot = "{work}/graph"\nrunroot = "{work}/run"\n')
    with open(os.path.join(work, "containers.conf"), "w", encoding="utf-8") as handle:
        handle.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n')
    return {"CONTAINERS_STORAGE_CONF": os.path.join(work, "storage.conf"),
            "CONTAINERS_CONF": os.path.join(work, "containers.conf")}


@contextlib.contextmanager
def _docker(work, rootfs, _namespaces):
    """A private dockerd (its own socket and data root, no firewall rule, no docker0) with the
    image imported; containers start with ``--network none``. Podman, asked too, has an
    empty storage of its own."""
    sock = os.path.join(work, "docker.sock")
    log = open(os.path.join(work, "dockerd.log"), "w", encoding="utf-8")  # pylint: disable=consider-using-with
    dockerd = subprocess.Popen(  # pylint: disable=consider-using-with
        ["dockerd", "--host", f"unix://{sock}", "--data-root", os.path.join(work, "docker"),
         "--exec-root", os.path.join(work, "docker-exec"), "--pidfile", os.path.join(work, "docker.pid"),
         "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none"],
        stdout=subprocess.DEVNULL, stderr=log)
    try:
        with _environ(DOCKER_HOST=f"unix://{sock}", **_podman_storage(work)):
            deadline = time.monotonic() + 60
            while lib.sh("docker", "version", check=False).returncode != 0:
                assert dockerd.poll() is None, open(log.name, encoding="utf-8").read()[-2000:]
                assert time.monotonic() < deadline, "dockerd did not answer within 60 s"
                time.sleep(0.2)
            tar = subprocess.run(["tar", "-C", rootfs, "-c", "."], capture_output=True, check=True).stdout
            subprocess.run(["docker", "import", "-", "underlay-busybox:wp"], input=tar, capture_output=True,
                           check=True)
            yield lambda none=False: ["--network", "none", "underlay-busybox:wp"]
    finally:
        dockerd.terminate()
        try:
            dockerd.wait(timeout=30)
        except subprocess.TimeoutExpired:
            dockerd.kill()
            dockerd.wait()
        log.close()
        lib.sh("umount", "-R", os.path.join(work, "docker"), check=False)


@contextlib.contextmanager
def _podman(work, rootfs, namespaces):
    """Podman with its own storage; each container in an empty namespace of its own
    (``--network ns:PATH``): Podman gives a ``--network none`` container no resolv.conf.
    Docker, asked first (``runtime`` is auto), is pointed at a socket nothing listens on."""
    with _environ(DOCKER_HOST=f"unix://{work}/no-dockerd.sock", **_podman_storage(work)):
        yield lambda none=False: ["--network", "none" if none else f"ns:/run/netns/{namespaces.new('pc')}",
                                  "--rootfs", rootfs]


@pytest.fixture(params=["docker", "podman"])
def runtime(request, namespaces):
    """Docker or Podman, private to the test, and ``run(name, command)``; every container it
    ran is removed (and dockerd stopped), pass or fail. ``run(..., none=True)``: a Podman
    container with ``--network none`` (no resolv.conf)."""
    tool = request.param
    for path, package in (({"docker": "/usr/sbin/dockerd", "podman": "/usr/bin/podman"}[tool],
                           {"docker": "docker.io", "podman": "podman"}[tool]), ("/bin/busybox", "busybox-static")):
        if not os.path.exists(path):
            pytest.fail(f"{path} missing: scripts/setup installs {package}")
    # dockerd's socket path must be short (unix socket paths are limited to 108 bytes)
    work = tempfile.mkdtemp(prefix="underlay-wp-")
    try:
        rootfs = _rootfs(work)
        with (_docker if tool == "docker" else _podman)(work, rootfs, namespaces) as options:
            made = []

            def run(name, command, none=False):
                made.append(name)
                lib.sh(tool, "run", "-d", "--name", name, *options(none), *command)
            try:
                yield SimpleNamespace(tool=tool, run=run)
            finally:
                for name in made:
                    lib.sh(tool, "rm", "-f", "-t", "0", name, check=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def site(namespaces, runtime, tmp_path):
    """The host and outside namespaces, the containers, and the inventory: the example's, its
    host ``web1`` run locally in the host namespace, plus the test's third network."""
    host, outside = namespaces.new("h"), namespaces.new("o")
    namespaces.veth(host, "uplink", outside, "eth0")
    lib.sh("ip", "addr", "add", f"{HOST_IP}/24", "dev", "uplink", ns=host)
    lib.sh("ip", "addr", "add", f"{OUTSIDE_IP}/24", "dev", "eth0", ns=outside)
    lib.sh("ip", "route", "add", "default", "via", HOST_IP, ns=outside)  # every subnet through the host
    for name, command in COMMANDS.items():
        runtime.run(name, command)

    data = example()[1]
    web1 = dict(data["all"]["hosts"]["web1"])
    endpoints = data["all"]["vars"]["underlay_endpoints"]
    files = tmp_path / "web1"  # what the networks role installs (the command; units if systemd ran)
    files.mkdir()  # as /usr/local/sbin is there on a host
    state_dir = str(tmp_path / "state")
    web1.update({
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "underlay_netns": host, "underlay_state_dir": state_dir,
        "underlay_command_path": str(files / "underlay-network"), "underlay_systemd_dir": str(files / "systemd"),
        "underlay_networks": web1["underlay_networks"] + EXTRA_NETWORKS,
    })
    if os.path.isdir("/run/systemd/system"):  # units would be this machine's own: none
        web1.update(underlay_restore=False, underlay_watch=False, underlay_dns_service=False)
    inventory = {"all": {"hosts": {"web1": web1}, "vars": dict(
        data["all"]["vars"], underlay_endpoints=endpoints + [dict(item, host="web1") for item in EXTRA_ENDPOINTS])}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    try:
        yield SimpleNamespace(tool=runtime.tool, host=host, outside=outside, state_dir=state_dir,
                              inventory=str(path), files=str(files))
    finally:
        lib.stop_resolver(state_dir)


def play(site, *extra):
    proc = subprocess.run(["ansible-playbook", "-i", site.inventory, "underlay.network.site", *extra],
                          capture_output=True, text=True, env=lib.ansible_env(), check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    recap = [line for line in proc.stdout.splitlines() if line.startswith("web1 ")]
    assert len(recap) == 1, proc.stdout
    return proc, recap[0]


def resolv_conf_path(site, name):
    return lib.sh(site.tool, "inspect", "--format", "{{.ResolvConfPath}}", name).stdout.strip()


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def observed(site):
    """What check mode must leave byte-identical: the host namespace's nftables ruleset and
    kernel, every container's resolv.conf, the state directory (the resolver's lock with its
    pid and ``dns/served``, the fingerprints it serves, among it; not its log), the networks'
    fingerprints the running resolver reports, and what the networks role installed."""
    state = lib.tree_snapshot(site.state_dir) or {}
    state.pop(os.path.join("dns", "resolver.log"), None)
    return {"nft": lib.nft_ruleset(site.host), "kernel": lib.kernel_snapshot(site.host), "state": state,
            "resolver": (_dns_service.running(site.state_dir), _dns_service.served_fingerprints(site.state_dir)),
            "resolv.conf": {name: read(resolv_conf_path(site, name)) for name in COMMANDS},
            "installed": lib.tree_snapshot(site.files)}


def in_container(site, name, *argv):
    return lib.sh(site.tool, "exec", name, *argv, check=False)


def addresses(site):
    """{(network, container): address} from network_info (what ``docker network inspect`` shows)."""
    info = lib.run_module("network_info", {"netns": site.host, "state_dir": site.state_dir})
    assert not info.get("failed"), info.get("msg")
    return {(net["Name"], entry["Name"]): entry["IPv4Address"].split("/")[0]
            for net in info["networks"] for entry in net["Containers"].values()}, info


def test_the_wordpress_example_with_real_containers(site):
    before = observed(site)
    checked, recap = play(site, "--check", "--diff")
    assert "changed=0" not in recap, checked.stdout
    assert observed(site) == before, "check mode before the first run changed something"

    first, recap = play(site, "--diff")
    assert "changed=0" not in recap and "failed=0" in recap, first.stdout
    found, info = addresses(site)
    assert all(net["drift"] == [] for net in info["networks"]), [net["drift"] for net in info["networks"]]
    wordpress_front = {net["Name"]: net for net in info["networks"]}["frontend"]["Containers"]
    assert [entry["Ports"] for entry in wordpress_front.values() if entry["Name"] == "wordpress"] == [
        {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}], wordpress_front
    mariadb = found[("backend", "mariadb")]
    assert mariadb.startswith("172.30.1.") and found[("backend", "wordpress")].startswith("172.30.1.")

    # mariadb: eth0 on backend, no default route (internal); wordpress: eth0 on backend and
    # eth1 on frontend, its default route through frontend's gateway (what the README says)
    assert f"inet {mariadb}/24" in in_container(site, "mariadb", "ip", "-4", "-o", "addr", "show", "eth0").stdout
    assert "default" not in in_container(site, "mariadb", "ip", "route").stdout
    wp_addresses = in_container(site, "wordpress", "ip", "-4", "-o", "addr").stdout
    assert f"eth0    inet {found[('backend', 'wordpress')]}/24" in wp_addresses, wp_addresses
    assert f"eth1    inet {found[('frontend', 'wordpress')]}/24" in wp_addresses, wp_addresses
    assert "default via 172.30.2.1 dev eth1" in in_container(site, "wordpress", "ip", "route").stdout

    # every container's resolv.conf (Docker's ResolvConfPath) points at the collection's resolver
    for name in COMMANDS:
        text = in_container(site, name, "cat", "/etc/resolv.conf").stdout
        assert [line for line in text.splitlines() if line.startswith(("nameserver", "options"))] == [
            "nameserver 127.0.0.11", "options ndots:0"], (name, text)
        assert text == read(resolv_conf_path(site, name))

    # from outside, the page through the host's address (the published port)
    page = lib.sh("wget", "-q", "-T", "5", "-t", "1", "-O", "-", f"http://{HOST_IP}:8080/", ns=site.outside,
                  check=False)
    assert page.returncode == 0 and page.stdout.strip() == PAGE, page.stdout + page.stderr
    # wordpress reaches mariadb:3306 by name, the name answered by the collection's resolver
    looked_up = in_container(site, "wordpress", "nslookup", "mariadb")
    assert looked_up.returncode == 0 and "127.0.0.11" in looked_up.stdout, looked_up.stdout + looked_up.stderr
    assert f"Address: {mariadb}" in looked_up.stdout, looked_up.stdout
    talked = in_container(site, "wordpress", "nc", "-w", "5", "mariadb", "3306")
    assert talked.stdout.strip() == "mariadb speaking", talked.stdout + talked.stderr
    # outside cannot reach mariadb (its network is internal), though it routes there through the host
    refused = lib.sh("busybox", "nc", "-w", "3", mariadb, "3306", ns=site.outside, check=False)
    assert "mariadb speaking" not in refused.stdout and refused.returncode != 0, refused.stdout
    # a container on another network cannot resolve mariadb (nor wordpress); it resolves its own peer
    for name in ("mariadb", "wordpress"):
        missing = in_container(site, "other", "nslookup", name)
        assert missing.returncode != 0 and "Address: 172.30." not in missing.stdout, (name, missing.stdout)
    peer = in_container(site, "other", "nslookup", "other-peer")
    assert peer.returncode == 0 and f"Address: {found[('elsewhere', 'other-peer')]}" in peer.stdout, peer.stdout

    # re-run unchanged, and check mode after it changes nothing either
    recap = play(site)[1]
    assert "changed=0" in recap and "failed=0" in recap, recap
    before = observed(site)
    recap = play(site, "--check", "--diff")[1]
    assert "changed=0" in recap, recap
    assert observed(site) == before, "check mode after the run changed something"


def test_the_networks_role_passes_dns(namespaces, tmp_path):
    """``dns: false`` in ``underlay_networks`` reaches the modules (the role's argument spec took
    it, and its tasks once left it out: every network served names whatever it said)."""
    host = namespaces.host_with_parent()
    state_dir = str(tmp_path / "state")
    (tmp_path / "sbin").mkdir()
    role_vars = {
        "underlay_netns": host, "underlay_state_dir": state_dir,
        "underlay_command_path": str(tmp_path / "sbin" / "underlay-network"),
        "underlay_systemd_dir": str(tmp_path / "systemd"),
        # units would be this machine's own where systemd runs: none then
        **({"underlay_restore": False, "underlay_watch": False, "underlay_dns_service": False}
           if os.path.isdir("/run/systemd/system") else {}),
        "underlay_networks": [
            {"name": "quiet", "driver": "bridge", "subnet": "172.30.4.0/24", "dns": False},
            {"name": "named", "driver": "bridge", "subnet": "172.30.5.0/24"},
            {"name": "quietmv", "driver": "macvlan", "parent": "veth0", "subnet": "172.30.6.0/24", "dns": False},
        ],
    }
    done = lib.run_tasks([{"ansible.builtin.include_role": {"name": "underlay.network.networks"}, "vars": role_vars}])
    assert not done[0].get("failed"), done[0]["_stdout"][-4000:]
    info = lib.run_module("network_info", {"netns": host, "state_dir": state_dir})
    assert {net["Name"]: net["EnableDNS"] for net in info["networks"]} == {
        "quiet": False, "named": True, "quietmv": False}, info


@pytest.mark.parametrize("runtime", ["podman"], indirect=True)
def test_a_container_without_a_resolv_conf_is_named_in_a_warning(runtime, namespaces, tmp_path):
    """Podman gives a ``--network none`` container no resolv.conf (no ResolvConfPath): it is
    attached, the resolver answers in its namespace, and the run says its file could not be
    pointed there (it used to say nothing)."""
    runtime.run("lonely", ["sleep", "100000"], none=True)
    runtime.run("friend", ["sleep", "100000"])
    assert lib.sh("podman", "inspect", "--format", "{{.ResolvConfPath}}", "lonely").stdout.strip() == ""
    host = namespaces.new("h")
    common = {"netns": host, "state_dir": str(tmp_path / "state")}
    try:
        done = [lib.run_module("bridge_network", dict(common, name="front", subnet="172.30.7.0/24")),
                lib.run_module("container_endpoint", dict(common, network="front", endpoints=[
                    {"container": "lonely"}, {"container": "friend"}]))]
        assert not any(r.get("failed") for r in done), [r.get("msg") for r in done]
        # a module's raw result (ansible-core 2.19) carries each warning as {"event": {"msg": ...}}
        warnings = " ".join(w["event"]["msg"] if isinstance(w, dict) else w for w in done[1].get("warnings", []))
        assert "container lonely (podman) has no resolv.conf of its runtime" in warnings, done[1]
        assert "container friend" not in warnings, warnings
        friend = done[1]["endpoints"][1]["ipv4_address"].split("/")[0]
        asked = lib.sh("podman", "exec", "lonely", "nslookup", "friend", "127.0.0.11", check=False)
        assert f"Address: {friend}" in asked.stdout, asked.stdout + asked.stderr
    finally:
        lib.stop_resolver(common["state_dir"])
