# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and normalisation of option values.

Pure functions: no AnsibleModule, no pyroute2. Each takes the option's name so the
error it raises names the field and the offending value.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

IFNAME_MAX = 15  # IFNAMSIZ - 1
VLAN_PROTOCOLS = {"802.1Q": 0x8100, "802.1ad": 0x88A8}
STATES = ("present", "absent")  # every module's state
ADMIN_STATES = ("up", "down")
NETNS_DIR = "/run/netns"
_IFNAME_FORBIDDEN = re.compile(r"[/:\s]")
_VLAN_NAME = re.compile(r"^(?P<base>.*)\.(?P<vid>[0-9]+)$")  # IF.VID, the kernel's own VLAN naming


def interface_name(field, value):
    """Return ``value`` if it is a valid Linux interface name (what the kernel accepts)."""
    if not isinstance(value, str) or value == "":
        raise UnderlayError("an interface name must be a non-empty string", field, value)
    if len(value) > IFNAME_MAX:
        raise UnderlayError(
            f"'{value}' is {len(value)} characters long; Linux interface names have at most {IFNAME_MAX}",
            field, value)
    if value in (".", ".."):
        raise UnderlayError(f"'{value}' is not a valid interface name", field, value)
    bad = _IFNAME_FORBIDDEN.search(value)
    if bad:
        raise UnderlayError(
            f"'{value}' contains {bad.group(0)!r}; interface names may not contain '/', ':' or whitespace",
            field, value)
    return value


def integer(field, value, low, high):
    """Return ``value`` as an int within [low, high]."""
    if isinstance(value, bool):
        raise UnderlayError(f"{value!r} is not an integer", field, value)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UnderlayError(f"{value!r} is not an integer", field, value) from None
    if isinstance(value, float) and value != number:
        raise UnderlayError(f"{value!r} is not an integer", field, value)
    if not low <= number <= high:
        raise UnderlayError(f"{number} is out of range ({low}-{high})", field, value)
    return number


def vlan_id(field, value):
    return integer(field, value, 1, 4094)


def mtu(field, value):
    if value is None:
        return None
    return integer(field, value, 68, 65535)


def labels(field, value):
    """A network's ``labels`` (Docker's ``--label``): a dict of strings to strings, ``{}`` when
    not given; returned sorted by key, so a re-run compares equal whatever the order given."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UnderlayError(f"{value!r} is not a dict of labels (names to strings)", field, value)
    for key, text in value.items():
        if not isinstance(key, str) or not key.strip():
            raise UnderlayError(f"{key!r} is not a label name (a non-empty string)", field, key)
        if not isinstance(text, str):
            raise UnderlayError(f"{text!r} is not a string (quote it: labels are strings, as Docker's are)",
                                f"{field}.{key}", text)
    return dict(sorted(value.items()))


def vlan_name_parts(name):
    """``(IF, VID)`` of a name of the form ``IF.VID`` (``ens33.21`` -> ``("ens33", 21)``), else None."""
    match = _VLAN_NAME.match(name or "")
    return (match.group("base"), int(match.group("vid"))) if match else None


def boolean(field, value):
    if not isinstance(value, bool):
        raise UnderlayError(f"{value!r} is not a boolean", field, value)
    return value


def choice(field, value, choices):
    if value not in choices:
        raise UnderlayError(f"{value!r} is not one of {', '.join(choices)}", field, value)
    return value


def state(value, field="state"):
    """An item's ``state``, ``present`` when not given."""
    return choice(field, value or "present", STATES)


def vlan_protocol(field, value):
    return choice(field, value, tuple(VLAN_PROTOCOLS))


def host_address(field, value):
    """Parse ``ADDRESS/PREFIX`` (an address on an interface) into its normalised text.

    ``10.0.0.5/24`` stays as it is; ``10.0.0.5`` means ``/32``; IPv6 is compressed.
    """
    if not isinstance(value, str) or not value.strip():
        raise UnderlayError(f"{value!r} is not an address in CIDR notation (e.g. 10.0.0.5/24)", field, value)
    try:
        iface = ipaddress.ip_interface(value.strip())
    except ValueError:
        raise UnderlayError(f"'{value}' is not an address in CIDR notation (e.g. 10.0.0.5/24)", field, value) from None
    net = iface.network
    if net.prefixlen < net.max_prefixlen - 1 and iface.ip in (net.network_address, net.broadcast_address) \
            and iface.version == 4:
        what = "network" if iface.ip == net.network_address else "broadcast"
        raise UnderlayError(f"'{value}' is the {what} address of {net}, not a host address", field, value)
    return f"{iface.ip}/{net.prefixlen}"


def host_addresses(field, values):
    """Normalise a list of host addresses; ``None`` means "not managed"."""
    if values is None:
        return None
    if not isinstance(values, (list, tuple)):
        raise UnderlayError("must be a list of addresses in CIDR notation", field, values)
    seen = {}
    for item in values:
        normal = host_address(field, item)
        ip = normal.split("/", 1)[0]
        if ip in seen and seen[ip] != normal:
            raise UnderlayError(f"{ip} is given twice with different prefixes ({seen[ip]}, {normal})", field, values)
        seen[ip] = normal
    return sorted(set(seen.values()), key=address_sort_key)


def address_sort_key(cidr):
    iface = ipaddress.ip_interface(cidr)
    return (iface.version, int(iface.ip), iface.network.prefixlen)


def netns_path(field, value):
    """Map the ``netns`` option to a filesystem path: a name under /run/netns or an absolute path.

    Existence is checked by the netlink adapter when it opens the namespace; namespaces are
    never created implicitly.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise UnderlayError("must be a namespace name or an absolute path", field, value)
    if value.startswith("/"):
        return value
    if "/" in value or value in (".", "..") or _IFNAME_FORBIDDEN.search(value):
        raise UnderlayError(
            f"'{value}' is neither a name under {NETNS_DIR} nor an absolute path", field, value)
    return f"{NETNS_DIR}/{value}"
