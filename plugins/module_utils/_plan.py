# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans: the ordered kernel operations a module decided on, before anything is done.

A planner is a pure function ``plan(desired, current) -> Plan``. Check mode is "compute the
plan and stop"; ``--diff`` is the plan's ``before``/``after``; applying walks ``steps`` and,
on failure, walks the ``undo`` of every step already done in reverse (see _transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union


@dataclass(frozen=True)
class Step:
    """One operation for an adapter: ``op`` names it, ``args`` are its keywords.

    Each adapter maps the ops it carries out to their methods in a table (``NetlinkAdapter.OPS``,
    ``Nftables.OPS``, ``_files.FILE_OPS``, ``_workspace.STORE_OPS``); an ``in_netns`` argument
    makes a kernel step act in that namespace.

    ``action`` is the human-readable line reported in ``actions``; ``undo`` is the step
    that reverses this one, or a tuple of steps applied in order (re-creating a removed
    endpoint takes several); ``None`` when it needs no reversal or cannot have one.
    """

    action: str
    op: str
    args: Dict[str, Any] = field(default_factory=dict)
    undo: Union["Step", Tuple["Step", ...], None] = None


@dataclass
class Plan:
    """What to do (``steps``) and how the managed fields look before and after.

    ``warnings`` are things the user should know that do not stop the run (Ansible shows
    them). ``before``/``after`` are usually dicts of the managed fields; a module managing a file
    gives its text instead, with ``before_header``/``after_header`` naming it (Ansible's
    ``--diff`` output then shows a unified diff of the text).
    """

    before: Any
    after: Any
    steps: List[Step] = field(default_factory=list)
    before_header: Optional[str] = None
    after_header: Optional[str] = None
    warnings: List[str] = field(default_factory=list)

    @property
    def changed(self):
        return bool(self.steps)

    @property
    def actions(self):
        return [step.action for step in self.steps]

    def add(self, action, op, undo=None, **args):
        self.steps.append(Step(action=action, op=op, args=args, undo=undo))
