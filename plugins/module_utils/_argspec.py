# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument-spec pieces the module shells share, with their choices and defaults taken
from the engine's own constants (so a shell and the spec builder behind it cannot disagree).
Plain dicts, as ``AnsibleModule(argument_spec=...)`` takes them; each call returns new ones."""

from __future__ import annotations

from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._store import DEFAULT_STATE_DIR


def state():
    return dict(type="str", choices=list(v.STATES), default="present")


def netns():
    """``netns``: every module that touches the kernel."""
    return dict(netns=dict(type="str"))


def stored():
    """``netns`` and ``state_dir``: the modules that keep network definitions and leases."""
    return dict(netns(), state_dir=dict(type="path", default=DEFAULT_STATE_DIR))


def network(**own):
    """A network module's options (Docker's ``network create``): the shared ones and ``own``."""
    return dict(
        name=dict(type="str", required=True),
        subnet=dict(type="str"),
        gateway=dict(type="str"),
        ip_range=dict(type="str"),
        aux_addresses=dict(type="dict", default={}),
        ipv6_subnet=dict(type="str"),
        ipv6_gateway=dict(type="str"),
        ipv6_range=dict(type="str"),
        internal=dict(type="bool", default=False),
        dns=dict(type="bool", default=True),
        mtu=dict(type="int"),
        labels=dict(type="dict", default={}),
        force=dict(type="bool", default=False),
        state=state(),
        **stored(),
        **own,
    )


def parent_network(driver):
    """The options of a network on a parent interface (macvlan_network, ipvlan_network): the
    shared ones and ``driver``'s (an ``_macvlan.LinkDriver``) modes and flags."""
    own = dict(
        parent=dict(type="str"),
        mode=dict(type="str", choices=list(driver.modes), default=driver.modes[0]),
        host_access=dict(type="dict", options=dict(
            ifname=dict(type="str", required=True),
            address=dict(type="str", required=True),
        )),
    )
    if driver.flags:
        own["flag"] = dict(type="str", choices=list(driver.flags), default=driver.flags[0])
    return network(**own)


# what a network on a parent needs when it is to be there
PARENT_NETWORK_REQUIRED_IF = [("state", "present", ("parent", "subnet"))]
