# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vlan_subinterface: spec (validated params), planner and the ``interface`` view.

Pure: kernel state arrives as ``LinkSnapshot`` objects read by the adapter.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step


@dataclass(frozen=True)
class VlanSpec:
    """The desired sub-interface; ``None`` fields are "leave as the kernel has it"."""

    name: str
    parent: Optional[str]
    vlan_id: int
    protocol: str = "802.1Q"
    mtu: Optional[int] = None
    addresses: Optional[Tuple[str, ...]] = None
    admin_state: str = "up"
    state: str = "present"
    recreate: bool = False
    netns: Optional[str] = None
    netns_path: Optional[str] = None


@dataclass(frozen=True)
class VlanCurrent:
    link: object = None      # LinkSnapshot of ``name`` or None
    parent: object = None    # LinkSnapshot of ``parent`` or None


def build_spec(params):
    """Validate module params into a ``VlanSpec`` (raises ``UnderlayError`` naming the field)."""
    state = v.state(params.get("state"))
    vlan_id = v.vlan_id("vlan_id", params.get("vlan_id"))
    parent = params.get("parent")
    if parent is not None:
        v.interface_name("parent", parent)
    elif state == "present":
        raise UnderlayError("is required when state is present", "parent", None)
    name = params.get("name")
    if name is None:
        if parent is None:
            raise UnderlayError("name or parent is required to identify the sub-interface", "name", None)
        name = f"{parent}.{vlan_id}"
        if len(name) > v.IFNAME_MAX:
            raise UnderlayError(
                f"the default name '{name}' (<parent>.<vlan_id>) is {len(name)} characters long; Linux "
                f"interface names have at most {v.IFNAME_MAX}: give a shorter name", "name", name)
    v.interface_name("name", name)
    if parent is not None and name == parent:
        raise UnderlayError(f"'{name}' is the parent itself", "name", name)
    addresses = v.host_addresses("addresses", params.get("addresses"))
    netns = params.get("netns")
    return VlanSpec(
        name=name,
        parent=parent,
        vlan_id=vlan_id,
        protocol=v.vlan_protocol("protocol", params.get("protocol") or "802.1Q"),
        mtu=v.mtu("mtu", params.get("mtu")),
        addresses=tuple(addresses) if addresses is not None else None,
        admin_state=v.choice("admin_state", params.get("admin_state") or "up", v.ADMIN_STATES),
        state=state,
        recreate=bool(params.get("recreate")),
        netns=netns,
        netns_path=v.netns_path("netns", netns),
    )


def read(adapter, spec):
    link = adapter.link(spec.name)
    parent = adapter.link(spec.parent) if spec.parent and spec.state == "present" else None
    return VlanCurrent(link=link, parent=parent)


def temporary_name(name):
    """A deterministic scratch name for building a replacement link before swapping it in."""
    return "ul" + hashlib.sha256(name.encode()).hexdigest()[:10]


def managed_view(link):
    """The fields this module manages, as shown in ``--diff``."""
    if link is None:
        return {"state": "absent"}
    return {
        "name": link.name,
        "kind": link.kind,
        "parent": link.parent,
        "vlan_id": link.vlan_id,
        "protocol": link.protocol,
        "mtu": link.mtu,
        "admin_state": link.admin_state,
        "addresses": list(managed_addresses(link.addresses)),
        "state": "present",
    }


def interface_view(link):
    """The ``interface`` return value."""
    if link is None:
        return {}
    return {
        "name": link.name,
        "index": link.index,
        "parent": link.parent,
        "vlan_id": link.vlan_id,
        "protocol": link.protocol,
        "mtu": link.mtu,
        "mac_address": link.mac_address,
        "admin_state": link.admin_state,
        "addresses": list(link.addresses),
    }


def managed_addresses(addresses):
    """Addresses the ``addresses`` option governs: all but IPv6 link-local ones (kernel-made)."""
    kept = []
    for address in addresses:
        ip = ipaddress.ip_interface(address).ip
        if not (ip.version == 6 and ip.is_link_local):
            kept.append(address)
    return tuple(kept)


def _describe(spec):
    return f"VLAN {spec.vlan_id} ({spec.protocol}) on '{spec.parent}'"


def _mismatch(spec, link):
    """Why the existing ``link`` is not the sub-interface ``spec`` describes (None if it is)."""
    if link.kind != "vlan":
        return f"a {link.kind or 'physical'} link, not a VLAN sub-interface"
    wrong = []
    if spec.parent is not None and link.parent != spec.parent:
        wrong.append(f"parent '{link.parent}'")
    if link.vlan_id != spec.vlan_id:
        wrong.append(f"VLAN id {link.vlan_id}")
    if spec.state == "present" and link.protocol != spec.protocol:
        wrong.append(f"protocol {link.protocol}")
    return ("a VLAN sub-interface with " + ", ".join(wrong)) if wrong else None


def plan(spec, current):
    """Decide every step for ``spec`` given ``current`` (nothing is touched here)."""
    link = current.link
    before = managed_view(link)
    if spec.state == "absent":
        return _plan_absent(spec, link, before)

    parent = current.parent
    if parent is None:
        where = f"network namespace '{spec.netns}'" if spec.netns else "the host's network namespace"
        raise UnderlayError(f"interface '{spec.parent}' does not exist in {where}", "parent", spec.parent)
    if spec.mtu is not None and spec.mtu > parent.mtu:
        raise UnderlayError(
            f"{spec.mtu} is larger than the MTU of the parent '{spec.parent}' ({parent.mtu});"
            " raise the parent's MTU first", "mtu", spec.mtu)

    mismatch = _mismatch(spec, link) if link is not None else None
    if mismatch and not spec.recreate:
        raise UnderlayError(
            f"'{spec.name}' already exists as {mismatch} (wanted {_describe(spec)});"
            " set recreate: true to replace it", "name", spec.name)

    after = {
        "name": spec.name,
        "kind": "vlan",
        "parent": spec.parent,
        "vlan_id": spec.vlan_id,
        "protocol": spec.protocol,
        "mtu": spec.mtu if spec.mtu is not None else (link.mtu if link and not mismatch else parent.mtu),
        "admin_state": spec.admin_state,
        "addresses": list(spec.addresses) if spec.addresses is not None
        else (list(managed_addresses(link.addresses)) if link and not mismatch else []),
        "state": "present",
    }
    result = Plan(before=before, after=after)
    if link is None:
        _plan_create(result, spec, spec.name)
        _plan_bring_up(result, spec)
    elif mismatch:
        _plan_replace(result, spec, link, mismatch)
    else:
        _plan_update(result, spec, link)
    return result


def _plan_absent(spec, link, before):
    result = Plan(before=before, after={"state": "absent"})
    if link is None:
        return result
    mismatch = _mismatch(spec, link)
    if mismatch:
        raise UnderlayError(
            f"'{spec.name}' is {mismatch}, not {_describe(spec) if spec.parent else f'VLAN {spec.vlan_id}'};"
            " refusing to remove it", "name", spec.name)
    result.add(f"remove VLAN sub-interface '{spec.name}'", "link_del", name=spec.name)
    return result


def _plan_create(result, spec, name, final_name=None):
    """Steps that build the sub-interface under ``name`` (addresses before bring-up)."""
    result.add(
        f"create {name if final_name is None else f'temporary {name}'} as {_describe(spec)}"
        + (f" with MTU {spec.mtu}" if spec.mtu is not None else ""),
        "link_add_vlan",
        undo=Step(f"remove '{name}'", "link_del", {"name": name}),
        name=name, parent=spec.parent, vlan_id=spec.vlan_id, protocol=spec.protocol, mtu=spec.mtu)
    for address in spec.addresses or ():
        result.add(f"add address {address} to '{name}'", "addr_add", name=name, address=address)


def _plan_replace(result, spec, link, mismatch):
    """Build the replacement under a scratch name first, so a failed create changes nothing."""
    scratch = temporary_name(spec.name)
    _plan_create(result, spec, scratch, final_name=spec.name)
    result.add(f"remove '{spec.name}' ({mismatch})", "link_del", name=spec.name)
    result.add(f"rename '{scratch}' to '{spec.name}'", "link_rename",
               undo=Step(f"rename '{spec.name}' back to '{scratch}'", "link_rename",
                         {"name": spec.name, "new_name": scratch}),
               name=scratch, new_name=spec.name)
    _plan_bring_up(result, spec)


def _plan_bring_up(result, spec):
    """A new link starts down: bring it up (last, once addresses are in place) if wanted."""
    if spec.admin_state == "up":
        result.add(f"set '{spec.name}' up", "link_set",
                   undo=Step(f"set '{spec.name}' down", "link_set", {"name": spec.name, "admin_state": "down"}),
                   name=spec.name, admin_state="up")


def _plan_update(result, spec, link):
    if spec.mtu is not None and spec.mtu != link.mtu:
        result.add(f"set MTU of '{spec.name}' from {link.mtu} to {spec.mtu}", "link_set",
                   undo=Step(f"restore MTU {link.mtu} of '{spec.name}'", "link_set",
                             {"name": spec.name, "mtu": link.mtu}),
                   name=spec.name, mtu=spec.mtu)
    if spec.addresses is not None:
        have = set(managed_addresses(link.addresses))
        want = set(spec.addresses)
        # remove before adding: deleting a primary IPv4 address also drops the
        # secondaries of its subnet, which could include one just added
        for address in sorted(have - want, key=v.address_sort_key):
            result.add(f"remove address {address} from '{spec.name}'", "addr_del",
                       undo=Step(f"restore address {address} on '{spec.name}'", "addr_add",
                                 {"name": spec.name, "address": address}),
                       name=spec.name, address=address)
        for address in sorted(want - have, key=v.address_sort_key):
            result.add(f"add address {address} to '{spec.name}'", "addr_add",
                       undo=Step(f"remove address {address} from '{spec.name}'", "addr_del",
                                 {"name": spec.name, "address": address}),
                       name=spec.name, address=address)
    if spec.admin_state != link.admin_state:
        result.add(f"set '{spec.name}' {spec.admin_state}", "link_set",
                   undo=Step(f"set '{spec.name}' {link.admin_state} again", "link_set",
                             {"name": spec.name, "admin_state": link.admin_state}),
                   name=spec.name, admin_state=spec.admin_state)


def predicted_interface(spec, current, planned):
    """What ``interface`` will look like after ``planned`` (check mode's return)."""
    if spec.state == "absent":
        return {}
    kept = current.link if current.link is not None and _mismatch(spec, current.link) is None else None
    view = {key: planned.after[key] for key in ("name", "parent", "vlan_id", "protocol", "mtu", "admin_state")}
    view["index"] = kept.index if kept else None
    view["mac_address"] = kept.mac_address if kept else None
    view["addresses"] = planned.after["addresses"]
    return view
