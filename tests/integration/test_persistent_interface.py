# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""persistent_interface end to end through ansible-playbook, on a temporary directory
(the module touches files only: no namespaces, no root needed)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import underlay_testlib as lib

TRUNK_TEXT = "DEVICE=ens33\nHWADDR=00:0C:29:3E:5B:7A\nTYPE=Ethernet\nBOOTPROTO=none\nONBOOT=yes\n"
VLAN_TEXT = ("DEVICE=ens33.21\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=172.21.1.254\nPREFIX=24\nNETWORK=172.21.1.0\n"
             "VLAN=yes\nPHYSDEV=ens33\n")


def trunk(directory, **extra):
    return {"name": "Trunk", "underlay.network.persistent_interface":
            dict({"name": "ens33", "hwaddr": "00:0c:29:3e:5b:7a", "dir": str(directory)}, **extra)}


def vlan(directory, **extra):
    return {"name": "VLAN 21", "underlay.network.persistent_interface":
            dict({"name": "ens33.21", "type": "vlan", "parent": "ens33", "vlan_id": 21,
                  "address": "172.21.1.254/24", "dir": str(directory)}, **extra)}


def ok(result):
    assert not result.get("failed"), result.get("msg") or result["_stdout"]
    return result


def sourced(path):
    proc = subprocess.run(["env", "-i", shutil.which("bash"), "--noprofile", "--norc", "-c",
                           'set -a; . "$1" || exit 9; env -0', "_", str(path)], capture_output=True, check=True)
    found = dict(item.decode().split("=", 1) for item in proc.stdout.split(b"\0") if item)
    return {k: v for k, v in found.items() if k not in ("PWD", "SHLVL", "_")}


def test_create_idempotent_diff_and_mode(tmp_path):
    scripts = tmp_path / "network-scripts"
    first = lib.run_tasks([trunk(scripts), vlan(scripts)], diff=True)
    for result, name, text in zip(first, ("ens33", "ens33.21"), (TRUNK_TEXT, VLAN_TEXT)):
        ok(result)
        path = scripts / f"ifcfg-{name}"
        assert result["changed"] is True and result["actions"] == [f"create {path}"]
        assert result["path"] == str(path) and result["content"] == text
        assert result["diff"]["before"] == "" and result["diff"]["after"] == text
        assert result["diff"]["after_header"] == str(path)
        assert path.read_text() == text
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(scripts).st_mode) == 0o755
    assert sorted(os.listdir(scripts)) == ["ifcfg-ens33", "ifcfg-ens33.21"]
    # --diff prints the text as a unified diff with the path as header
    assert f"+++ after: {scripts}/ifcfg-ens33.21" in first[0]["_stdout"]
    assert "+IPADDR=172.21.1.254" in first[0]["_stdout"]
    assert sourced(scripts / "ifcfg-ens33.21") == first[1]["variables"]

    before = lib.tree_snapshot(str(scripts))
    second = lib.run_tasks([trunk(scripts), vlan(scripts)])
    assert [ok(r)["changed"] for r in second] == [False, False]
    assert [r["actions"] for r in second] == [[], []]
    assert lib.tree_snapshot(str(scripts)) == before

    # an in-place change shows the old and new text
    changed = ok(lib.run_tasks([vlan(scripts, address="172.21.1.253/24", mtu=1496)], diff=True)[0])
    assert changed["changed"] is True
    assert changed["actions"] == [f"update {scripts}/ifcfg-ens33.21: set IPADDR, MTU"]
    assert changed["diff"]["before"] == VLAN_TEXT and "MTU=1496\n" in changed["diff"]["after"]
    assert "-IPADDR=172.21.1.254" in changed["_stdout"] and "+IPADDR=172.21.1.253" in changed["_stdout"]


def test_check_mode_changes_nothing(tmp_path):
    scripts = tmp_path / "network-scripts"
    fresh = lib.run_tasks([trunk(scripts), vlan(scripts)], check_mode=True, diff=True)
    assert [ok(r)["changed"] for r in fresh] == [True, True]
    assert fresh[1]["content"] == VLAN_TEXT and fresh[1]["diff"]["after"] == VLAN_TEXT
    assert os.listdir(tmp_path) == []  # not even the directory

    ok(lib.run_tasks([vlan(scripts)])[0])
    os.chmod(scripts / "ifcfg-ens33.21", 0o600)
    before = lib.tree_snapshot(str(tmp_path))
    results = lib.run_tasks([trunk(scripts), vlan(scripts, mtu=9000),
                             vlan(scripts, state="absent")], check_mode=True, diff=True)
    assert [ok(r)["changed"] for r in results] == [True, True, True]
    assert "MTU=9000\n" in results[1]["content"]
    assert results[2]["actions"] == [f"remove {scripts}/ifcfg-ens33.21"]
    assert lib.tree_snapshot(str(tmp_path)) == before


def test_mode_and_cosmetic_differences_are_corrected(tmp_path):
    path = tmp_path / "ifcfg-ens33.21"
    path.write_text("# hand-written\n" + VLAN_TEXT.replace("ONBOOT=yes", 'ONBOOT="yes"'))
    os.chmod(path, 0o600)
    result = ok(lib.run_tasks([vlan(tmp_path)])[0])
    assert result["actions"] == [f"rewrite {path} in canonical form (same variables, other formatting)"]
    assert path.read_text() == VLAN_TEXT and stat.S_IMODE(os.stat(path).st_mode) == 0o644
    os.chmod(path, 0o640)
    result = ok(lib.run_tasks([vlan(tmp_path)])[0])
    assert result["actions"] == [f"set the mode of {path} from 0640 to 0644"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_symlink_at_target_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.chmod(victim, 0o600)
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    link = scripts / "ifcfg-ens33.21"
    link.symlink_to(victim)
    checked = ok(lib.run_tasks([vlan(scripts)], check_mode=True)[0])
    assert checked["actions"] == [f"replace the symbolic link {link} (to {victim}) with a regular file"]
    assert link.is_symlink()
    result = ok(lib.run_tasks([vlan(scripts)], diff=True)[0])
    assert result["changed"] is True and result["diff"]["before"] == ""
    assert result["diff"]["before_header"] == f"{link} (symbolic link to {victim})"
    assert not link.is_symlink() and link.read_text() == VLAN_TEXT
    assert victim.read_text() == "precious\n" and stat.S_IMODE(os.stat(victim).st_mode) == 0o600
    # absent removes a link itself, never its target
    link.unlink()
    link.symlink_to(victim)
    gone = ok(lib.run_tasks([vlan(scripts, state="absent")])[0])
    assert gone["actions"] == [f"remove the symbolic link {link} (not its target {victim})"]
    assert not os.path.lexists(link) and victim.read_text() == "precious\n"


def test_extra_keys_and_bridge(tmp_path):
    task = {"name": "Bridge", "underlay.network.persistent_interface": {
        "name": "br0", "type": "bridge", "dir": str(tmp_path), "mtu": 9000, "onboot": False,
        "extra": {"NAME": "it's \"the\" $bridge `x` \\ !", "STP": False, "DELAY": 0}}}
    first, second = lib.run_tasks([task, task])
    assert ok(first)["changed"] is True and ok(second)["changed"] is False
    expected = {"DEVICE": "br0", "TYPE": "Bridge", "BOOTPROTO": "none", "ONBOOT": "no", "MTU": "9000",
                "DELAY": "0", "NAME": "it's \"the\" $bridge `x` \\ !", "STP": "no"}
    assert first["variables"] == expected
    assert sourced(tmp_path / "ifcfg-br0") == expected
    assert list(first["variables"]) == list(expected)


def test_preserve_unmanaged(tmp_path):
    path = tmp_path / "ifcfg-ens33.21"
    path.write_text('# from the installer\nDEVICE=ens33.21\nNAME="VLAN 21"\nZONE=internal\nIPADDR=10.9.9.9\n'
                    'UUID=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n')
    kept = ok(lib.run_tasks([vlan(tmp_path)])[0])  # preserve_unmanaged is true by default
    assert kept["changed"] is True
    assert path.read_text() == VLAN_TEXT + 'NAME="VLAN 21"\nZONE=internal\nUUID=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n'
    again = ok(lib.run_tasks([vlan(tmp_path, preserve_unmanaged=True)])[0])
    assert again["changed"] is False
    # without preserve_unmanaged the file holds exactly what the options describe
    exact = ok(lib.run_tasks([vlan(tmp_path, preserve_unmanaged=False)])[0])
    assert exact["actions"] == [f"update {path}: remove NAME, ZONE, UUID"]
    assert path.read_text() == VLAN_TEXT


def test_preserve_refuses_a_file_it_cannot_read(tmp_path):
    path = tmp_path / "ifcfg-ens33.21"
    path.write_text("DEVICE=ens33.21\nIPADDR=$(get-address)\n")
    before = lib.tree_snapshot(str(tmp_path))
    result = lib.run_tasks([vlan(tmp_path, preserve_unmanaged=True)])[0]
    assert result["failed"] is True and result["field"] == "preserve_unmanaged"
    assert f"{path} line 2: an unquoted '$'" in result["msg"]
    assert lib.tree_snapshot(str(tmp_path)) == before


def test_absent(tmp_path):
    ok(lib.run_tasks([trunk(tmp_path), vlan(tmp_path)])[0])
    removed, again = lib.run_tasks([vlan(tmp_path, state="absent"), vlan(tmp_path, state="absent")], diff=True)
    assert ok(removed)["changed"] is True and removed["diff"]["before"] == VLAN_TEXT
    assert removed["diff"]["after"] == "" and removed["content"] == "" and removed["variables"] == {}
    assert ok(again)["changed"] is False
    assert os.listdir(tmp_path) == ["ifcfg-ens33"]


def test_bad_input_changes_nothing(tmp_path):
    ok(lib.run_tasks([vlan(tmp_path)])[0])
    before = lib.tree_snapshot(str(tmp_path))
    results = lib.run_tasks([
        vlan(tmp_path, vlan_id=4095),
        vlan(tmp_path, name="ens33.22"),
        vlan(tmp_path, address="172.21.1.0/24"),
        vlan(tmp_path, extra={"PATH": "/tmp"}),
        vlan(tmp_path, extra={"NAME": "two\nlines"}),
        vlan(tmp_path, extra={"lower": "x"}),
        trunk(tmp_path, hwaddr="01:00:5e:00:00:01"),
        trunk(tmp_path, name="x" * 16),
        trunk(tmp_path, dir="relative"),
    ])
    fields = ["vlan_id", "name", "address", "extra", "extra.NAME", "extra", "hwaddr", "name", "dir"]
    for result, field in zip(results, fields):
        assert result["failed"] is True and result["field"] == field, result
        assert result["msg"].startswith(f"{field}: ")
    assert lib.tree_snapshot(str(tmp_path)) == before
