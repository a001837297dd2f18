# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""persistent_interface: the planner against file snapshots, the file system context, and
the module shell (argument spec, check mode, diff, exit) on a temporary directory."""

from __future__ import annotations

import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from underlay_testlib import tree_snapshot

from ansible_collections.underlay.network.plugins.module_utils import _persist
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._files import FileSnapshot, FileSystem
from ansible_collections.underlay.network.plugins.modules import persistent_interface

DIR = "/etc/sysconfig/network-scripts"
PATH = f"{DIR}/ifcfg-ens33.21"
VLAN = {"name": "ens33.21", "type": "vlan", "parent": "ens33", "vlan_id": 21, "address": "172.21.1.254/24"}
VLAN_TEXT = ("DEVICE=ens33.21\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=172.21.1.254\nPREFIX=24\nNETWORK=172.21.1.0\n"
             "VLAN=yes\nPHYSDEV=ens33\n")


def planned(params, current):
    return _persist.plan(_persist.build_spec(params), {current.path: current})


def on_disk(text, mode=0o644):
    return FileSnapshot(path=PATH, kind="file", data=text.encode("utf-8"), mode=mode)


# -- planner -------------------------------------------------------------------------
def test_create():
    plan = planned(VLAN, FileSnapshot(path=PATH))
    assert plan.actions == [f"create {PATH}"]
    assert plan.steps[0].op == "write_file"
    assert plan.steps[0].args == {"path": PATH, "content": VLAN_TEXT, "mode": 0o644}
    assert plan.steps[0].undo.op == "remove_file"  # a failure later in the run takes the new file away
    assert (plan.before, plan.after, plan.before_header, plan.after_header) == ("", VLAN_TEXT, PATH, PATH)


def test_same_bytes_and_mode_is_unchanged():
    plan = planned(VLAN, on_disk(VLAN_TEXT))
    assert not plan.changed and plan.before == plan.after == VLAN_TEXT


def test_mode_is_corrected():
    plan = planned(VLAN, on_disk(VLAN_TEXT, mode=0o600))
    assert plan.actions == [f"set the mode of {PATH} from 0600 to 0644"]


@pytest.mark.parametrize("text", [
    "# written by hand\n" + VLAN_TEXT,
    VLAN_TEXT.replace("DEVICE=ens33.21", 'DEVICE="ens33.21"'),
    "".join(reversed(VLAN_TEXT.splitlines(keepends=True))),
    VLAN_TEXT.rstrip("\n"),
])
def test_same_variables_other_formatting_is_rewritten_canonically(text):
    plan = planned(VLAN, on_disk(text))
    assert plan.actions == [f"rewrite {PATH} in canonical form (same variables, other formatting)"]
    assert plan.steps[0].args["content"] == VLAN_TEXT


def test_changed_values_are_named():
    old = VLAN_TEXT.replace("172.21.1.254", "172.21.1.1") + "HWADDR=00:0C:29:3E:5B:7A\n"
    plan = planned(dict(VLAN, preserve_unmanaged=False), on_disk(old))
    assert plan.actions == [f"update {PATH}: set IPADDR; remove HWADDR"]
    assert plan.before == old and plan.after == VLAN_TEXT


def test_unparseable_file_is_replaced_without_preserve():
    plan = planned(dict(VLAN, preserve_unmanaged=False), on_disk("DEVICE=$(hostname)\n"))
    assert plan.actions == [f"rewrite {PATH} (it held more than plain KEY=value lines)"]


def test_preserve_unmanaged_keeps_other_keys_in_their_order():
    old = ("# by hand\nZONE=internal\nDEVICE=ens33.21\nHWADDR=00:0C:29:3E:5B:7A\nNAME='VLAN 21'\n"
           "IPADDR=10.0.0.1\nTYPE=Vlan\nUSERCTL=no\n")
    plan = planned(dict(VLAN, preserve_unmanaged=True, extra={"USERCTL": "yes"}), on_disk(old))
    # managed keys from the options (HWADDR, which a vlan file does not manage, is kept),
    # then extra, then the rest as they were
    assert plan.after == VLAN_TEXT + "USERCTL=yes\nZONE=internal\nHWADDR=00:0C:29:3E:5B:7A\nNAME=\"VLAN 21\"\nTYPE=Vlan\n"
    assert plan.actions == [f"update {PATH}: set BOOTPROTO, ONBOOT, IPADDR, PREFIX, NETWORK, VLAN, PHYSDEV, USERCTL"]
    again = planned(dict(VLAN, preserve_unmanaged=True, extra={"USERCTL": "yes"}), on_disk(plan.after))
    assert not again.changed


def test_preserve_unmanaged_keeps_what_options_not_given_would_write():
    """A parent NIC's address, DHCP, MTU and card binding survive a run that gives none of them."""
    old = ("DEVICE=eth0\nHWADDR=00:0C:29:3E:5B:7A\nTYPE=Ethernet\nBOOTPROTO=dhcp\nONBOOT=yes\nMTU=9000\n"
           "IPADDR=10.0.0.5\nPREFIX=24\nGATEWAY=10.0.0.1\n")
    current = FileSnapshot(path=f"{DIR}/ifcfg-eth0", kind="file", data=old.encode(), mode=0o644)
    plan = planned({"name": "eth0", "dir": DIR}, current)
    assert plan.after == ("DEVICE=eth0\nTYPE=Ethernet\nBOOTPROTO=dhcp\nONBOOT=yes\nHWADDR=00:0C:29:3E:5B:7A\n"
                          "MTU=9000\nIPADDR=10.0.0.5\nPREFIX=24\nGATEWAY=10.0.0.1\n")
    assert plan.actions == [f"rewrite {DIR}/ifcfg-eth0 in canonical form (same variables, other formatting)"]
    # without preserve_unmanaged the file holds what the options describe
    exact = planned({"name": "eth0", "dir": DIR, "preserve_unmanaged": False}, current)
    assert exact.after == "DEVICE=eth0\nTYPE=Ethernet\nBOOTPROTO=none\nONBOOT=yes\n"
    # a given address replaces the address keys (a stale NETMASK too), and a given bootproto wins
    given = planned({"name": "eth0", "dir": DIR, "address": "10.0.0.6/24", "bootproto": "none"},
                    FileSnapshot(path=f"{DIR}/ifcfg-eth0", kind="file", data=(old + "NETMASK=255.0.0.0\n").encode(),
                                 mode=0o644))
    assert "IPADDR=10.0.0.6\nPREFIX=24\nNETWORK=10.0.0.0\n" in given.after and "NETMASK" not in given.after
    assert "BOOTPROTO=none\n" in given.after and given.after.count("IPADDR") == 1


def test_preserve_unmanaged_refuses_a_file_it_cannot_read():
    with pytest.raises(UnderlayError) as err:
        planned(dict(VLAN, preserve_unmanaged=True), on_disk("ZONE=a\nDEVICE=`hostname`\n"))
    assert err.value.field == "preserve_unmanaged"
    assert f"{PATH} line 2: an unquoted '`'" in str(err.value)


def test_preserve_unmanaged_refuses_a_multi_line_value():
    with pytest.raises(UnderlayError) as err:
        planned(dict(VLAN, preserve_unmanaged=True), on_disk('NAME="two\nlines"\n'))
    assert err.value.field == "preserve_unmanaged" and "NAME" in str(err.value)


def test_symlink_is_replaced_not_followed():
    plan = planned(VLAN, FileSnapshot(path=PATH, kind="symlink", link_target="/etc/passwd"))
    assert plan.actions == [f"replace the symbolic link {PATH} (to /etc/passwd) with a regular file"]
    assert plan.before == "" and plan.before_header == f"{PATH} (symbolic link to /etc/passwd)"


def test_other_file_kinds_are_refused():
    with pytest.raises(UnderlayError, match="not a regular file"):
        planned(VLAN, FileSnapshot(path=PATH, kind="other"))


@pytest.mark.parametrize("current, actions", [
    (FileSnapshot(path=PATH), []),
    (on_disk(VLAN_TEXT), [f"remove {PATH}"]),
    (on_disk("garbage $(x)"), [f"remove {PATH}"]),
    (FileSnapshot(path=PATH, kind="symlink", link_target="x"),
     [f"remove the symbolic link {PATH} (not its target x)"]),
])
def test_absent(current, actions):
    plan = planned({"name": "ens33.21", "state": "absent", "preserve_unmanaged": True}, current)
    assert plan.actions == actions and plan.after == ""


# -- the file system context ---------------------------------------------------------
def test_write_creates_directories_0755_and_file_0644_whatever_the_umask(tmp_path):
    target = tmp_path / "a" / "b" / "ifcfg-eth0"
    old = os.umask(0o077)
    try:
        FileSystem.op_write_file(str(target), "DEVICE=eth0\n")
    finally:
        os.umask(old)
    assert target.read_text() == "DEVICE=eth0\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644
    for directory in (tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o755
    assert os.listdir(target.parent) == ["ifcfg-eth0"]  # no temporary file left


def test_write_replaces_a_symlink_and_never_touches_its_target(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "ifcfg-eth0"
    link.symlink_to(victim)
    snap = FileSystem.snapshot(str(link))
    assert snap.kind == "symlink" and snap.link_target == str(victim) and snap.data == b""
    FileSystem.op_write_file(str(link), "DEVICE=eth0\n")
    assert not link.is_symlink() and link.read_text() == "DEVICE=eth0\n"
    assert victim.read_text() == "precious\n"


def test_remove_removes_the_link_not_its_target(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "ifcfg-eth0"
    link.symlink_to(victim)
    FileSystem.op_remove_file(str(link))
    assert not os.path.lexists(link) and victim.read_text() == "precious\n"
    FileSystem.op_remove_file(str(link))  # already gone: nothing to do


def test_snapshot_kinds(tmp_path):
    (tmp_path / "f").write_bytes(b"A=1\n")
    os.chmod(tmp_path / "f", 0o600)
    (tmp_path / "d").mkdir()
    assert FileSystem.snapshot(str(tmp_path / "f")) == FileSnapshot(str(tmp_path / "f"), "file", b"A=1\n", 0o600)
    assert FileSystem.snapshot(str(tmp_path / "d")).kind == "other"
    assert FileSystem.snapshot(str(tmp_path / "none")).kind == "absent"
    with pytest.raises(UnderlayError) as err:
        FileSystem.snapshot(str(tmp_path / "f" / "ifcfg-eth0"))
    assert err.value.field == "dir"


def test_write_refuses_a_directory_path_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(UnderlayError) as err:
        FileSystem.op_write_file(str(tmp_path / "f" / "sub" / "ifcfg-eth0"), "A=1\n")
    assert err.value.field == "dir" and str(tmp_path / "f") in str(err.value)


# -- the module shell ----------------------------------------------------------------
def run(capsys, args, check_mode=False, diff=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            persistent_interface.main()
    return json.loads(capsys.readouterr().out)


def test_module_create_then_unchanged(tmp_path, capsys):
    args = dict(VLAN, dir=str(tmp_path / "scripts"))
    path = str(tmp_path / "scripts" / "ifcfg-ens33.21")
    first = run(capsys, args, diff=True)
    assert first["changed"] is True and first["actions"] == [f"create {path}"]
    assert first["path"] == path and first["content"] == VLAN_TEXT
    assert first["variables"] == {"DEVICE": "ens33.21", "BOOTPROTO": "none", "ONBOOT": "yes", "IPADDR": "172.21.1.254",
                                  "PREFIX": "24", "NETWORK": "172.21.1.0", "VLAN": "yes", "PHYSDEV": "ens33"}
    assert first["diff"] == {"before": "", "after": VLAN_TEXT, "before_header": path, "after_header": path}
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == VLAN_TEXT
    second = run(capsys, args)
    assert second["changed"] is False and second["actions"] == [] and "diff" not in second
    assert second["content"] == VLAN_TEXT


def test_module_check_mode_writes_nothing(tmp_path, capsys):
    args = dict(VLAN, dir=str(tmp_path / "scripts"))
    result = run(capsys, args, check_mode=True, diff=True)
    assert result["changed"] is True and result["content"] == VLAN_TEXT
    assert result["variables"]["IPADDR"] == "172.21.1.254"
    assert os.listdir(tmp_path) == []
    run(capsys, args)
    before = tree_snapshot(str(tmp_path))
    changed = run(capsys, dict(args, mtu=1400), check_mode=True, diff=True)
    assert changed["changed"] is True and "MTU=1400\n" in changed["diff"]["after"]
    assert changed["content"] == changed["diff"]["after"]
    gone = run(capsys, dict(args, state="absent"), check_mode=True)
    assert gone["changed"] is True and gone["content"] == ""
    assert tree_snapshot(str(tmp_path)) == before


def test_module_refuses_8021ad_for_ifcfg_and_writes_nothing(tmp_path, capsys):
    result = run(capsys, dict(VLAN, protocol="802.1ad", dir=str(tmp_path / "scripts")))
    assert result["failed"] is True and result["field"] == "protocol"
    assert result["msg"].startswith("protocol: 802.1ad cannot be written in an ifcfg file")
    assert os.listdir(tmp_path) == []


def test_module_absent(tmp_path, capsys):
    args = dict(VLAN, dir=str(tmp_path))
    run(capsys, args)
    result = run(capsys, {"name": "ens33.21", "dir": str(tmp_path), "state": "absent"}, diff=True)
    assert result["changed"] is True and result["diff"]["before"] == VLAN_TEXT and result["diff"]["after"] == ""
    assert result["variables"] == {} and os.listdir(tmp_path) == []
    again = run(capsys, {"name": "ens33.21", "dir": str(tmp_path), "state": "absent"})
    assert again["changed"] is False


@pytest.mark.parametrize("args, fragment", [
    (dict(VLAN, vlan_id=5000), "vlan_id: 5000 is out of range (1-4094)"),
    (dict(VLAN, parent=None), "parent: is required with type vlan"),
    (dict(VLAN, extra={"bad key": 1}), "extra: 'bad key' is not a valid key"),
    (dict(VLAN, extra={"NAME": "a\nb"}), "extra.NAME: 'a\\nb' contains the control character"),
    (dict(VLAN, type="bond"), "value of type must be one of"),
])
def test_module_bad_input_fails_and_writes_nothing(tmp_path, capsys, args, fragment):
    result = run(capsys, dict(args, dir=str(tmp_path / "scripts")))
    assert result["failed"] is True and fragment in result["msg"]
    assert os.listdir(tmp_path) == []
