# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's own nftables table, through ``nft``'s JSON interface (argv, JSON on stdin).

Everything lives in table ``ip underlay_network``: chain ``postrouting`` (NAT) and chain
``forward`` (filter), and the NAT chains ``prerouting`` and ``output`` (published ports), made
with the first published port's rule and deleted with the last. Each rule carries a comment
``underlay.network:NETWORK:PURPOSE:FINGERPRINT``
so a re-run finds exactly the rules of a network, and any change of what a rule says (subnet,
bridge name) shows as a different comment: the old rule is deleted, the new one added.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

TABLE = "underlay_network"
FAMILY = "ip"
PREFIX = "underlay.network:"
CHAINS = {
    "postrouting": {"type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"},
    "forward": {"type": "filter", "hook": "forward", "prio": 0, "policy": "accept"},
}
# made together with the first rule of either and deleted together with the last of both
# (published ports' DNAT), so an undone deletion lists them in the order they had
DNAT_CHAINS = {
    "prerouting": {"type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"},
    "output": {"type": "nat", "hook": "output", "prio": -100, "policy": "accept"},
}


def comment(network, purpose, fingerprint):
    return f"{PREFIX}{network}:{purpose}:{fingerprint}"


def owner(text):
    """The network a comment of ours names, else None."""
    if not text or not text.startswith(PREFIX):
        return None
    return text[len(PREFIX):].split(":", 1)[0]


def purpose(text):
    """The purpose a comment of ours names (``masquerade``), else None."""
    if not owner(text):
        return None
    parts = text[len(PREFIX):].split(":", 2)
    return parts[1] if len(parts) > 1 else None


def _match(op, left, right):
    return {"match": {"op": op, "left": left, "right": right}}


def _ifname(key, op, name):
    return _match(op, {"meta": {"key": key}}, name)


def masquerade_rule(network, subnet, bridge):
    """NAT what leaves the subnet through anything but its own bridge."""
    return {"chain": "postrouting", "comment": comment(network, "masquerade", f"{subnet}>{bridge}"),
            "expr": [_match("==", {"payload": {"protocol": "ip", "field": "saddr"}},
                            {"prefix": {"addr": str(subnet.network_address), "len": subnet.prefixlen}}),
                     _ifname("oifname", "!=", bridge), {"masquerade": None}]}


def isolation_rules(network, bridge):
    """An internal network: nothing is forwarded between its bridge and any other interface."""
    return [
        {"chain": "forward", "comment": comment(network, "internal-out", bridge),
         "expr": [_ifname("iifname", "==", bridge), _ifname("oifname", "!=", bridge), {"drop": None}]},
        {"chain": "forward", "comment": comment(network, "internal-in", bridge),
         "expr": [_ifname("oifname", "==", bridge), _ifname("iifname", "!=", bridge), {"drop": None}]},
    ]


class Nftables:
    """Reads and changes the collection's table in one namespace (``nsenter`` into it)."""

    def __init__(self, netns_path=None):
        self.netns_path = netns_path

    def _run(self, args, payload=None, needed_by=None):
        argv = ["nft", "-j"] + list(args)
        if self.netns_path is not None:
            argv = ["nsenter", f"--net={self.netns_path}", "--"] + argv
        for tool, package in (("nft", "nftables"), ("nsenter", "util-linux")):
            # looked up first: through nsenter a missing nft is only an exit status
            if tool in argv and shutil.which(tool) is None:
                raise UnderlayError(f"needs the '{tool}' command, which is not installed on the managed host"
                                    f" (package {package})", needed_by, True if needed_by else None)
        return subprocess.run(argv, input=payload, capture_output=True, text=True, check=False)

    def rules(self, needed_by=None):
        """``{comment: rule}`` of every rule of ours in the table (empty when there is none);
        ``needed_by`` names the option that needs them, for the message when nft is missing."""
        proc = self._run(["list", "table", FAMILY, TABLE], needed_by=needed_by)
        if proc.returncode != 0:
            if "No such file or directory" in proc.stderr:
                return {}
            raise UnderlayError(f"nft list table {FAMILY} {TABLE} failed: {proc.stderr.strip()}")
        found = {}
        for item in json.loads(proc.stdout).get("nftables", []):
            rule = item.get("rule")
            if rule and owner(rule.get("comment")):
                found[rule["comment"]] = {"handle": rule["handle"], "chain": rule["chain"], "expr": rule["expr"]}
        return found

    def _apply(self, commands, action):
        proc = self._run(["-f", "-"], json.dumps({"nftables": commands}))
        if proc.returncode != 0:
            raise UnderlayError(f"{action} failed: nft: {proc.stderr.strip()}")

    def apply(self, step):
        """Carry out ``step``: ``OPS[step.op]`` with the step (for its action) and its args."""
        operation = self.OPS.get(step.op)
        if operation is None:
            raise UnderlayError(f"{step.action} failed: nftables has no step '{step.op}'")
        operation(self, step, **step.args)

    def op_add_rule(self, step, rule, before=None):
        """Add ``rule`` at the end of its chain, or in front of the rule of ours whose comment
        is ``before`` when that one is there (an undone deletion puts a rule back where it was)."""
        commands = [{"add": {"table": {"family": FAMILY, "name": TABLE}}}]
        chains = dict(CHAINS)
        if rule["chain"] in DNAT_CHAINS:
            chains.update(DNAT_CHAINS)
        for name, spec in chains.items():
            chain = {"family": FAMILY, "table": TABLE, "name": name}
            chain.update(spec)
            commands.append({"add": {"chain": chain}})
        body = {"family": FAMILY, "table": TABLE}
        body.update(rule)
        successor = self.rules().get(before) if before else None
        if successor is not None and successor["chain"] == rule["chain"]:
            body["handle"] = successor["handle"]
            commands.append({"insert": {"rule": body}})
        else:
            commands.append({"add": {"rule": body}})
        self._apply(commands, step.action)

    def op_delete_rule(self, step, comment_text):
        current = self.rules().get(comment_text)
        if current is None:
            return
        self._apply([{"delete": {"rule": {"family": FAMILY, "table": TABLE, "chain": current["chain"],
                                          "handle": current["handle"]}}}], step.action)
        left = self.rules()
        if not left:
            self._apply([{"delete": {"table": {"family": FAMILY, "name": TABLE}}}], step.action)
        elif current["chain"] in DNAT_CHAINS and not any(r["chain"] in DNAT_CHAINS for r in left.values()):
            self._apply([{"delete": {"chain": {"family": FAMILY, "table": TABLE, "name": name}}}
                         for name in DNAT_CHAINS], step.action)

    OPS = {"nft_add_rule": op_add_rule, "nft_delete_rule": op_delete_rule}  # step op -> method
