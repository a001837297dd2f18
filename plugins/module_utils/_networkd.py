# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""persistent_interface, format networkd: systemd-networkd's ``DIR/10-NAME.network`` and,
for a vlan or a bridge, ``DIR/10-NAME.netdev`` (mode 0644).

Pure: text in, text out (the planner is _persist). Read with _ini's line reader: keys
(``Address=``, ``VLAN=``) and sections (``[Address]``, ``[Route]``) repeat, so
configparser cannot read these files.

Why ``10-``: networkd applies the first ``.network`` file (in lexical order over
/etc, /run and /usr/lib) that matches a link; ``10-`` sorts before the distributions'
catch-alls (``80-``, ``99-``) and the usual hand-written names (``20-wired``,
``eth0.network``), so these files are the ones applied.

A VLAN needs its parent's ``.network`` to name it (``[Network] VLAN=NAME``): a vlan
run adds that line to ``10-PARENT.network`` (creating a minimal one if there is none)
and removes it with ``state: absent``; the parent's own run keeps every ``VLAN=`` line,
whatever ``preserve_unmanaged`` says, as they belong to the VLANs' runs.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re

from ansible_collections.underlay.network.plugins.module_utils import _ini
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._persist_spec import check_extra_value

MODE = 0o644
PREFIX = "10-"
LISTED = ".network"
# Keys of the .network file written from options: ``extra`` may not name them.
OWNED = {
    "Match": ("Name", "MACAddress"),
    "Link": ("MTUBytes", "ActivationPolicy"),
    "Network": ("Address", "DHCP", "VLAN"),
}
_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def network_path(directory, name):
    return os.path.join(directory, f"{PREFIX}{name}.network")


def netdev_path(directory, name):
    return os.path.join(directory, f"{PREFIX}{name}.netdev")


def paths(spec):
    """The ``.network`` (returned as ``path``), the ``.netdev`` of a vlan or bridge (with
    ``state: absent``, whatever the type), and a vlan's parent's ``.network``."""
    found = [network_path(spec.directory, spec.name)]
    if spec.type in ("vlan", "bridge") or spec.state == "absent":
        found.append(netdev_path(spec.directory, spec.name))
    if spec.type == "vlan" and spec.parent is not None:
        found.append(network_path(spec.directory, spec.parent))
    return tuple(found)


def locate(spec, listing):
    """The files for ``spec``, given the ``.network`` files in its directory (``{path: text}``).

    A link's settings are in one file: the first ``.network`` (in lexical order) that matches it.
    When ``10-NAME.network`` does not exist but another file there is for this interface alone
    (``[Match] Name=NAME``), that file is the one edited (with ``state: present``; removal only
    ever removes the module's own file), so an address it holds stays in effect. Other files
    that match the name (also through a glob) are named in a warning.
    """
    found, warnings = [], []
    network, notes = _choose(spec.directory, spec.name, listing, adopt=spec.state == "present")
    found.append(network)
    warnings += notes
    if spec.type in ("vlan", "bridge") or spec.state == "absent":
        found.append(netdev_path(spec.directory, spec.name))
    if spec.type == "vlan" and spec.parent is not None:
        parent, notes = _choose(spec.directory, spec.parent, listing, adopt=True)
        found.append(parent)
        warnings += notes
    return tuple(found), warnings


def _choose(directory, name, listing, adopt):
    own = network_path(directory, name)
    matches = _matching(listing, name)
    chosen = own
    if own not in listing and adopt:
        chosen = next((path for path, exact in matches.items() if exact), own)
    notes = []
    for path in matches:
        if path == chosen:
            continue
        if os.path.basename(path) < os.path.basename(chosen):
            notes.append(f"{path} also matches {name} and sorts before {chosen}: systemd-networkd applies {path},"
                         f" not {chosen}, to {name}; merge the two files")
        else:
            notes.append(f"{path} also matches {name}: systemd-networkd applies {chosen} (it sorts first) to {name}"
                         f" and ignores {path} for it; merge the two files")
    return chosen, notes


def _matching(listing, name):
    """``{path: exact}`` for each file whose first ``[Match]`` names ``name`` (``exact``: only it)."""
    found = {}
    for path, text in sorted(listing.items(), key=lambda item: os.path.basename(item[0])):
        try:
            match = next((section for section in parse(text) if section.name == "Match"), None)
        except _ini.ParseError:
            continue
        tokens = " ".join(match.values("Name")).split() if match else []
        if tokens == [name]:
            found[path] = True
        elif any(fnmatch.fnmatchcase(name, token) for token in tokens):
            found[path] = False
    return found


def parse(text):
    return _ini.parse(text)


def check_extra(spec, field="extra"):
    """``extra`` (``Section.Key: value or [values]``, for the .network file) as a sorted tuple
    of ((section, key), (texts...))."""
    extra = spec.extra
    if extra is None:
        return ()
    if not isinstance(extra, dict):
        raise UnderlayError("must be a dictionary of Section.Key: value (for example Network.DNS)", field, extra)
    out = []
    for name, value in extra.items():
        section, dot, key = str(name).partition(".")
        if not dot or not _NAME.match(section) or not _NAME.match(key):
            raise UnderlayError(
                f"{name!r} is not a networkd setting: give Section.Key, for example Network.DNS or Link.RequiredForOnline",
                field, name)
        if key in OWNED.get(section, ()):
            raise UnderlayError(f"'{section}.{key}' is written from the module's own options; set it through them",
                                field, name)
        values = value if isinstance(value, list) else [value]
        out.append(((section, key), tuple(check_extra_value(f"{field}.{name}", item) for item in values)))
    return tuple(sorted(out))


# -- rendering -----------------------------------------------------------------------
def network_document(spec, existing, vlans=()):
    """The ``.network`` sections for ``spec``, keeping what ``existing`` (parsed, or None) holds."""
    preserve = spec.preserve_unmanaged
    old = _first_sections(existing)
    match = [("Name", spec.name)]
    if spec.hwaddr is not None:
        match.append(("MACAddress", spec.hwaddr.lower()))
    link = []
    if spec.mtu is not None and spec.type == "ethernet":
        link.append(("MTUBytes", str(spec.mtu)))
    if not spec.onboot:
        link.append(("ActivationPolicy", "manual"))
    network = [("VLAN", name) for name in _vlans(old, vlans)]
    if spec.address is not None:
        network.append(("Address", spec.address))
    if spec.bootproto == "dhcp":
        network.append(("DHCP", "ipv4"))
    extra = {}
    for (section, key), values in spec.extra or ():
        extra.setdefault(section, []).extend((key, value) for value in values)
    kept_addresses = _kept_addresses(spec, old.get("Network"))
    dhcp = spec.bootproto == "dhcp" or (spec.bootproto is None and preserve and _has(old, "Network", "DHCP"))
    if (not (spec.address or kept_addresses or dhcp) and "RequiredForOnline" not in dict(extra.get("Link", ()))):
        # a link without an address would hold systemd-networkd-wait-online until its timeout
        link.append(("RequiredForOnline", (old["Link"].first("RequiredForOnline") if preserve and "Link" in old
                                           else None) or "no"))
    managed = [_ini.Section("Match", match), _ini.Section("Link", link), _ini.Section("Network", network)]
    written = {section.name: {entry[0] for entry in section.entries} for section in managed}
    for section in managed:
        section.entries += extra.pop(section.name, [])
    managed += [_ini.Section(name, entries) for name, entries in extra.items()]
    extra_keys = {item[0] for item in spec.extra or ()}
    first_address = [True]  # the option owns the first Address=

    def keep(section, key, value):
        if section == "Network" and key == "Address":
            is_first, first_address[0] = first_address[0], False
            return preserve and (spec.address is None or (not is_first and value != spec.address))
        if (section, key) in extra_keys or key in written.get(section, ()):
            return False
        if section == "Network" and key == "DHCP":
            return preserve and spec.bootproto is None
        if (section, key) in (("Network", "VLAN"), ("Match", "Name"), ("Link", "ActivationPolicy")):
            return False  # VLAN= lines are already placed first
        return preserve

    return _ini.merge(managed, existing, keep, preserve)


def _first_sections(sections):
    first = {}
    for section in sections or []:
        first.setdefault(section.name, section)
    return first


def _has(first, section, key):
    return section in first and first[section].first(key) is not None


def _vlans(first, added):
    """The parent's ``VLAN=`` names: those in its file, in order, then ``added`` ones not there."""
    names = first["Network"].values("VLAN") if "Network" in first else []
    return names + [name for name in added if name not in names]


def _kept_addresses(spec, network):
    if network is None or not spec.preserve_unmanaged:
        return []
    found = network.values("Address")
    return found[1:] if spec.address is not None else found


def netdev_document(spec, existing):
    netdev = [("Name", spec.name), ("Kind", spec.type)]
    if spec.mtu is not None:
        netdev.append(("MTUBytes", str(spec.mtu)))
    managed = [_ini.Section("NetDev", netdev)]
    if spec.type == "vlan":
        vlan = [("Id", str(spec.vlan_id))]
        if spec.protocol == "802.1ad":
            vlan.append(("Protocol", "802.1ad"))
        managed.append(_ini.Section("VLAN", vlan))
    owned = {"NetDev": ("Name", "Kind", "MTUBytes"), "VLAN": ("Id", "Protocol")}

    def keep(section, key, _value):
        if key in owned.get(section, ()):
            return key == "MTUBytes" and spec.mtu is None and spec.preserve_unmanaged
        return spec.preserve_unmanaged

    return _ini.merge(managed, existing, keep, spec.preserve_unmanaged)


def with_vlan(sections, name, present=True):
    """A parent's ``.network`` sections with ``VLAN=name`` added (or removed), otherwise as they were."""
    sections = [_ini.Section(s.name, list(s.entries)) for s in sections]
    network = next((s for s in sections if s.name == "Network"), None)
    if not present:
        if network is not None:
            network.entries = [(k, v) for k, v in network.entries if not (k == "VLAN" and v == name)]
        return [s for s in sections if s.entries or s is not network]
    if network is None:
        network = _ini.Section("Network")
        position = 0
        for index, section in enumerate(sections):
            if section.name in ("Match", "Link"):
                position = index + 1
        sections.insert(position, network)
    last = max((i + 1 for i, entry in enumerate(network.entries) if entry[0] == "VLAN"), default=0)
    network.entries.insert(last, ("VLAN", name))
    return sections


# -- the format's interface (see _persist) ---------------------------------------------
def desired(spec, current):
    found = list(current)
    network, out = found[0], {}
    netdev = netdev_path(spec.directory, spec.name) if netdev_path(spec.directory, spec.name) in found else None
    if spec.state == "absent":
        out[network] = None
        if netdev:
            out[netdev] = None
    else:
        if netdev:  # the device first, then how it is configured
            out[netdev] = _ini.render(netdev_document(spec, existing(spec, netdev, current[netdev])))
        out[network] = _ini.render(network_document(spec, existing(spec, network, current[network])))
    if spec.type == "vlan" and spec.parent is not None:
        parent = found[-1]
        text = _parent_text(spec, parent, current[parent])
        if text is not None:
            out[parent] = text
    return out


def _parent_text(spec, path, snapshot):
    """The parent's ``.network`` naming (or, when absent, no longer naming) this VLAN."""
    present = spec.state == "present"
    if snapshot.kind != "file":
        if not present:
            return None  # nothing to take the VLAN out of
        parent = dataclasses.replace(spec, name=spec.parent, type="ethernet", parent=None, vlan_id=None, address=None,
                                     hwaddr=None, mtu=None, bootproto=None, extra=(), onboot=True)
        return _ini.render(network_document(parent, None, vlans=(spec.name,)))
    try:
        sections = parse(snapshot.text)
    except _ini.ParseError as err:
        raise UnderlayError(f"{path} (the parent's file, which must name the VLAN) does not parse: {err}; fix it",
                            "parent", spec.parent) from None
    names = [value for section in sections if section.name == "Network" for value in section.values("VLAN")]
    if (spec.name in names) == present:
        return snapshot.text
    return _ini.render(with_vlan(sections, spec.name, present))


FORMAT = _ini.Format(parse, "a systemd-networkd file")
existing = FORMAT.existing
describe = FORMAT.describe
variables = FORMAT.variables
