# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published ports: Docker's ``-p`` syntax parsed into port mappings, and their Docker view. Pure.

``[HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]``, either port a range ``A-B`` (both ranges of
one length: a range maps port to port, as Docker expands it). No ``HOST_IP`` means every
address of the host (Docker's ``0.0.0.0``); ``127.0.0.1`` means the host's loopback only.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

PROTOCOLS = ("tcp", "udp")
ANY_HOST_IP = "0.0.0.0"
_PORTS = r"(\d+)(?:-(\d+))?"
_SYNTAX = re.compile(rf"^(?:(?P<ip>[^:\[\]]+):)?{_PORTS}:{_PORTS}(?:/(?P<proto>[A-Za-z0-9]+))?$")


@dataclass(frozen=True)
class PortMapping:
    """One host port forwarded to one container port; ``host_ip`` None: every host address."""

    protocol: str
    host_port: int
    container_port: int
    host_ip: Optional[str] = None

    @property
    def shown_host_ip(self):
        return self.host_ip or ANY_HOST_IP

    @property
    def key(self):
        """Docker's key for the container side: ``80/tcp``."""
        return f"{self.container_port}/{self.protocol}"

    def sort_key(self):
        return (self.host_port, self.protocol, self.host_ip or "")

    def describe(self):
        return f"{self.shown_host_ip}:{self.host_port}->{self.container_port}/{self.protocol}"

    def collides(self, other):
        """Whether both would take the same host port (one address, or every address, in common)."""
        return (self.protocol == other.protocol and self.host_port == other.host_port
                and (self.host_ip is None or other.host_ip is None or self.host_ip == other.host_ip))


def _port(field, text, value):
    number = int(value)
    if not 1 <= number <= 65535:
        raise UnderlayError(f"{text!r}: port {number} is out of range (1-65535)", field, text)
    return number


def _span(field, text, first, last):
    low = _port(field, text, first)
    high = _port(field, text, last) if last is not None else low
    if high < low:
        raise UnderlayError(f"{text!r}: the range {low}-{high} runs backwards", field, text)
    return range(low, high + 1)


def _host_ip(field, text, value):
    if value is None or value == ANY_HOST_IP:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise UnderlayError(f"{text!r}: {value!r} is not an IP address of the host", field, text) from None
    if address.version != 4:
        raise UnderlayError(f"{text!r}: only IPv4 host addresses can be published", field, text)
    return str(address)


def parse(field, text):
    """The mappings one ``publish`` entry declares (a range gives one per port)."""
    if not isinstance(text, str):
        raise UnderlayError(f"{text!r} is not a string in Docker's -p syntax", field, text)
    found = _SYNTAX.match(text.strip())
    if found is None:
        raise UnderlayError(f"{text!r} is not [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]", field, text)
    host_ip = _host_ip(field, text, found.group("ip"))
    host_ports = _span(field, text, found.group(2), found.group(3))
    container_ports = _span(field, text, found.group(4), found.group(5))
    if len(host_ports) != len(container_ports):
        raise UnderlayError(f"{text!r}: the host range has {len(host_ports)} ports and the container range"
                            f" {len(container_ports)}; they must be of one length", field, text)
    protocol = (found.group("proto") or "tcp").lower()
    if protocol not in PROTOCOLS:
        raise UnderlayError(f"{text!r}: protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}", field, text)
    return [PortMapping(protocol, host_port, container_port, host_ip)
            for host_port, container_port in zip(host_ports, container_ports)]


def parse_all(field, values):
    """Every entry of a ``publish`` list, sorted; a host port taken twice in it is refused."""
    mappings = []
    for value in values or ():
        for mapping in parse(field, value):
            clash = next((other for other in mappings if other.collides(mapping)), None)
            if clash is not None:
                raise UnderlayError(f"host port {mapping.host_port}/{mapping.protocol} is published twice"
                                    f" ({clash.describe()} and {mapping.describe()})", field, value)
            mappings.append(mapping)
    return tuple(sorted(mappings, key=PortMapping.sort_key))


def docker_ports(mappings):
    """Docker's ``NetworkSettings.Ports``: ``{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}``."""
    ports = {}
    for mapping in sorted(mappings, key=PortMapping.sort_key):
        ports.setdefault(mapping.key, []).append({"HostIp": mapping.shown_host_ip, "HostPort": str(mapping.host_port)})
    return ports


def to_strings(mappings):
    """The mappings as stored in a lease: one ``HOST_IP:HOST_PORT:CONTAINER_PORT/PROTO`` each."""
    return [f"{m.shown_host_ip}:{m.host_port}:{m.container_port}/{m.protocol}" for m in sorted(mappings, key=PortMapping.sort_key)]
