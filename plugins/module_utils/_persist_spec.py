# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""persistent_interface: the options every format shares, validated into a ``PersistSpec``.

Pure (no file I/O, no AnsibleModule). The format modules (_ifcfg, _nmconnection,
_networkd) turn a spec into file text; ``check_protocol`` is the one rule about which
format can say 802.1ad, used by the module and by ``fleet_plan`` alike.

``None`` means "not given": with ``preserve_unmanaged`` (the default) a setting already in
the file for an option that is not given is kept, so a parent NIC's address, DHCP or MTU
set by the installer survives.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Any, Optional

from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

FORMATS = ("ifcfg", "nmconnection", "networkd")
DEFAULT_DIRS = {
    "ifcfg": "/etc/sysconfig/network-scripts",
    "nmconnection": "/etc/NetworkManager/system-connections",
    "networkd": "/etc/systemd/network",
}
# A format the host cannot use: the default directory's parent must exist (NetworkManager
# or systemd installed). Only checked when ``dir`` is the format's default, so tests and
# staging trees can write anywhere.
HOST_MARKERS = {
    "nmconnection": ("/etc/NetworkManager", "NetworkManager is not installed"),
    "networkd": ("/etc/systemd", "systemd is not installed"),
}
TYPES = ("ethernet", "vlan", "bridge")
BOOTPROTOS = ("none", "static", "dhcp", "bootp", "ibft")
PROTOCOLS = tuple(v.VLAN_PROTOCOLS)

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MAC = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")


@dataclass(frozen=True)
class PersistSpec:
    """The desired configuration of one interface, whatever the format.

    ``extra`` is the format's own normalised form (see each format's ``check_extra``).
    ``default_dir`` is true when ``dir`` was not given (the host check applies then).
    """

    name: str
    directory: str
    state: str = "present"
    format: str = "ifcfg"
    type: str = "ethernet"
    parent: Optional[str] = None
    vlan_id: Optional[int] = None
    protocol: str = "802.1Q"
    address: Optional[str] = None
    hwaddr: Optional[str] = None
    onboot: bool = True
    bootproto: Optional[str] = None
    mtu: Optional[int] = None
    extra: Any = None
    preserve_unmanaged: bool = True
    default_dir: bool = True


def check_protocol(file_format, protocol, field="protocol"):
    """The VLAN protocol ``protocol`` can be persisted in ``file_format`` (else UnderlayError)."""
    protocol = v.choice(field, protocol or "802.1Q", PROTOCOLS)
    if protocol == "802.1ad" and file_format == "ifcfg":
        raise UnderlayError(
            "802.1ad cannot be written in an ifcfg file (ifcfg has no key for the VLAN protocol, so the"
            " sub-interface would come back as 802.1Q at boot): use format nmconnection or networkd", field, protocol)
    return protocol


def default_dir(file_format):
    return DEFAULT_DIRS[file_format]


def host_problem(spec, exists=os.path.isdir):
    """Why the host cannot use ``spec.format`` (``None`` when it can, or when ``dir`` was given)."""
    if not spec.default_dir or spec.format not in HOST_MARKERS:
        return None
    marker, reason = HOST_MARKERS[spec.format]
    if exists(marker):
        return None
    return (f"this host cannot use {spec.format} files: {marker} does not exist ({reason}); pick the format"
            " the host's network stack reads, or give dir to write the files elsewhere")


def build_spec(params):
    """Validate the shared options (``extra`` is left to the format)."""
    state = v.state(params.get("state"))
    file_format = v.choice("format", params.get("format") or "ifcfg", FORMATS)
    name = plain_text("name", v.interface_name("name", params.get("name")))
    directory = params.get("dir")
    given_dir = directory is not None
    directory = directory if given_dir else DEFAULT_DIRS[file_format]
    if not isinstance(directory, str) or not directory.startswith("/"):
        raise UnderlayError(f"{directory!r} is not an absolute path", "dir", directory)
    plain_text("dir", directory)
    directory = os.path.normpath(directory)
    preserve = params.get("preserve_unmanaged")
    common = dict(name=name, directory=directory, state=state, format=file_format, default_dir=not given_dir,
                  preserve_unmanaged=True if preserve is None else v.boolean("preserve_unmanaged", preserve))
    kind = v.choice("type", params.get("type") or "ethernet", TYPES)
    if state == "absent":
        common["type"] = kind
        if kind == "vlan" and params.get("parent") is not None:  # networkd: the parent's VLAN= line goes too
            common["parent"] = plain_text("parent", v.interface_name("parent", params["parent"]))
        return PersistSpec(**common)

    parent, vlan_id = _vlan_options(kind, name, params.get("parent"), params.get("vlan_id"))
    protocol = params.get("protocol")
    if protocol is not None and kind != "vlan":
        raise UnderlayError(f"is only for type vlan (type is {kind})", "protocol", protocol)
    protocol = check_protocol(file_format, protocol) if kind == "vlan" else "802.1Q"
    hwaddr = params.get("hwaddr")
    if hwaddr is not None:
        if kind != "ethernet":
            raise UnderlayError(
                f"is only for type ethernet (it binds the file to a network card); to set the address of a"
                f" {kind}, use extra", "hwaddr", hwaddr)
        hwaddr = mac_address("hwaddr", hwaddr)
    bootproto = params.get("bootproto")
    if bootproto is not None:
        bootproto = v.choice("bootproto", bootproto, BOOTPROTOS)
        if file_format != "ifcfg" and bootproto in ("bootp", "ibft"):
            raise UnderlayError(f"{bootproto} is an ifcfg setting; {file_format} files know none, static and dhcp",
                                "bootproto", bootproto)
    onboot = params.get("onboot")
    return PersistSpec(
        type=kind,
        parent=parent,
        vlan_id=vlan_id,
        protocol=protocol,
        address=ipv4_address("address", params.get("address")),
        hwaddr=hwaddr,
        onboot=True if onboot is None else v.boolean("onboot", onboot),
        bootproto=bootproto,
        mtu=v.mtu("mtu", params.get("mtu")),
        extra=params.get("extra"),
        **common,
    )


def _vlan_options(kind, name, parent, vlan_id):
    if kind != "vlan":
        for field, value in (("parent", parent), ("vlan_id", vlan_id)):
            if value is not None:
                raise UnderlayError(f"is only for type vlan (type is {kind})", field, value)
        return None, None
    if parent is None:
        raise UnderlayError("is required with type vlan (the trunk interface)", "parent", None)
    if vlan_id is None:
        raise UnderlayError("is required with type vlan", "vlan_id", None)
    v.interface_name("parent", parent)
    plain_text("parent", parent)
    vlan_id = v.vlan_id("vlan_id", vlan_id)
    if parent == name:
        raise UnderlayError(f"'{name}' is the parent itself", "name", name)
    suffix = v.vlan_name_parts(name)
    if suffix and suffix[1] != vlan_id:
        raise UnderlayError(
            f"'{name}' ends in '.{suffix[1]}' but vlan_id is {vlan_id}; tools that read the VLAN id from"
            " the name would disagree: make them match or pick a name without a '.NUMBER' suffix", "name", name)
    return parent, vlan_id


def plain_text(field, value):
    """Refuse NUL, newlines and other control characters (a tab is allowed)."""
    bad = _CONTROL.search(value)
    if bad:
        raise UnderlayError(
            f"{value!r} contains the control character {bad.group(0)!r}; values are single lines of text",
            field, value)
    return value


def mac_address(field, value):
    """Colon-separated, upper-case hex (``00:0C:29:3E:5B:7A``), as RHEL and NetworkManager write it.

    Anaconda, initscripts and NetworkManager all emit upper case (and compare
    case-insensitively when matching a card), so the canonical text is upper case.
    """
    text = str(value).strip().lower()
    if _MAC.match(text):
        text = text.replace("-", ":")
    elif re.match(r"^[0-9a-f]{12}$", text):
        text = ":".join(text[i:i + 2] for i in range(0, 12, 2))
    else:
        raise UnderlayError(f"'{value}' is not a MAC address (e.g. 00:0c:29:3e:5b:7a)", field, value)
    if int(text[:2], 16) & 1:
        raise UnderlayError(f"'{value}' is a multicast MAC address; a network card has a unicast one", field, value)
    if text == "00:00:00:00:00:00":
        raise UnderlayError(f"'{value}' is the all-zero MAC address", field, value)
    return text.upper()


def ipv4_address(field, value):
    """``ADDRESS/PREFIX`` (IPv4) normalised; ``None`` stays ``None``."""
    if value is None:
        return None
    normal = v.host_address(field, value)
    if ipaddress.ip_interface(normal).version != 4:
        raise UnderlayError(
            f"'{value}' is not IPv4; address holds the IPv4 address: give IPv6 settings through extra",
            field, value)
    return normal


def check_extra_value(field, value, booleans=("yes", "no")):
    """One value of ``extra``: booleans as ``booleans`` (the format's words), numbers as decimals,
    strings on one line."""
    if isinstance(value, bool):
        return booleans[0] if value else booleans[1]
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise UnderlayError(f"{value!r} is not a string, number or boolean", field, value)
    return plain_text(field, value)
