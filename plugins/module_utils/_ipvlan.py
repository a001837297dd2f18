# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipvlan_network (Docker's ``-d ipvlan``): a macvlan network's planner (``_macvlan``) with the
ipvlan ``LinkDriver``. Pure.

Every endpoint shares the parent's MAC address, so a NIC or hypervisor that accepts one MAC
per port carries it. Modes (Docker's ``ipvlan_mode``): ``l2`` (the endpoints are on the
parent's segment, ARP and all), ``l3`` and ``l3s`` (the host routes: no broadcast, the
endpoints' default route is their interface and the upstream router needs a route to the
subnet through the host). Flags (``ipvlan_flag``): ``bridge``, ``private``, ``vepa``. The
kernel keeps one mode and flag per parent, for all its ipvlans. What its endpoints get in the
routed modes is container_endpoint's (``_endpoint_steps.routed``).
"""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils import _macvlan

DRIVER = "ipvlan"
MODES = ("l2", "l3", "l3s")
FLAGS = ("bridge", "private", "vepa")

IPVLAN = _macvlan.LinkDriver(
    name=DRIVER, modes=MODES, flags=FLAGS, shim=("l2", "bridge"),
    shim_why="the host access interface is an ipvlan of the same parent, and the kernel keeps one mode and"
             " flag for all ipvlans of a parent; only in L2 mode with flag bridge does it pass traffic"
             " between them (the host's and its containers') locally")


def build_spec(params):
    return _macvlan.build_spec(params, IPVLAN)


read = _macvlan.read
plan = _macvlan.plan
report = _macvlan.report
predict = _macvlan.predict
options = IPVLAN.options
stored_params = _macvlan.stored_params
