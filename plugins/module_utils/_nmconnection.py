# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""persistent_interface, format nmconnection: a NetworkManager keyfile
(``DIR/NAME.nmconnection``, mode 0600: NetworkManager ignores keyfiles others can read).

Pure: text in, text out (the planner is _persist). Read with _ini's line reader (see its
docstring for why not configparser), with the keyfile's own rules on top: a section or a
key appears once (GKeyFile's model), and ``[802-3-ethernet]`` is read as its alias
``[ethernet]`` (NetworkManager accepts both and writes the alias).

Written, in this order: ``[connection]`` ``id`` (the name, or the id already in the file),
``uuid`` (the one in the file, else one derived from the name so reruns give the same
bytes), ``type``, ``interface-name``, ``autoconnect``; ``[ethernet]`` ``mac-address``,
``mtu``; ``[vlan]`` ``id``, ``parent``, ``protocol`` (only for 802.1ad: NetworkManager
1.42 and later read it, 802.1Q is its default); ``[bridge]``; ``[ipv4]`` ``method``,
``address1``. The address option owns ``address1``; further ``addressN`` keys are kept.
"""

from __future__ import annotations

import os
import re
import uuid

from ansible_collections.underlay.network.plugins.module_utils import _ini
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._persist_spec import check_extra_value

MODE = 0o600
ALIASES = {"802-3-ethernet": "ethernet"}
_TYPE_ALIASES = {"ethernet": "802-3-ethernet"}
UUID_NAMESPACE = uuid.UUID("6c1a8f4e-9b1e-4d3a-8f7c-1e2d3c4b5a69")
# Keys written from the module's options: ``extra`` may not name them.
OWNED = {
    "connection": ("type", "interface-name", "autoconnect"),
    "ethernet": ("mac-address", "mtu"),
    "vlan": ("id", "parent", "protocol"),
    "ipv4": ("method", "address1"),
}
_ADDRESS_KEY = re.compile(r"^address(es)?[0-9]*$")
_SECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


LISTED = ".nmconnection"


def paths(spec):
    return (os.path.join(spec.directory, f"{spec.name}.nmconnection"),)


def locate(spec, listing):
    """The keyfile for ``spec``, given the keyfiles in its directory (``{path: text}``).

    When ``NAME.nmconnection`` does not exist but another keyfile there is a profile for this
    interface (``interface-name=NAME``, of the same type), that profile is the one edited (with
    ``state: present``): a second profile for the device would compete with it, and the address it
    holds could be lost. Further profiles for the interface are named in a warning.
    """
    own = paths(spec)[0]
    profiles = []
    for path, text in listing.items():
        try:
            connection = next((s for s in parse(text) if s.name == "connection"), None)
        except _ini.ParseError:
            continue
        if connection is not None and connection.first("interface-name") == spec.name and path != own:
            profiles.append((path, connection.first("type")))
    chosen = own
    if own not in listing and spec.state == "present":
        chosen = next((path for path, kind in profiles if kind in (spec.type, _TYPE_ALIASES.get(spec.type))), own)
    warnings = [f"{path} is another NetworkManager profile for {spec.name}; it competes with {chosen}: remove one"
                for path, _kind in profiles if path != chosen]
    return (chosen,), warnings


# -- reading -------------------------------------------------------------------------
def parse(text):
    """The keyfile's sections (raises ``_ini.ParseError``; a section or key twice is an error)."""
    sections = _ini.parse(text, continuation_error=False)
    seen = set()
    for section in sections:
        section.name = ALIASES.get(section.name, section.name)
        if section.name in seen:
            raise _ini.ParseError(None, f"[{section.name}] appears twice")
        seen.add(section.name)
        keys = set()
        for key, _value in section.entries:
            if key in keys:
                raise _ini.ParseError(None, f"[{section.name}] sets {key} twice")
            keys.add(key)
    return sections


def escape(value):
    """GKeyFile's escapes: a backslash doubled, a tab as ``\\t``, a leading blank as ``\\s``."""
    value = value.replace("\\", "\\\\").replace("\t", "\\t")
    return "\\s" + value[1:] if value.startswith(" ") else value


def check_extra(spec, field="extra"):
    """``extra`` as a sorted tuple of ((section, key), text): keys are ``section.key``."""
    extra = spec.extra
    if extra is None:
        return ()
    if not isinstance(extra, dict):
        raise UnderlayError("must be a dictionary of section.key: value (for example ipv4.dns)", field, extra)
    out = []
    for name, value in extra.items():
        section, dot, key = str(name).partition(".")
        section = ALIASES.get(section, section)
        if not dot or not _SECTION_NAME.match(section) or not _KEY_NAME.match(key):
            raise UnderlayError(
                f"{name!r} is not a keyfile setting: give section.key, for example ipv4.dns or connection.zone",
                field, name)
        if key in OWNED.get(section, ()):
            raise UnderlayError(f"'{section}.{key}' is written from the module's own options; set it through them",
                                field, name)
        out.append(((section, key), escape(check_extra_value(f"{field}.{name}", value, ("true", "false")))))
    return tuple(sorted(out))


# -- rendering -----------------------------------------------------------------------
def document(spec, existing):
    """The keyfile's sections for ``spec``, keeping what ``existing`` (parsed, or None) holds."""
    old = {section.name: section for section in existing or []}
    kept = old if spec.preserve_unmanaged else {}
    chosen = dict(spec.extra or ())
    extra = {}
    for (section, key), value in spec.extra or ():
        if (section, key) not in (("connection", "id"), ("connection", "uuid")):
            extra.setdefault(section, []).append((key, value))

    connection = [
        ("id", chosen.get(("connection", "id")) or _first(kept, "connection", "id") or spec.name),
        ("uuid", chosen.get(("connection", "uuid")) or _first(old, "connection", "uuid")
         or str(uuid.uuid5(UUID_NAMESPACE, spec.name))),
        ("type", spec.type),
        ("interface-name", spec.name),
        ("autoconnect", "true" if spec.onboot else "false"),
    ]
    ethernet = []
    if spec.hwaddr is not None:
        ethernet.append(("mac-address", spec.hwaddr))
    if spec.mtu is not None:
        ethernet.append(("mtu", str(spec.mtu)))
    managed = [_ini.Section("connection", connection), _ini.Section("ethernet", ethernet)]
    if spec.type == "vlan":
        vlan = [("id", str(spec.vlan_id)), ("parent", spec.parent)]
        if spec.protocol == "802.1ad":
            vlan.append(("protocol", "802.1ad"))
        managed.append(_ini.Section("vlan", vlan))
    if spec.type == "bridge":
        managed.append(_ini.Section("bridge"))
    ipv4 = _ipv4(spec, kept.get("ipv4"))
    managed.append(_ini.Section("ipv4", ipv4))
    if ipv4[0] == ("method", "disabled") and ("ipv6", "method") not in chosen \
            and not (kept.get("ipv6") and kept["ipv6"].first("method")):
        # an address-less link (a trunk, a VLAN only macvlans hang off): NetworkManager's default
        # ipv6.method=auto waits for a router advertisement, fails the activation without one
        # and deletes the device it made (and every macvlan on it), again and again
        managed.append(_ini.Section("ipv6", [("method", "disabled")]))
    written = {section.name: {entry[0] for entry in section.entries} for section in managed}
    for section in managed:
        section.entries += extra.pop(section.name, [])
    managed += [_ini.Section(name, entries) for name, entries in extra.items()]

    def keep(section, key, _value):
        if key in written.get(section, ()) or (section, key) in chosen or (section, key) == ("vlan", "protocol"):
            return False
        if section == "connection" and key in ("id", "uuid"):
            return False
        if section == "ipv4" and _ADDRESS_KEY.match(key):
            return False  # placed by _ipv4
        return spec.preserve_unmanaged

    return _ini.merge(managed, existing, keep, spec.preserve_unmanaged, always=("bridge",) if spec.type == "bridge" else ())


def _first(sections, name, key):
    section = sections.get(name)
    return section.first(key) if section else None


def _ipv4(spec, old):
    """``method`` and the addresses: ``address1`` from the option, other kept addresses after it."""
    addresses = []
    if spec.address is not None:
        addresses.append(("address1", spec.address))
    if old is not None:
        for key, value in old.entries:
            if _ADDRESS_KEY.match(key) and not (spec.address is not None and key == "address1"):
                if spec.address is None or value.split(",")[0] != spec.address:
                    addresses.append((key, value))
    method = old.first("method") if (old is not None and spec.bootproto is None) else None
    if spec.bootproto == "dhcp":
        method = "auto"
    elif method is None or (method == "disabled" and addresses) or (method == "manual" and not addresses):
        method = "manual" if addresses else "disabled"
    return [("method", method)] + addresses


def render(spec, existing):
    return _ini.render(document(spec, existing))


# -- the format's interface (see _persist) ---------------------------------------------
def desired(spec, current):
    path = next(iter(current))
    if spec.state == "absent":
        return {path: None}
    return {path: render(spec, existing(spec, path, current[path]))}


FORMAT = _ini.Format(parse, "a NetworkManager keyfile")
existing = FORMAT.existing
describe = FORMAT.describe
variables = FORMAT.variables
