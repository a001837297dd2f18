# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entering a network namespace: setns(2) for as long as a socket is opened or a /proc/sys
file is touched, then back.

A netlink socket stays bound to the namespace it was made in, so entering only to open it is
far cheaper than a helper process per namespace. The netlink adapter and the names resolver
(its sockets inside each endpoint's namespace) use it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

CLONE_NEWNET = 0x40000000
_LIBC = []


def _libc():
    if not _LIBC:
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


def _setns(fd):
    if _libc().setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def entered(fd):
    """Run the body with this thread in the network namespace ``fd`` (then back)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns(fd)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


@contextlib.contextmanager
def inside(netns_path):
    """Run the body in namespace ``netns_path`` (None: where the thread is already)."""
    if netns_path is None:
        yield
        return
    target = os.open(netns_path, os.O_RDONLY)
    try:
        with entered(target):
            yield
    finally:
        os.close(target)


def open_inside(netns_path, label, factory):
    """``factory()`` called inside namespace ``netns_path`` (a socket made there stays bound to
    it); ``label`` names the namespace in errors."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        try:
            target = os.open(netns_path, os.O_RDONLY)
        except OSError as err:
            raise UnderlayError(f"cannot open network namespace {netns_path}: {err.strerror}",
                                "netns", label) from None
        try:
            try:
                _setns(target)
            except OSError as err:
                raise UnderlayError(f"cannot enter {netns_path}: {err.strerror} (is it a network namespace?)",
                                    "netns", label) from None
            try:
                return factory()
            finally:
                _setns(own)
        finally:
            os.close(target)
    finally:
        os.close(own)


def enter_for_good(netns_path):
    """Move this thread into ``netns_path`` and stay (a process that is to live in a host that is
    a named namespace: call it before starting threads, which inherit it)."""
    target = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
    finally:
        os.close(target)


def ipv6_endpoint(name):
    """IPv6 on for an endpoint of a dual-stack network, in the namespace the thread is in: no
    router advertisements accepted (``accept_ra = 0``) and no SLAAC address (``autoconf = 0``),
    set before ``disable_ipv6 = 0`` so the link never takes either: its address, gateway and
    routes are the network's."""
    for key, value in (("accept_ra", "0"), ("autoconf", "0"), ("disable_ipv6", "0")):
        path = f"/proc/sys/net/ipv6/conf/{name}/{key}"
        try:
            with open(path, "w", encoding="ascii") as handle:
                handle.write(value)
        except OSError as err:
            raise UnderlayError(f"cannot set net.ipv6.conf.{name}.{key} to {value} for IPv6 on '{name}': "
                                f"{err.strerror}") from None


def ipv6_off(name):
    """``net.ipv6.conf.<name>.disable_ipv6 = 1`` in the namespace the thread is in.

    Endpoints of IPv4-only networks, as Docker (26 and later) does on IPv4-only networks, get
    no IPv6 at all: no link-local address, no router solicitations, no SLAAC
    address from a router on the VLAN, and no multicast (DAD, MLD) flooded to every other
    endpoint of the network each time one comes up. Done while the link is still down (an
    endpoint of a dual-stack network takes IPv6 on again before it comes up: ``ipv6_endpoint``).
    A kernel without IPv6 has nothing to turn off."""
    try:
        with open(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "w", encoding="ascii") as handle:
            handle.write("1")
    except FileNotFoundError:
        if os.path.isdir("/proc/sys/net/ipv6"):
            raise UnderlayError(f"cannot turn IPv6 off on '{name}': it has no IPv6 settings") from None
    except OSError as err:
        raise UnderlayError(f"cannot turn IPv6 off on '{name}' (net.ipv6.conf.{name}.disable_ipv6): "
                            f"{err.strerror}") from None
