# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml run the way AWX runs a job template: ansible-runner with a private
data directory (project, inventory, env/extravars, env/settings), against namespace hosts
reached over SSH. Also the execution environment definition, through ansible-builder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

import underlay_testlib as lib

ansible_runner = pytest.importorskip("ansible_runner", reason="ansible-runner is installed by scripts/setup")

HOST_VARS = {
    "host1": {"underlay_trunks": [{"parent": "ens33", "hwaddr": "02:00:00:00:01:01", "vlans": []}],
              "underlay_networks": [
                  {"name": "lan", "driver": "macvlan", "parent": "ens33", "subnet": "10.77.0.0/16",
                   "gateway": "10.77.0.1", "ip_range": "10.77.1.0/24"},
                  {"name": "isolated", "driver": "bridge", "subnet": "172.29.0.0/24", "internal": True,
                   "icc": False}]},
    "host2": {"underlay_trunks": [{"parent": "ens33", "vlans": []}],
              "underlay_networks": [
                  {"name": "lan", "driver": "macvlan", "parent": "ens33", "subnet": "10.77.0.0/16",
                   "gateway": "10.77.0.1", "ip_range": "10.77.2.0/24"}]},
}


@pytest.fixture
def awx_job(tmp_path):
    """A fabric of two namespace hosts and an AWX-style private data directory for them."""
    if os.geteuid() != 0:
        pytest.fail("this lane needs root (network namespaces); run it through scripts/test")
    with lib.SshFabric(tmp_path / "fabric", ["host1", "host2"], ["c1", "c2", "c3"]) as fabric:
        private = tmp_path / "job"
        (private / "project").mkdir(parents=True)
        (private / "inventory").mkdir()
        (private / "env").mkdir()
        # An AWX project uses the collection's playbook by its FQCN.
        (private / "project" / "site.yml").write_text(
            "---\n- name: The fleet\n  ansible.builtin.import_playbook: underlay.network.site\n")
        inventory = fabric.inventory()
        for host, variables in HOST_VARS.items():
            inventory["all"]["hosts"][host].update(variables)
        inventory["all"]["vars"]["underlay_endpoints"] = [
            {"host": "host1", "container_netns": fabric.ns("c1"), "network": "lan"},
            {"host": "host2", "container_netns": fabric.ns("c2"), "network": "lan", "ipv4_address": "10.77.2.50"},
            {"host": "host1", "container_netns": fabric.ns("c3"), "network": "isolated"},
        ]
        (private / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
        env = lib.ansible_env()
        (private / "env" / "envvars").write_text(yaml.safe_dump({
            key: env[key] for key in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "PATH",
                                      "ANSIBLE_LOCAL_TEMP", "ANSIBLE_REMOTE_TEMP")}))
        (private / "env" / "settings").write_text(yaml.safe_dump({"job_timeout": 900, "idle_timeout": 600}))
        yield {"dir": str(private), "fabric": fabric}


def run_job(job, job_type="run", limit=None, extravars=None):
    """What AWX does for a job template: ansible-runner on the private data directory."""
    cmdline = "--diff" + (" --check" if job_type == "check" else "")
    result = ansible_runner.run(private_data_dir=job["dir"], playbook="site.yml", cmdline=cmdline,
                                limit=limit, extravars=extravars or {}, quiet=True)
    stdout = result.stdout.read()
    return result, stdout


def changed_tasks(stdout, host):
    """The names of the tasks that changed ``host`` in a job's output."""
    tasks, task = [], None
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK ["):line.rindex("]")].split(" : ")[-1]
        elif line.startswith(f"changed: [{host}]") and task not in tasks:
            tasks.append(task)
    return tasks


def test_site_yml_through_ansible_runner_check_limit_run_and_rerun(awx_job):
    before = awx_job["fabric"].world()
    result, stdout = run_job(awx_job, job_type="check")
    assert result.status == "successful", stdout
    assert result.stats["changed"].get("host1") and result.stats["changed"].get("host2"), stdout
    assert awx_job["fabric"].world() == before, "a check-mode job changed the hosts"

    result, stdout = run_job(awx_job, limit="host1")
    assert result.status == "successful", stdout
    assert set(result.stats["changed"]) == {"host1"}, result.stats
    host2 = awx_job["fabric"].ns("host2")
    assert [link["ifname"] for link in json.loads(lib.sh("ip", "-j", "link", ns=host2).stdout)] == ["lo", "ens33"]

    result, stdout = run_job(awx_job)
    assert result.status == "successful", stdout
    assert set(result.stats["changed"]) == {"host1", "host2"}, result.stats
    # host1 was done by the limited job: it changes only by the names of host2's endpoints
    assert changed_tasks(stdout, "host1") == ["Give this host the names of its networks' endpoints on the other hosts"], stdout

    result, stdout = run_job(awx_job)
    assert result.status == "successful", stdout
    assert not result.stats["changed"], f"the second job changed something: {result.stats}"

    c2 = awx_job["fabric"].ns("c2")
    assert "10.77.2.50/16" in lib.sh("ip", "-br", "addr", ns=c2).stdout
    ifcfg = os.path.join(awx_job["fabric"].workdir, "hosts", "host1", "etc", "sysconfig", "network-scripts",
                         "ifcfg-ens33")
    with open(ifcfg, encoding="utf-8") as stream:
        text = stream.read()
    assert "DEVICE=ens33\n" in text and "HWADDR=" in text and "ONBOOT=yes\n" in text, text
    lib.sh("ping", "-c", "1", "-W", "2", "10.77.2.50", ns=awx_job["fabric"].ns("c1"))


def test_a_bad_plan_fails_the_job_before_any_host_changes(awx_job):
    before = awx_job["fabric"].world()
    bad = {"underlay_endpoints": [{"host": "host1", "container_netns": "x", "network": "nowhere"},
                                  {"host": "host1", "container_netns": "y"}]}
    result, stdout = run_job(awx_job, extravars=bad)
    assert result.status == "failed", stdout
    assert "host1: underlay_endpoints[1]: missing required arguments: network" in stdout, stdout
    assert not result.stats["changed"], result.stats
    assert awx_job["fabric"].world() == before


def test_the_execution_environment_definition_builds_a_context(tmp_path):
    """ansible-builder turns execution-environment.yml into a build context (no image
    registry is reachable here, so the image itself is not built)."""
    builder = shutil.which("ansible-builder", path=os.path.dirname(sys.executable))
    assert builder, "ansible-builder is installed by scripts/setup"
    build = tmp_path / "build"
    subprocess.run(["bash", os.path.join(lib.REPO, "scripts", "build-collection"), str(build)], check=True,
                   capture_output=True)
    context = tmp_path / "context"
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(os.path.join(lib.REPO, "execution-environment.yml"), work)
    (work / "build").symlink_to(build)
    subprocess.run([builder, "create", "-f", "execution-environment.yml", "--context", str(context)],
                   cwd=work, check=True, capture_output=True)
    requirements = (context / "_build" / "requirements.txt").read_text().split()
    assert [line.split(">=")[0] for line in requirements] == ["pyroute2", "netaddr", "dnspython", "jmespath"]
    assert (context / "_build" / "collections" / "underlay-network.tar.gz").stat().st_size > 10000
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    # the tarball the image installs is a working collection
    installed = tmp_path / "installed"
    env = dict(lib.ansible_env(), ANSIBLE_COLLECTIONS_PATH=str(installed))
    subprocess.run(["ansible-galaxy", "collection", "install", "-p", str(installed),
                    str(build / "underlay-network.tar.gz")], check=True, capture_output=True, env=env)
    listed = subprocess.run(["ansible-doc", "-l", "underlay.network"], check=True, capture_output=True, text=True,
                            env=env).stdout
    for module in ("vlan_subinterface", "macvlan_network", "bridge_network", "container_endpoint",
                   "network_info", "persistent_interface", "fleet_plan"):
        assert f"underlay.network.{module}" in listed, listed
