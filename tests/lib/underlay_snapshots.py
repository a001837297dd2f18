# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hardening suite's tools: whole-world snapshots (kernel, nftables and directories of
the test's own namespaces and paths), module runs that keep every byte of output (to look
for tracebacks), and the suite's counts, printed at the end of the pytest run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

import underlay_testlib as lib

TRACEBACK = "Traceback (most recent call last)"

# What the suite counts, in the order it prints them (conftest.py's pytest_terminal_summary),
# per part of the suite ("bad input", "fault injection"); cases marked xfail (known bugs
# fixed in other slices) are counted apart.
COUNTS = defaultdict(Counter)  # (part, known) -> figures


class World:
    """What a case may not change: the kernel and nftables ruleset of ``namespaces`` and
    every byte (and mode) of the files under ``paths``."""

    def __init__(self, namespaces, paths):
        self.namespaces = list(namespaces)
        self.paths = list(paths)

    def snapshot(self, settle=False):
        read = lib.kernel_snapshot if settle else lib._read_snapshot  # pylint: disable=protected-access
        return {
            "kernel": {ns: read(ns) for ns in self.namespaces},
            "nft": {ns: lib.nft_ruleset(ns) for ns in self.namespaces},
            "files": {path: lib.tree_snapshot(path) for path in self.paths},
        }

    def settle(self, pause=0.3):
        """Wait until two snapshots ``pause`` seconds apart agree (a lab that was just built)."""
        previous = self.snapshot(settle=True)
        while True:
            time.sleep(pause)
            current = self.snapshot(settle=True)
            if current == previous:
                return current
            previous = current

    def changes_since(self, before):
        """What differs from ``before`` (e.g. ``routes of ultab12h0``); a difference is read
        again once the kernel settled, so an IPv6 address arriving late is not mistaken."""
        after = self.snapshot()
        if after != before:
            after = self.snapshot(settle=True)
        found = [f"{part} of {where}" for part in ("nft", "files")
                 for where in before[part] if before[part][where] != after[part][where]]
        for ns, kernel in before["kernel"].items():
            found.extend(f"{part} of {ns}: {_changed(kernel[part], after['kernel'][ns][part])}"
                         for part in kernel if kernel[part] != after["kernel"][ns][part])
        return found


def _changed(before, after):
    """The entries (links, addresses or routes) only one of two kernel listings has."""
    old = {json.dumps(entry, sort_keys=True) for entry in before}
    new = {json.dumps(entry, sort_keys=True) for entry in after}
    return {"gone": sorted(old - new), "new": sorted(new - old)}


def module_process(module, args, env=None, check_mode=False):
    """Run ``module``'s real entry point with JSON args (as Ansible does on a host);
    returns the finished process, whatever it printed."""
    payload = dict(args, _ansible_check_mode=check_mode)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, handle)
    try:
        return subprocess.run(
            [sys.executable, "-m", f"ansible_collections.underlay.network.plugins.modules.{module}", handle.name],
            capture_output=True, text=True, env=dict(lib.ansible_env(), **(env or {})), check=False)
    finally:
        os.unlink(handle.name)


def module_result(proc):
    """The module's JSON result, or ``None`` when it printed none (it crashed)."""
    try:
        return json.loads(proc.stdout)
    except ValueError:
        return None


FATAL = re.compile(r"^fatal: \[[^\]]+\]: FAILED! => (\{.*\})$", re.MULTILINE)


def playbook_process(playbook, inventory=None):
    """Run ``playbook`` (a list of plays) with ansible-playbook, connection local, against
    ``inventory`` (a dict, as an inventory file holds it) or just localhost."""
    with tempfile.TemporaryDirectory(prefix="underlay-hardening-") as tmp:
        path = os.path.join(tmp, "play.yml")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(playbook, handle)
        hosts = "localhost,"
        if inventory is not None:
            hosts = os.path.join(tmp, "inventory.json")
            with open(hosts, "w", encoding="utf-8") as handle:
                json.dump(inventory, handle)
        argv = ["ansible-playbook", "-i", hosts, "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
                path]
        return subprocess.run(argv, capture_output=True, text=True, env=lib.ansible_env(), check=False)


def playbook_failure(proc):
    """The result of the task that failed (ansible-playbook's ``fatal:`` line), or ``None``.

    The callback leaves ``failed`` out of what it prints; the ``fatal:`` line says it.
    """
    found = FATAL.findall(proc.stdout)
    return dict(json.loads(found[-1]), failed=True) if found else None


def tally(part, known, **figures):
    """Add one case's figures to the counts of ``part`` (``known``: the case is marked xfail)."""
    counts = COUNTS[(part, known)]
    counts["cases tried"] += 1
    for name, value in figures.items():
        counts[name.replace("_", " ")] += int(value)


def summary_lines():
    """The counts as lines for the end of the pytest run; none if the suite did not run."""
    lines = []
    for part, known in sorted(COUNTS, key=lambda key: (key[0], key[1])):
        figures = ", ".join(f"{value} {name}" for name, value in COUNTS[(part, known)].items())
        label = f"  {part}, known bugs (xfail)" if known else part
        lines.append(f"{label}: {figures}")
    return lines
