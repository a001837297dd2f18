# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin: validate the fleet's plan on the controller, before any host changes.

Each host's role variables are checked against the roles' own ``meta/argument_specs.yml``
(so a typo or a missing key fails here, not half-way through a run), then the plan as a
whole by ``_fleet.validate_fleet``. Nothing runs on the managed hosts.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.six import string_types
from ansible.plugins.action import ActionBase

from ansible_collections.underlay.network.plugins.module_utils._fleet import validate_fleet
from ansible_collections.underlay.network.plugins.module_utils._fleet_model import Problem

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

ROLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")
# Per-host role variables; the fleet-wide underlay_endpoints is checked once.
ROLE_VARIABLES = {
    "trunk_host": ("underlay_trunks",),
    "networks": ("underlay_networks",),
}


def role_options(role):
    """The option specs of ``role``'s entry point ``main``, as ArgumentSpecValidator wants them."""
    path = os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")
    with open(path, encoding="utf-8") as stream:
        specs = yaml.safe_load(stream)
    return _strip_docs(specs["argument_specs"]["main"]["options"])


def _strip_docs(options):
    """Drop documentation-only keys (description) that ArgumentSpecValidator does not know."""
    stripped = {}
    for name, spec in options.items():
        spec = {key: value for key, value in spec.items() if key not in ("description", "version_added")}
        if "options" in spec:
            spec["options"] = _strip_docs(spec["options"])
        stripped[name] = spec
    return stripped


def plain(value):
    """A copy built of plain dicts, lists and scalars (hostvars hand out lazy/tagged types)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, string_types):
        return str(value)
    return value


def _item_problems(items, name, options, role, host_of):
    """Check each item of the list variable ``name`` against the role's suboptions."""
    problems = []
    for index, item in enumerate(items):
        where = f"{name}[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(host_of(item), where, item, f"{item!r} is not a dictionary"))
            continue
        outcome = ArgumentSpecValidator(options).validate(item)
        problems.extend(Problem(host_of(item), where, item, f"{message} (role {role})")
                        for message in outcome.error_messages)
    return problems


class ActionModule(ActionBase):
    """Validate the plan of the inventory's hosts; fail naming every problem found."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("hosts", "endpoints", "check_role_arguments"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        result["changed"] = False
        args = self._task.args
        hostvars = task_vars.get("hostvars", {})
        inventory = list(task_vars.get("groups", {}).get("all", []))
        hosts = args.get("hosts")
        if hosts is None:
            hosts = inventory
        elif isinstance(hosts, string_types):
            hosts = [hosts]
        hosts = [str(host) for host in hosts]
        unknown = [host for host in hosts if host not in hostvars]
        if unknown:
            result.update(failed=True, msg=f"hosts: not in the inventory: {', '.join(unknown)}")
            return result

        problems = []
        fleet = {}
        for host in hosts:
            variables = {name: plain(hostvars[host].get(name, [])) for names in ROLE_VARIABLES.values()
                         for name in names}
            if args.get("check_role_arguments", True):
                problems.extend(self._role_argument_problems(host, variables))
            fleet[host] = {"trunks": variables["underlay_trunks"], "networks": variables["underlay_networks"],
                           "persist_format": plain(hostvars[host].get("underlay_persist_format", "ifcfg"))}
        endpoints = args.get("endpoints")
        if endpoints is None:
            endpoints = task_vars.get("underlay_endpoints", [])
        endpoints = plain(endpoints)
        if args.get("check_role_arguments", True):
            problems.extend(self._endpoint_problems(endpoints))
        if problems:  # the plan's shape is wrong: semantic checks would only repeat it
            return self._report(result, problems, {})
        found, summary = validate_fleet(fleet, endpoints, inventory_hosts=hostvars.keys())
        return self._report(result, found, summary)

    @staticmethod
    def _role_argument_problems(host, variables):
        """Each list item on its own, so a problem names the item (``underlay_networks[2]``)."""
        problems = []
        for role, names in ROLE_VARIABLES.items():
            options = role_options(role)
            for name in names:
                spec = options[name]
                if spec.get("type") == "list" and spec.get("elements") == "dict" and isinstance(variables[name], list):
                    problems.extend(_item_problems(variables[name], name, spec["options"], role, lambda item: host))
                    continue
                outcome = ArgumentSpecValidator({name: spec}).validate({name: variables[name]})
                problems.extend(Problem(host, name, variables[name], f"{message} (role {role})")
                                for message in outcome.error_messages)
        return problems

    @staticmethod
    def _endpoint_problems(endpoints):
        if not isinstance(endpoints, list):
            return [Problem("fleet", "underlay_endpoints", endpoints, "must be a list of dictionaries")]
        spec = role_options("endpoints")["underlay_endpoints"]
        return _item_problems(endpoints, "underlay_endpoints", spec["options"], "endpoints",
                              lambda item: str(item.get("host")) if isinstance(item, dict) and item.get("host")
                              else "fleet")

    @staticmethod
    def _report(result, problems, summary):
        result["problems"] = [{"host": p.host, "where": p.where, "value": p.value, "message": p.message}
                              for p in problems]
        result["segments"] = summary
        if problems:
            result["failed"] = True
            lines = "\n".join(f"  - {p}" for p in problems)
            result["msg"] = f"the fleet plan has {len(problems)} problem(s); no host was changed:\n{lines}"
        else:
            hosts = sorted({item["host"] for items in summary.values() for item in items})
            result["msg"] = f"fleet plan valid: {sum(map(len, summary.values()))} network(s) on {len(hosts)} host(s)"
        return result
