# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner: params -> spec -> read -> plan -> (apply) -> result, for every module.

This is the only place in the collection that looks at check mode: a plan is always
computed in full, and check mode simply stops before applying it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from ansible_collections.underlay.network.plugins.module_utils._files import FileSystem
from ansible_collections.underlay.network.plugins.module_utils._netlink import NetlinkAdapter
from ansible_collections.underlay.network.plugins.module_utils._nftables import Nftables
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir
from ansible_collections.underlay.network.plugins.module_utils._transaction import apply_steps
from ansible_collections.underlay.network.plugins.module_utils._workspace import Workspace

# Replaced by the unit tests with a fake adapter; everything else uses the kernel.
adapter_factory = NetlinkAdapter


def open_kernel(spec):
    """The kernel of the spec's namespace (modules without stored state)."""
    return adapter_factory(spec.netns_path, spec.netns)


def open_workspace(spec):
    """Kernel plus the state store, locked (the network and endpoint modules)."""
    return Workspace(adapter_factory(spec.netns_path, spec.netns), StateDir(spec.state_dir),
                     Nftables(spec.netns_path))


def open_files(spec):  # pylint: disable=unused-argument
    """The file system (persistent_interface): snapshots of files, atomic writes."""
    return FileSystem()


@dataclass(frozen=True)
class Resource:
    """How one module maps onto the pipeline.

    ``key`` names the module's main return value (or computes it from the spec); when it
    is ``None`` the value is a dict whose items are returned at the top level;
    ``build_spec(params)`` validates;
    ``read(adapter, spec)`` snapshots the kernel; ``plan(spec, current)`` decides;
    ``report(spec, current)`` renders the return value from a fresh read;
    ``predict(spec, current, plan)`` renders it from a plan that was not applied;
    ``open(spec)`` gives the context the steps are applied to;
    ``reread(adapter, spec, current)``, when given, reads back after applying only what
    ``report`` uses (else ``read`` runs again).
    """

    key: str
    build_spec: Callable
    read: Callable
    plan: Callable
    report: Callable
    predict: Callable
    open: Callable = open_kernel
    reread: Optional[Callable] = None


def run(resource, params, check_mode=False, diff=False):
    """Run ``resource`` for ``params``; returns the module result dict (raises UnderlayError)."""
    spec = resource.build_spec(params)
    with resource.open(spec) as adapter:
        current = resource.read(adapter, spec)
        planned = resource.plan(spec, current)
        if not planned.steps:
            value = resource.report(spec, current)
        elif check_mode:
            value = resource.predict(spec, current, planned)
        else:
            apply_steps(adapter, planned.steps)
            after = resource.reread(adapter, spec, current) if resource.reread else resource.read(adapter, spec)
            value = resource.report(spec, after)
    key = resource.key(spec) if callable(resource.key) else resource.key
    result = {"changed": planned.changed, "actions": planned.actions}
    if planned.warnings:
        result["warnings"] = list(planned.warnings)
    if key is None:
        result.update(value)
    else:
        result[key] = value
    if diff:
        result["diff"] = {"before": planned.before, "after": planned.after}
        for header in ("before_header", "after_header"):
            if getattr(planned, header) is not None:
                result["diff"][header] = getattr(planned, header)
    return result
