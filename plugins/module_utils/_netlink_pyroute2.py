# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rare, attribute-rich link operations, through pyroute2: creating a VLAN, a network's
own macvlan (host access) or bridge link, changing a macvlan's mode.

The only module that imports pyroute2, and only when one of these steps runs (importing it
costs a module run about 0.1 s; reads and the frequent steps never need it). A host without
pyroute2 learns so from the first such step (``MissingLibraryError``, which the module shell
reports through missing_required_lib).
"""

from __future__ import annotations

import errno
import os

from ansible_collections.underlay.network.plugins.module_utils import _netns
from ansible_collections.underlay.network.plugins.module_utils._errors import (
    MissingLibraryError,
    UnderlayError,
)
from ansible_collections.underlay.network.plugins.module_utils._rtnl_codec import MACVLAN_MODES, RtnlError
from ansible_collections.underlay.network.plugins.module_utils._validation import VLAN_PROTOCOLS


class PyRoute2:
    """pyroute2's IPRoute of the current namespace, its NetlinkError turned into ``RtnlError``."""

    def __init__(self):
        try:
            from pyroute2 import IPRoute  # pylint: disable=import-outside-toplevel
        except ImportError as err:
            raise MissingLibraryError("pyroute2", err) from None
        self._ipr = IPRoute()

    def close(self):
        self._ipr.close()

    def link(self, *args, **kwargs):
        from pyroute2.netlink.exceptions import NetlinkError as PyRoute2Error  # pylint: disable=import-outside-toplevel
        try:
            return self._ipr.link(*args, **kwargs)
        except PyRoute2Error as err:
            raise RtnlError(err.code, os.strerror(err.code) if err.code else str(err)) from None


class RareLinkOps:
    """The pyroute2 half of ``NetlinkAdapter``'s steps (``self._pyroute2`` opened on first use)."""

    @property
    def _ipr(self):
        """pyroute2's IPRoute in this namespace, opened on first use."""
        if self._pyroute2 is None:
            self._pyroute2 = PyRoute2() if self.netns_path is None else \
                _netns.open_inside(self.netns_path, self.netns_label, PyRoute2)
        return self._pyroute2

    def op_link_add_vlan(self, name, parent, vlan_id, protocol, mtu=None):
        args = {"ifname": name, "kind": "vlan", "link": self._index(parent),
                "vlan_id": vlan_id, "vlan_protocol": VLAN_PROTOCOLS[protocol]}
        if mtu is not None:
            args["mtu"] = mtu
        try:
            self._ipr.link("add", **args)
        except RtnlError as err:
            if err.code == errno.EOPNOTSUPP:
                raise UnderlayError(
                    f"cannot create VLAN sub-interface '{name}' (VLAN {vlan_id} on '{parent}'): this kernel "
                    "has no 802.1Q VLAN support (EOPNOTSUPP; it needs CONFIG_VLAN_8021Q or the 8021q module)",
                    "vlan_id", vlan_id) from None
            raise

    def op_link_add_macvlan(self, name, parent, mode):
        self._ipr.link("add", ifname=name, kind="macvlan", link=self._index(parent),
                       macvlan_mode=MACVLAN_MODES[mode])

    def op_link_add_bridge(self, name, mtu=None):
        """A bridge; its ``mtu`` is set once it exists, as ``ip link set mtu`` would: the kernel
        then keeps it as ports join (an MTU given at creation is lowered to the smallest port's)."""
        self._ipr.link("add", ifname=name, kind="bridge")
        if mtu is not None:
            with self._undo_on_failure(self, name):  # the step made the bridge: a failure takes it away
                self._ipr.link("set", index=self._index(name), mtu=mtu)

    def op_link_set_macvlan_mode(self, name, mode):
        self._ipr.link("set", index=self._index(name), kind="macvlan", macvlan_mode=MACVLAN_MODES[mode])

    OPS = {
        "link_add_vlan": op_link_add_vlan,
        "link_add_macvlan": op_link_add_macvlan,
        "link_add_bridge": op_link_add_bridge,
        "link_set_macvlan_mode": op_link_set_macvlan_mode,
    }
