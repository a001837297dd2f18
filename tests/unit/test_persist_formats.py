# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""persistent_interface, formats nmconnection and networkd: the INI reader, each format's
rendering (exact text), what is kept from an existing file, and the planner over files."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _ini, _networkd, _nmconnection, _persist
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._files import FileSnapshot

NM_DIR = "/etc/NetworkManager/system-connections"
ND_DIR = "/etc/systemd/network"
VLAN = {"name": "ens33.21", "type": "vlan", "parent": "ens33", "vlan_id": 21, "address": "172.21.1.254/24"}


def spec(fmt, **params):
    return _persist.build_spec(dict(params, format=fmt))


def files(fmt, params, on_disk=None):
    """The plan of ``params`` against ``on_disk`` ({path: text}; missing paths are absent)."""
    built = spec(fmt, **params)
    on_disk = on_disk or {}
    current = {path: (FileSnapshot(path, "file", on_disk[path].encode(), _persist.FORMATS[fmt].MODE)
                      if path in on_disk else FileSnapshot(path)) for path in _persist.FORMATS[fmt].paths(built)}
    return _persist.plan(built, current)


def written(plan):
    return {step.args["path"]: step.args.get("content") for step in plan.steps}


# -- the INI reader ------------------------------------------------------------------
def test_ini_keeps_repeated_keys_and_sections_in_order():
    text = ("# comment\n[Match]\nName=eth0\n\n[Network]\nAddress=10.0.0.1/24\n Address = 10.0.0.2/24 \n"
            "; another\nVLAN=eth0.5\n[Route]\nGateway=10.0.0.254\n[Route]\nGateway=10.0.1.254\nDestination=10.1.0.0/16\n")
    sections = _ini.parse(text)
    assert [s.name for s in sections] == ["Match", "Network", "Route", "Route"]
    assert sections[1].values("Address") == ["10.0.0.1/24", "10.0.0.2/24"]
    assert _ini.render(sections) == ("[Match]\nName=eth0\n\n[Network]\nAddress=10.0.0.1/24\nAddress=10.0.0.2/24\n"
                                     "VLAN=eth0.5\n\n[Route]\nGateway=10.0.0.254\n\n[Route]\nGateway=10.0.1.254\n"
                                     "Destination=10.1.0.0/16\n")
    assert _ini.parse(_ini.render(sections)) == sections
    assert _ini.as_dict(sections)["Network"]["Address"] == ["10.0.0.1/24", "10.0.0.2/24"]


@pytest.mark.parametrize("text, line, fragment", [
    ("[Match]\nName eth0\n", 2, "neither a [Section] nor a Key=value line"),
    ("Name=eth0\n", 1, "before any [Section]"),
    ("[Network]\nAddress=10.0.0.1/24 \\\n", 2, "continued line"),
    ("[Network]\n=x\n", 2, "not a key name"),
])
def test_ini_refuses_what_it_cannot_read(text, line, fragment):
    with pytest.raises(_ini.ParseError) as err:
        _ini.parse(text)
    assert err.value.line == line and fragment in str(err.value)


# -- nmconnection ----------------------------------------------------------------------
NM_VLAN = ("[connection]\nid=ens33.21\nuuid={uuid}\ntype=vlan\ninterface-name=ens33.21\nautoconnect=true\n\n"
           "[vlan]\nid=21\nparent=ens33\nprotocol=802.1ad\n\n[ipv4]\nmethod=manual\naddress1=172.21.1.254/24\n")


def test_nm_vlan_text_mode_and_stable_uuid():
    plan = files("nmconnection", dict(VLAN, protocol="802.1ad"))
    path = f"{NM_DIR}/ens33.21.nmconnection"
    step = plan.steps[0]
    assert plan.actions == [f"create {path}"] and step.args["mode"] == 0o600
    uuid = _nmconnection.parse(step.args["content"])[0].first("uuid")
    assert step.args["content"] == NM_VLAN.format(uuid=uuid)
    again = files("nmconnection", dict(VLAN, protocol="802.1ad"))
    assert again.steps[0].args["content"] == step.args["content"]  # same options, same bytes
    assert not files("nmconnection", dict(VLAN, protocol="802.1ad"), {path: step.args["content"]}).changed


def test_nm_8021q_writes_no_protocol_key():
    content = files("nmconnection", VLAN).steps[0].args["content"]
    assert "[vlan]\nid=21\nparent=ens33\n\n" in content and "protocol" not in content


@pytest.mark.parametrize("params, section, expected", [
    ({"name": "ens33", "hwaddr": "00:0c:29:3e:5b:7a", "mtu": 9000}, "ethernet",
     [("mac-address", "00:0C:29:3E:5B:7A"), ("mtu", "9000")]),
    ({"name": "br0", "type": "bridge"}, "bridge", []),
    ({"name": "br0", "type": "bridge", "bootproto": "dhcp"}, "ipv4", [("method", "auto")]),
    ({"name": "eth0"}, "ipv4", [("method", "disabled")]),
    ({"name": "eth0", "onboot": False}, "connection", None),
])
def test_nm_sections(params, section, expected):
    content = files("nmconnection", params).steps[0].args["content"]
    sections = {s.name: s for s in _nmconnection.parse(content)}
    if expected is None:
        assert sections[section].first("autoconnect") == "false"
    else:
        assert sections[section].entries == expected


PARENT_NM = ("[connection]\nid=System ens33\nuuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\ntype=ethernet\n"
             "interface-name=ens33\nzone=internal\n\n[802-3-ethernet]\nmac-address=00:0C:29:3E:5B:7A\n\n"
             "[ipv4]\naddress1=192.168.1.10/24,192.168.1.1\ndns=192.168.1.1;\nmethod=manual\n\n"
             "[ipv6]\naddr-gen-mode=eui64\nmethod=auto\n\n[proxy]\n")


def test_nm_parent_keeps_its_address_id_uuid_and_unknown_settings():
    path = f"{NM_DIR}/ens33.nmconnection"
    plan = files("nmconnection", {"name": "ens33", "mtu": 9000}, {path: PARENT_NM})
    assert plan.steps[0].args["content"] == (
        "[connection]\nid=System ens33\nuuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\ntype=ethernet\n"
        "interface-name=ens33\nautoconnect=true\nzone=internal\n\n[ethernet]\nmtu=9000\nmac-address=00:0C:29:3E:5B:7A\n\n"
        "[ipv4]\nmethod=manual\naddress1=192.168.1.10/24,192.168.1.1\ndns=192.168.1.1;\n\n"
        "[ipv6]\naddr-gen-mode=eui64\nmethod=auto\n\n[proxy]\n")
    assert plan.actions == [f"update {path}: set connection.autoconnect, ethernet.mtu"]
    assert not files("nmconnection", {"name": "ens33", "mtu": 9000}, {path: plan.steps[0].args["content"]}).changed
    # without preserve_unmanaged: only what the options say (the uuid stays: it names the profile)
    exact = files("nmconnection", {"name": "ens33", "preserve_unmanaged": False}, {path: PARENT_NM})
    assert exact.steps[0].args["content"] == (
        "[connection]\nid=ens33\nuuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\ntype=ethernet\ninterface-name=ens33\n"
        "autoconnect=true\n\n[ipv4]\nmethod=disabled\n\n[ipv6]\nmethod=disabled\n")


def test_nm_address_less_link_has_ipv6_off_unless_its_file_says_otherwise():
    """NetworkManager's default ipv6.method=auto fails an address-less VLAN without a router
    advertisement and deletes the device (and the macvlans on it): seen at boot in the boot lane."""
    vlan = {"name": "ens33.100", "type": "vlan", "parent": "ens33", "vlan_id": 100}
    content = files("nmconnection", vlan).steps[0].args["content"]
    sections = {s.name: s for s in _nmconnection.parse(content)}
    assert (sections["ipv4"].first("method"), sections["ipv6"].first("method")) == ("disabled", "disabled")
    path = f"{NM_DIR}/ens33.100.nmconnection"
    assert not files("nmconnection", vlan, {path: content}).changed
    own = content.replace("[ipv6]\nmethod=disabled", "[ipv6]\nmethod=link-local")
    assert not files("nmconnection", vlan, {path: own}).changed
    with_address = files("nmconnection", VLAN).steps[0].args["content"]
    assert "[ipv6]" not in with_address


def test_nm_address_option_owns_address1_and_keeps_the_others():
    path = f"{NM_DIR}/ens33.21.nmconnection"
    old = "[connection]\nid=x\n\n[ipv4]\nmethod=manual\naddress1=10.0.0.1/24\naddress2=10.0.0.2/24\n"
    content = files("nmconnection", VLAN, {path: old}).steps[0].args["content"]
    assert "[ipv4]\nmethod=manual\naddress1=172.21.1.254/24\naddress2=10.0.0.2/24\n" in content
    dhcp = files("nmconnection", dict(VLAN, bootproto="dhcp"), {path: old}).steps[0].args["content"]
    assert "[ipv4]\nmethod=auto\naddress1=172.21.1.254/24\naddress2=10.0.0.2/24\n" in dhcp


def test_nm_extra():
    content = files("nmconnection", {"name": "eth0", "extra": {"ipv4.dns": "10.0.0.53;", "connection.id": "Uplink",
                                                               "ipv6.method": "disabled", "ethernet.wake-on-lan": 0,
                                                               "connection.zone": " lead"}}).steps[0].args["content"]
    assert content.startswith("[connection]\nid=Uplink\n")
    assert "zone=\\slead\n" in content and "[ipv4]\nmethod=disabled\ndns=10.0.0.53;\n" in content
    assert content.endswith("[ipv6]\nmethod=disabled\n") and "[ethernet]\nwake-on-lan=0\n" in content


@pytest.mark.parametrize("extra, fragment", [
    ({"dns": "x"}, "not a keyfile setting"),
    ({"ipv4.method": "auto"}, "module's own options"),
    ({"vlan.protocol": "802.1ad"}, "module's own options"),
    ({"ipv4.dns": "a\nb"}, "control character"),
])
def test_nm_extra_refusals(extra, fragment):
    with pytest.raises(UnderlayError) as err:
        spec("nmconnection", name="eth0", extra=extra)
    assert err.value.field.startswith("extra") and fragment in str(err.value)


@pytest.mark.parametrize("text, fragment", [
    ("[connection]\nid=a\n[connection]\nid=b\n", "[connection] appears twice"),
    ("[connection]\nid=a\nid=b\n", "sets id twice"),
    ("[ethernet]\nmtu=1\n[802-3-ethernet]\nmtu=2\n", "[ethernet] appears twice"),
    ("garbage\n", "line 1"),
])
def test_nm_unreadable_file_is_refused_with_preserve_and_replaced_without(text, fragment):
    path = f"{NM_DIR}/eth0.nmconnection"
    with pytest.raises(UnderlayError) as err:
        files("nmconnection", {"name": "eth0"}, {path: text})
    assert err.value.field == "preserve_unmanaged" and path in str(err.value) and fragment in str(err.value)
    plan = files("nmconnection", {"name": "eth0", "preserve_unmanaged": False}, {path: text})
    assert plan.actions == [f"rewrite {path} (it did not parse)"]


def test_nm_mode_is_corrected_to_0600():
    path = f"{NM_DIR}/eth0.nmconnection"
    content = files("nmconnection", {"name": "eth0"}).steps[0].args["content"]
    built = spec("nmconnection", name="eth0")
    plan = _persist.plan(built, {path: FileSnapshot(path, "file", content.encode(), 0o644)})
    assert plan.actions == [f"set the mode of {path} from 0644 to 0600"]


# -- networkd ----------------------------------------------------------------------------
def test_networkd_vlan_files_and_parent_line():
    plan = files("networkd", dict(VLAN, protocol="802.1ad", mtu=1496))
    netdev, network, parent = (f"{ND_DIR}/10-ens33.21.netdev", f"{ND_DIR}/10-ens33.21.network",
                               f"{ND_DIR}/10-ens33.network")
    assert plan.actions == [f"create {netdev}", f"create {network}", f"create {parent}"]
    assert written(plan) == {
        netdev: "[NetDev]\nName=ens33.21\nKind=vlan\nMTUBytes=1496\n\n[VLAN]\nId=21\nProtocol=802.1ad\n",
        network: "[Match]\nName=ens33.21\n\n[Network]\nAddress=172.21.1.254/24\n",
        parent: "[Match]\nName=ens33\n\n[Link]\nRequiredForOnline=no\n\n[Network]\nVLAN=ens33.21\n",
    }
    assert {step.args["mode"] for step in plan.steps} == {0o644}
    # several files: the diff shows each under its path
    assert plan.after.startswith(f"# {netdev}\n[NetDev]\n") and f"# {parent}\n[Match]\nName=ens33\n" in plan.after
    assert plan.before == f"# {netdev}\n# {network}\n# {parent}\n"
    again = files("networkd", dict(VLAN, protocol="802.1ad", mtu=1496), written(plan))
    assert not again.changed and again.before == again.after == written(plan)[network]


PARENT_ND = ("# installed by hand\n[Match]\nName=ens33\n\n[Network]\nDHCP=yes\nAddress=192.168.1.10/24\n"
             "Address=192.168.1.11/24\nDNS=192.168.1.1\n\n[Route]\nGateway=192.168.1.1\n\n[Route]\n"
             "Destination=10.0.0.0/8\nGateway=192.168.1.2\n")


def test_networkd_parent_keeps_addresses_dhcp_routes_and_gains_vlan_lines():
    path = f"{ND_DIR}/10-ens33.network"
    plan = files("networkd", {"name": "ens33", "mtu": 9000}, {path: PARENT_ND})
    first = written(plan)[path]
    assert first == ("[Match]\nName=ens33\n\n[Link]\nMTUBytes=9000\n\n[Network]\nDHCP=yes\nAddress=192.168.1.10/24\n"
                     "Address=192.168.1.11/24\nDNS=192.168.1.1\n\n[Route]\nGateway=192.168.1.1\n\n[Route]\n"
                     "Destination=10.0.0.0/8\nGateway=192.168.1.2\n")
    assert plan.actions == [f"update {path}: set Link.MTUBytes"]
    vlan = files("networkd", VLAN, {path: first})
    parent_text = written(vlan)[path]
    assert "[Network]\nVLAN=ens33.21\nDHCP=yes\nAddress=192.168.1.10/24\n" in parent_text
    # the parent's own run keeps the VLAN= line where the VLAN's run put it: both unchanged now
    assert not files("networkd", {"name": "ens33", "mtu": 9000}, {path: parent_text}).changed
    on_disk = dict(written(vlan))
    assert not files("networkd", VLAN, on_disk).changed
    second = files("networkd", dict(VLAN, name="ens33.22", vlan_id=22, address=None), on_disk)
    assert "[Network]\nVLAN=ens33.21\nVLAN=ens33.22\nDHCP=yes\n" in written(second)[path]
    # without preserve_unmanaged the parent's VLAN= lines stay (they belong to the VLANs' runs)
    exact = files("networkd", {"name": "ens33", "preserve_unmanaged": False}, {path: written(second)[path]})
    assert written(exact)[path] == ("[Match]\nName=ens33\n\n[Link]\nRequiredForOnline=no\n\n"
                                    "[Network]\nVLAN=ens33.21\nVLAN=ens33.22\n")


def test_networkd_address_option_owns_the_first_address():
    path = f"{ND_DIR}/10-ens33.21.network"
    old = "[Match]\nName=ens33.21\n\n[Network]\nAddress=10.0.0.1/24\nAddress=172.21.1.254/24\nAddress=10.0.0.3/24\n"
    on_disk = {path: old, f"{ND_DIR}/10-ens33.network": "[Match]\nName=ens33\n\n[Network]\nVLAN=ens33.21\n"}
    text = written(files("networkd", VLAN, on_disk))[path]
    assert text == "[Match]\nName=ens33.21\n\n[Network]\nAddress=172.21.1.254/24\nAddress=10.0.0.3/24\n"


def test_networkd_absent_removes_its_files_and_its_line_in_the_parent():
    present = written(files("networkd", VLAN))
    plan = files("networkd", {"name": "ens33.21", "type": "vlan", "parent": "ens33", "state": "absent"}, present)
    parent = f"{ND_DIR}/10-ens33.network"
    assert plan.actions == [f"remove {ND_DIR}/10-ens33.21.network", f"remove {ND_DIR}/10-ens33.21.netdev",
                            f"update {parent}: remove Network.VLAN"]
    assert written(plan)[parent] == "[Match]\nName=ens33\n\n[Link]\nRequiredForOnline=no\n"
    assert [step.undo.op for step in plan.steps] == ["restore_file"] * 3


def test_networkd_bridge_dhcp_onboot_and_extra():
    plan = files("networkd", {"name": "br0", "type": "bridge", "mtu": 9000, "bootproto": "dhcp", "onboot": False,
                              "extra": {"Network.DNS": ["10.0.0.53", "10.0.0.54"], "Bridge.STP": True,
                                        "Link.RequiredForOnline": "no"}})
    assert written(plan) == {
        f"{ND_DIR}/10-br0.netdev": "[NetDev]\nName=br0\nKind=bridge\nMTUBytes=9000\n",
        f"{ND_DIR}/10-br0.network": ("[Match]\nName=br0\n\n[Link]\nActivationPolicy=manual\nRequiredForOnline=no\n\n"
                                     "[Network]\nDHCP=ipv4\nDNS=10.0.0.53\nDNS=10.0.0.54\n\n[Bridge]\nSTP=yes\n"),
    }


@pytest.mark.parametrize("extra, fragment", [
    ({"DNS": "x"}, "not a networkd setting"),
    ({"Network.Address": "10.0.0.1/24"}, "module's own options"),
    ({"Network.VLAN": "x"}, "module's own options"),
    ({"Network.DNS": ["a", None]}, "not a string"),
])
def test_networkd_extra_refusals(extra, fragment):
    with pytest.raises(UnderlayError) as err:
        spec("networkd", name="eth0", extra=extra)
    assert err.value.field.startswith("extra") and fragment in str(err.value)


def test_networkd_unparseable_parent_file_is_refused():
    parent = f"{ND_DIR}/10-ens33.network"
    with pytest.raises(UnderlayError) as err:
        files("networkd", VLAN, {parent: "[Match]\nName ens33\n"})
    assert err.value.field == "parent" and parent in str(err.value) and "line 2" in str(err.value)


def test_networkd_symlinked_parent_file_is_refused():
    built = spec("networkd", **VLAN)
    current = {path: FileSnapshot(path) for path in _networkd.paths(built)}
    parent = f"{ND_DIR}/10-ens33.network"
    current[parent] = FileSnapshot(parent, "symlink", link_target="/srv/ens33.network")
    with pytest.raises(UnderlayError) as err:
        _persist.plan(built, current)
    assert err.value.field == "parent" and "symbolic link" in str(err.value)


# -- the host check --------------------------------------------------------------------
@pytest.mark.parametrize("fmt, marker", [("nmconnection", "/etc/NetworkManager"), ("networkd", "/etc/systemd")])
def test_a_format_the_host_cannot_use_is_refused_for_the_default_dir_only(fmt, marker):
    from ansible_collections.underlay.network.plugins.module_utils import _persist_spec
    built = spec(fmt, name="eth0")
    problem = _persist_spec.host_problem(built, exists=lambda path: path != marker)
    assert problem.startswith(f"this host cannot use {fmt} files: {marker} does not exist")
    assert _persist_spec.host_problem(built, exists=lambda path: True) is None
    given = spec(fmt, name="eth0", dir="/tmp/staging")
    assert _persist_spec.host_problem(given, exists=lambda path: False) is None


# -- networkd: the file that is in effect -------------------------------------------------
def test_networkd_edits_the_existing_file_for_the_interface_instead_of_shadowing_it(tmp_path):
    """Debian's own eth0.network holds the management address: the trunk's run edits that file
    (a new 10-ens33.network would sort first and hide it), and the VLAN's line goes there too."""
    from ansible_collections.underlay.network.plugins.module_utils._files import FileSystem
    (tmp_path / "ens33.network").write_text("[Match]\nName=ens33\n\n[Network]\nAddress=192.168.1.10/24\n")
    (tmp_path / "wired.network").write_text("[Match]\nName=en*\n\n[Network]\nDHCP=yes\n")
    (tmp_path / "broken.network").write_text("garbage\n")
    fs = FileSystem()
    trunk = _persist.build_spec({"name": "ens33", "format": "networkd", "dir": str(tmp_path), "mtu": 9000})
    current = _persist.read(fs, trunk)
    assert list(current) == [str(tmp_path / "ens33.network")]
    assert current.warnings == [f"{tmp_path}/wired.network also matches ens33: systemd-networkd applies "
                                f"{tmp_path}/ens33.network (it sorts first) to ens33 and ignores "
                                f"{tmp_path}/wired.network for it; merge the two files"]
    plan = _persist.plan(trunk, current)
    assert plan.warnings == current.warnings
    for step in plan.steps:
        fs.apply(step)
    vlan = _persist.build_spec(dict(VLAN, format="networkd", dir=str(tmp_path)))
    current = _persist.read(fs, vlan)
    assert list(current) == [str(tmp_path / name) for name in ("10-ens33.21.network", "10-ens33.21.netdev",
                                                               "ens33.network")]
    for step in _persist.plan(vlan, current).steps:
        fs.apply(step)
    assert (tmp_path / "ens33.network").read_text() == (
        "[Match]\nName=ens33\n\n[Link]\nMTUBytes=9000\n\n[Network]\nVLAN=ens33.21\nAddress=192.168.1.10/24\n")
    assert not (tmp_path / "10-ens33.network").exists()
    assert not _persist.plan(trunk, _persist.read(fs, trunk)).changed
    assert not _persist.plan(vlan, _persist.read(fs, vlan)).changed
    # removal removes only the module's own files, and the VLAN's line in the parent's file
    gone = _persist.build_spec({"name": "ens33.21", "type": "vlan", "parent": "ens33", "format": "networkd",
                                "dir": str(tmp_path), "state": "absent"})
    for step in _persist.plan(gone, _persist.read(fs, gone)).steps:
        fs.apply(step)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.network", "ens33.network", "wired.network"]
    assert "VLAN=" not in (tmp_path / "ens33.network").read_text()


def test_networkd_warns_when_another_file_sorts_first(tmp_path):
    from ansible_collections.underlay.network.plugins.module_utils._files import FileSystem
    (tmp_path / "05-all.network").write_text("[Match]\nName=eth* ens*\n")
    built = _persist.build_spec({"name": "ens33", "format": "networkd", "dir": str(tmp_path)})
    current = _persist.read(FileSystem(), built)
    assert list(current) == [str(tmp_path / "10-ens33.network")]
    assert current.warnings == [f"{tmp_path}/05-all.network also matches ens33 and sorts before "
                                f"{tmp_path}/10-ens33.network: systemd-networkd applies {tmp_path}/05-all.network,"
                                f" not {tmp_path}/10-ens33.network, to ens33; merge the two files"]


def test_nm_edits_the_existing_profile_of_the_interface(tmp_path):
    """A profile for ens33 in another file (the installer's) is edited rather than competed with."""
    from ansible_collections.underlay.network.plugins.module_utils._files import FileSystem
    theirs = tmp_path / "Wired connection 1.nmconnection"
    theirs.write_text(PARENT_NM)
    (tmp_path / "backup.nmconnection").write_text(PARENT_NM.replace("id=System ens33", "id=Old ens33")
                                                  .replace("type=ethernet", "type=802-3-ethernet"))
    fs = FileSystem()
    built = _persist.build_spec({"name": "ens33", "format": "nmconnection", "dir": str(tmp_path), "mtu": 9000})
    current = _persist.read(fs, built)
    assert list(current) == [str(tmp_path / "Wired connection 1.nmconnection")]
    assert current.warnings == [f"{tmp_path}/backup.nmconnection is another NetworkManager profile for ens33; it "
                                f"competes with {theirs}: remove one"]
    for step in _persist.plan(built, current).steps:
        fs.apply(step)
    text = theirs.read_text()
    assert "id=System ens33\n" in text and "address1=192.168.1.10/24,192.168.1.1\n" in text and "mtu=9000\n" in text
    assert not (tmp_path / "ens33.nmconnection").exists()
    assert not _persist.plan(built, _persist.read(fs, built)).changed


# -- applying: a failure half-way puts every file back -------------------------------------
@pytest.mark.parametrize("fail_after", [1, 2])
def test_a_failure_half_way_restores_the_files(tmp_path, monkeypatch, fail_after):
    from underlay_testlib import tree_snapshot
    from ansible_collections.underlay.network.plugins.module_utils._files import FileSystem
    from ansible_collections.underlay.network.plugins.module_utils._transaction import apply_steps
    parent = tmp_path / "10-ens33.network"
    parent.write_text("[Match]\nName=ens33\n\n[Network]\nAddress=192.168.1.10/24\n")
    os.chmod(parent, 0o640)
    before = tree_snapshot(str(tmp_path))
    built = _persist.build_spec(dict(VLAN, format="networkd", dir=str(tmp_path)))
    plan = _persist.plan(built, _persist.read(FileSystem(), built))
    assert len(plan.steps) == 3
    monkeypatch.setenv("UNDERLAY_TEST_FAIL_AFTER_STEP", str(fail_after))
    with pytest.raises(UnderlayError) as err:
        apply_steps(FileSystem(), plan.steps)
    assert "injected failure" in str(err.value) and "rolled back" in str(err.value)
    assert tree_snapshot(str(tmp_path)) == before


# -- the module shell ----------------------------------------------------------------------
def run_module(capsys, args, check_mode=False, diff=False):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.underlay.network.plugins.modules import persistent_interface
    with patch_module_args(dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)):
        with pytest.raises(SystemExit):
            persistent_interface.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("fmt", ["nmconnection", "networkd"])
def test_module_create_unchanged_check_mode_and_diff(tmp_path, capsys, fmt):
    from underlay_testlib import tree_snapshot
    args = dict(VLAN, format=fmt, protocol="802.1ad", dir=str(tmp_path / "conf"))
    checked = run_module(capsys, args, check_mode=True, diff=True)
    assert checked["changed"] is True and os.listdir(tmp_path) == []
    first = run_module(capsys, args, diff=True)
    assert first["changed"] is True and first["actions"] == checked["actions"]
    assert first["files"] == checked["files"] and first["content"] == checked["content"]
    assert first["diff"]["after"] == checked["diff"]["after"] and "802.1ad" in first["diff"]["after"]
    for path, text in first["files"].items():
        assert open(path, encoding="utf-8").read() == text
    before = tree_snapshot(str(tmp_path))
    second = run_module(capsys, args)
    assert second["changed"] is False and second["actions"] == [] and second["files"] == first["files"]
    changed = run_module(capsys, dict(args, address="172.21.1.253/24"), check_mode=True, diff=True)
    assert changed["changed"] is True and "172.21.1.253/24" in changed["diff"]["after"]
    assert "172.21.1.254/24" in changed["diff"]["before"]
    gone = run_module(capsys, dict(args, state="absent"), check_mode=True)
    assert gone["changed"] is True and gone["content"] == ""
    assert tree_snapshot(str(tmp_path)) == before
    if fmt == "nmconnection":
        assert first["variables"]["vlan"] == {"id": "21", "parent": "ens33", "protocol": "802.1ad"}
    else:
        assert first["variables"] == {"Match": {"Name": "ens33.21"}, "Network": {"Address": "172.21.1.254/24"}}
