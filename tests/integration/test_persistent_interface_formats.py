# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""persistent_interface, formats nmconnection and networkd, end to end through
ansible-playbook on temporary directories; then the files read by the real tools:
``nmcli --offline`` (NetworkManager's own keyfile reader) and the real systemd-networkd,
run in a throwaway network and mount namespace where it creates the bridge it was given."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys

import pytest

import underlay_testlib as lib

NMCLI = os.path.join(lib.REPO, "tests", "lib", "nmcli")
NMCLI_ROOT = os.path.join(lib.REPO, ".cache", "nmcli", "usr", "bin", "nmcli")
TRIAL = os.path.join(lib.REPO, "tests", "lib", "networkd_trial.py")


def task(directory, fmt, title="Persist", **options):
    return {"name": title, "underlay.network.persistent_interface": dict(options, format=fmt, dir=str(directory))}


def trunk(directory, fmt, **extra):
    return task(directory, fmt, "Trunk", **dict({"name": "ens33", "hwaddr": "00:0c:29:3e:5b:7a"}, **extra))


def vlan(directory, fmt, **extra):
    return task(directory, fmt, "VLAN 21", **dict({"name": "ens33.21", "type": "vlan", "parent": "ens33", "vlan_id": 21,
                                                   "protocol": "802.1ad", "address": "172.21.1.254/24"}, **extra))


def bridge(directory, fmt, **extra):
    return task(directory, fmt, "Bridge", **dict({"name": "br0", "type": "bridge", "mtu": 9000,
                                                  "address": "10.99.0.1/24"}, **extra))


def ok(result):
    assert not result.get("failed"), result.get("msg") or result["_stdout"]
    return result


def modes(directory):
    return {name: stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode) for name in sorted(os.listdir(directory))}


NM_FILES = {"ens33.nmconnection": 0o600, "ens33.21.nmconnection": 0o600, "br0.nmconnection": 0o600}
ND_FILES = {"10-br0.netdev": 0o644, "10-br0.network": 0o644, "10-ens33.21.netdev": 0o644,
            "10-ens33.21.network": 0o644, "10-ens33.network": 0o644}


@pytest.mark.parametrize("fmt, expected", [("nmconnection", NM_FILES), ("networkd", ND_FILES)])
def test_create_rerun_check_mode_and_diff(tmp_path, fmt, expected):
    conf = tmp_path / fmt
    tasks = [trunk(conf, fmt), vlan(conf, fmt), bridge(conf, fmt)]
    first = [ok(r) for r in lib.run_tasks(tasks, diff=True)]
    assert [r["changed"] for r in first] == [True, True, True]
    assert modes(conf) == dict(sorted(expected.items()))
    for result in first:
        assert set(result["files"]) <= {str(conf / name) for name in expected}
    assert "protocol=802.1ad" in first[1]["content"] or "Protocol=802.1ad" in first[1]["files"][
        str(conf / "10-ens33.21.netdev")]
    # --diff shows the text of the new files
    assert "+address1=172.21.1.254/24" in first[1]["_stdout"] or "+Address=172.21.1.254/24" in first[1]["_stdout"]

    before = lib.tree_snapshot(str(conf))
    second = [ok(r) for r in lib.run_tasks(tasks)]
    assert [r["changed"] for r in second] == [False, False, False] and [r["actions"] for r in second] == [[], [], []]
    for result in second:
        assert result["content"] == (conf / os.path.basename(result["path"])).read_text()
        assert all(text == open(path, encoding="utf-8").read() for path, text in result["files"].items())
    assert lib.tree_snapshot(str(conf)) == before

    checked = [ok(r) for r in lib.run_tasks([vlan(conf, fmt, mtu=1496), bridge(conf, fmt, state="absent"),
                                             trunk(conf, fmt, mtu=9000)], check_mode=True, diff=True)]
    assert [r["changed"] for r in checked] == [True, True, True]
    assert checked[1]["content"] == "" and all(r["actions"] for r in checked)
    assert lib.tree_snapshot(str(conf)) == before  # check mode: byte-identical

    gone = ok(lib.run_tasks([bridge(conf, fmt, state="absent")])[0])
    assert gone["changed"] is True and "br0" not in " ".join(os.listdir(conf))


PARENT = {
    "nmconnection": ("ens33.nmconnection",
                     "[connection]\nid=System ens33\nuuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\ntype=ethernet\n"
                     "interface-name=ens33\n\n[ipv4]\nmethod=manual\naddress1=192.168.1.10/24,192.168.1.1\n"
                     "dns=192.168.1.1;\n",
                     ["address1=192.168.1.10/24,192.168.1.1", "dns=192.168.1.1;", "method=manual", "id=System ens33"]),
    "networkd": ("10-ens33.network",
                 "[Match]\nName=ens33\n\n[Network]\nAddress=192.168.1.10/24\nGateway=192.168.1.1\nDNS=192.168.1.1\n",
                 ["Address=192.168.1.10/24", "Gateway=192.168.1.1", "VLAN=ens33.21"]),
}


@pytest.mark.parametrize("fmt", ["nmconnection", "networkd"])
def test_the_parent_keeps_its_address(tmp_path, fmt):
    name, text, kept = PARENT[fmt]
    (tmp_path / name).write_text(text)
    os.chmod(tmp_path / name, 0o600)
    results = [ok(r) for r in lib.run_tasks([trunk(tmp_path, fmt, hwaddr=None), vlan(tmp_path, fmt)])]
    after = (tmp_path / name).read_text()
    for line in kept:
        assert line in after.splitlines(), after
    again = [ok(r) for r in lib.run_tasks([trunk(tmp_path, fmt, hwaddr=None), vlan(tmp_path, fmt)])]
    assert [r["changed"] for r in again] == [False, False], [r["actions"] for r in again]
    assert results[0]["changed"] is True


def test_bad_input_changes_nothing(tmp_path):
    nm, nd, ifcfg = tmp_path / "nm", tmp_path / "nd", tmp_path / "ifcfg"
    ok(lib.run_tasks([vlan(nm, "nmconnection"), vlan(nd, "networkd")])[0])
    (nm / "eth0.nmconnection").write_text("[connection]\nid=a\nid=b\n")
    (nd / "10-eth0.network").write_text("[Match]\nName eth0\n")
    before = lib.tree_snapshot(str(tmp_path))
    results = lib.run_tasks([
        vlan(ifcfg, "ifcfg"),  # 802.1ad: ifcfg cannot say it
        task(nm, "nmconnection", name="eth0"),  # a file that does not parse
        task(nd, "networkd", name="eth0"),
        vlan(nd, "networkd", name="eth0.21", parent="eth0"),  # the parent's file does not parse
        task(nm, "nmconnection", name="eth0", bootproto="bootp"),
        task(nd, "networkd", name="eth0", extra={"Network.Address": "10.0.0.1/24"}),
    ])
    expected = [("protocol", "802.1ad cannot be written in an ifcfg file"),
                ("preserve_unmanaged", "sets id twice"),
                ("preserve_unmanaged", "line 2"),
                ("parent", "does not parse"),
                ("bootproto", "ifcfg setting"),
                ("extra", "module's own options")]
    for result, (field, fragment) in zip(results, expected):
        assert result["failed"] is True and result["field"] == field, result
        assert result["msg"].startswith(f"{field}: ") and fragment in result["msg"], result["msg"]
    assert lib.tree_snapshot(str(tmp_path)) == before


@pytest.mark.skipif(os.path.exists("/etc/NetworkManager"), reason="NetworkManager is installed on this machine")
def test_a_format_the_host_cannot_use_is_refused():
    """No /etc/NetworkManager here: format nmconnection with the default dir is refused, nothing created."""
    result = lib.run_tasks([{"name": "NM", "underlay.network.persistent_interface": {
        "name": "ulttest0", "format": "nmconnection"}}], check_mode=False)[0]
    assert result["failed"] is True and result["field"] == "format"
    assert result["msg"].startswith("format: this host cannot use nmconnection files: /etc/NetworkManager does not"
                                    " exist (NetworkManager is not installed)")
    assert not os.path.exists("/etc/NetworkManager")


def test_networkmanager_reads_the_keyfiles(tmp_path):
    """nmcli --offline parses each keyfile with NetworkManager's own reader and normalises it;
    a keyfile NetworkManager would reject (a property not allowed) fails there."""
    if not os.path.exists(NMCLI_ROOT):
        pytest.skip("nmcli is not unpacked (run tests/lib/prepare-nmcli): keyfiles NOT checked by NetworkManager")
    parent_name, parent_text = PARENT["nmconnection"][:2]
    (tmp_path / parent_name).write_text(parent_text)
    [ok(r) for r in lib.run_tasks([trunk(tmp_path, "nmconnection", mtu=9000), vlan(tmp_path, "nmconnection"),
                                   bridge(tmp_path, "nmconnection", bootproto="dhcp")])]
    for name in sorted(os.listdir(tmp_path)):
        with open(tmp_path / name, "rb") as handle:
            done = subprocess.run([NMCLI, "--offline", "connection", "modify", "connection.autoconnect", "yes"],
                                  stdin=handle, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{name}: {done.stderr}"
        normal = done.stdout
        source = (tmp_path / name).read_text()
        for line in ("interface-name=", "address1=", "protocol=802.1ad", "mtu=9000", "method="):
            for kept in (entry for entry in source.splitlines() if entry.startswith(line)):
                assert kept in normal.splitlines(), f"{name}: NetworkManager dropped {kept!r}:\n{normal}"
    bad = subprocess.run([NMCLI, "--offline", "connection", "modify", "connection.autoconnect", "yes"],
                         input="[connection]\nid=x\ntype=ethernet\n[ipv4]\nmethod=disabled\naddress1=10.0.0.1/24\n",
                         capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and "not allowed" in bad.stderr  # the check is real


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a network and mount namespace)")
def test_systemd_networkd_reads_the_files(tmp_path):
    """The real systemd-networkd, on the files written here, in a namespace of its own: no warning
    about any of them, and it creates the bridge with the MTU given (this kernel has no 802.1Q, so
    the VLAN's netdev is only parsed)."""
    if not os.path.exists("/lib/systemd/systemd-networkd"):
        pytest.skip("systemd-networkd is not installed: networkd files NOT checked by systemd-networkd")
    conf = tmp_path / "network"
    [ok(r) for r in lib.run_tasks([trunk(conf, "networkd", mtu=9000), vlan(conf, "networkd"),
                                   bridge(conf, "networkd", extra={"Network.ConfigureWithoutCarrier": True})])]
    os.chmod(tmp_path, 0o755)
    done = subprocess.run(["unshare", "--net", "--mount", "--propagation", "private", sys.executable, TRIAL,
                           str(conf), "15", "br0"], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    trial = json.loads(done.stdout)
    # networkd names a file it could not read fully as "/etc/systemd/network/FILE:LINE: message"
    complaints = [line for line in trial["log"].splitlines() if re.search(r"/etc/systemd/network/\S+:\d+: ", line)]
    assert complaints == [], "\n".join(complaints)
    assert "br0: Configuring with /etc/systemd/network/10-br0.network." in trial["log"]
    assert "br0: loaded \"bridge\"" in trial["log"] and "ens33.21: loaded \"vlan\"" in trial["log"]
    links = {link["ifname"]: link for link in trial["links"]}
    assert links["br0"]["linkinfo"]["info_kind"] == "bridge" and links["br0"]["mtu"] == 9000


def role(directory, fmt, trunks, **extra):
    return {"name": "trunk_host", "ansible.builtin.include_role": {"name": "underlay.network.trunk_host"},
            "vars": dict({"underlay_trunks": trunks, "underlay_persist_format": fmt,
                          "underlay_persist_dir": str(directory)}, **extra)}


@pytest.mark.parametrize("fmt", ["nmconnection", "networkd"])
def test_trunk_host_keeps_the_trunks_address(tmp_path, fmt):
    """The role persists the trunk (no VLANs: this kernel has no 802.1Q) in the chosen format;
    the address the trunk's file already holds survives, and a second run changes nothing."""
    name, text, kept = PARENT[fmt]
    (tmp_path / name).write_text(text)
    os.chmod(tmp_path / name, 0o600)
    trunks = [{"parent": "ens33", "mtu": 9000}]
    ok(lib.run_tasks([role(tmp_path, fmt, trunks)])[0])
    after = (tmp_path / name).read_text()
    for line in kept:
        if "VLAN=" not in line:
            assert line in after.splitlines(), after
    assert "mtu=9000" in after.splitlines() or "MTUBytes=9000" in after.splitlines()
    before = lib.tree_snapshot(str(tmp_path))
    ok(lib.run_tasks([role(tmp_path, fmt, trunks)])[0])
    assert lib.tree_snapshot(str(tmp_path)) == before


def test_trunk_host_auto_without_a_running_stack_writes_ifcfg(tmp_path):
    """``auto`` asks systemctl; on a host where neither NetworkManager nor systemd-networkd is
    active (this machine: no systemd as PID 1), the files are ifcfg, in underlay_ifcfg_dir."""
    done = subprocess.run(["systemctl", "is-active", "NetworkManager.service", "systemd-networkd.service"],
                          capture_output=True, text=True, check=False)
    if "active" in done.stdout.split():
        pytest.skip("NetworkManager or systemd-networkd is running here")
    (tmp_path / "ifcfg-ens33").write_text("DEVICE=ens33\nBOOTPROTO=dhcp\nONBOOT=yes\nZONE=internal\n")
    task_ = role("", "auto", [{"parent": "ens33"}], underlay_ifcfg_dir=str(tmp_path))
    ok(lib.run_tasks([task_], check_mode=True)[0])
    assert (tmp_path / "ifcfg-ens33").read_text() == "DEVICE=ens33\nBOOTPROTO=dhcp\nONBOOT=yes\nZONE=internal\n"
    ok(lib.run_tasks([task_])[0])
    assert (tmp_path / "ifcfg-ens33").read_text() == "DEVICE=ens33\nTYPE=Ethernet\nBOOTPROTO=dhcp\nONBOOT=yes\nZONE=internal\n"
    assert os.listdir(tmp_path) == ["ifcfg-ens33"]
