# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gratuitous ARP an endpoint announces itself with (and its IPv6 counterpart, the
unsolicited neighbour advertisement), and the pool that closes its packet sockets.

A packet socket takes the kernel an RCU grace period to close, so the sockets are closed by a
pool of threads, many at once (sharing one grace period), instead of one after another.
"""

from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor

MAX_CLOSING_PACKET_SOCKETS = 256
_CLOSER_THREADS = 64


def gratuitous_arp_frame(mac, ip):
    """An ARP request from ``mac``/``ip`` (bytes) for itself, to broadcast."""
    return (b"\xff" * 6 + mac + b"\x08\x06"              # Ethernet: broadcast, ARP
            + b"\x00\x01\x08\x00\x06\x04\x00\x01"      # Ethernet/IPv4, request
            + mac + ip + b"\x00" * 6 + ip)                  # sender = target = itself


ICMPV6_NEIGHBOUR_ADVERTISEMENT = 136
NA_OVERRIDE = 0x20  # the O flag: replace a cached link-layer address
ND_OPT_TARGET_LINKADDR = 2


def unsolicited_na_message(mac, ip6):
    """An unsolicited neighbour advertisement of ``ip6`` at ``mac`` (bytes), override set,
    solicited not (RFC 4861 4.4, 7.2.6): the ICMPv6 message with a zero checksum, which a raw
    ICMPv6 socket fills in."""
    return (bytes([ICMPV6_NEIGHBOUR_ADVERTISEMENT, 0, 0, 0, NA_OVERRIDE, 0, 0, 0]) + ip6
            + bytes([ND_OPT_TARGET_LINKADDR, 1]) + mac)


class SocketCloser:
    """Closes sockets in a pool of threads (started on first use), keeping at most
    MAX_CLOSING_PACKET_SOCKETS waiting to close; ``shutdown`` waits for all of them."""

    def __init__(self):
        self._pool = None
        self._closing = collections.deque()

    def close_later(self, sock):
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=_CLOSER_THREADS, thread_name_prefix="underlay-close")
        self._closing.append(self._pool.submit(sock.close))
        while len(self._closing) > MAX_CLOSING_PACKET_SOCKETS:
            self._closing.popleft().result()

    def shutdown(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
            self._closing.clear()
