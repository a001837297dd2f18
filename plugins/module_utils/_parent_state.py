# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parent preflight of the networks that hang off a parent interface (macvlan, ipvlan):
the parent's state as the result shows it (``network.parent_state``) and the warnings, not
failures, when it is down or has no carrier (a user would otherwise only see pings fail). Pure."""

from __future__ import annotations

DOWN = ("down", "lowerlayerdown", "notpresent")  # operational states that carry nothing


def parent_state(link):
    """``{oper_state, carrier, promiscuous, mtu}`` of the parent (a LinkSnapshot), or None when
    it does not exist (yet)."""
    if link is None:
        return None
    return {"oper_state": link.oper_state, "carrier": link.carrier, "promiscuous": link.promiscuous,
            "mtu": link.mtu}


def with_parent_state(view, parent):
    """A network's inspect view with the ``parent_state`` of its parent (an empty view, after
    removal, stays empty)."""
    return dict(view, parent_state=parent_state(parent)) if view else view


def warnings(network, parent_name, parent, base=None):
    """Why the endpoints of ``network`` will not reach anything through ``parent`` (or through
    ``base``, the interface a missing ``IF.VID`` parent is to be made on), one line, or none."""
    link = parent if parent is not None else base
    if link is None:
        return []
    what = f"parent '{parent_name}'" if parent is not None else \
        f"'{link.name}' (where the parent '{parent_name}' is to be created)"
    reasons = []
    if link.admin_state != "up":
        reasons.append("is administratively down")
    elif link.oper_state in DOWN:
        reasons.append(f"is down (operational state {link.oper_state})")
    if link.carrier is False:
        reasons.append("has no carrier")
    if not reasons:
        return []
    return [f"{what} of network '{network}' {' and '.join(reasons)}: its endpoints reach nothing through it"
            " until it is up with a carrier (see network.parent_state)"]
