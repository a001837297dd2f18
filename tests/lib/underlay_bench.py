# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running bench/bench.py at small N from a test (the bench lane, and the vm lane's ipvlan
bench): one repetition, then the namespaces and /etc/netns entries it left are checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(REPO, "bench", "bench.py")
REPORT = os.path.join(REPO, "bench", "report.py")


def _listing(path):
    return set(os.listdir(path)) if os.path.isdir(path) else set()


def run_bench(tmp_path, *args):
    """bench.py with ``args`` (one repetition): ``(results, stdout)``; fails when it fails or
    leaves a ulb namespace or /etc/netns entry behind."""
    if os.geteuid() != 0:
        pytest.fail("the bench needs root (network namespaces); run it through scripts/test")
    before, files_before = _listing("/run/netns"), _listing("/etc/netns")
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, BENCH, "--reps", "1", "--out", str(out), *args], capture_output=True,
                          text=True, check=False, cwd=REPO)
    left = sorted(name for name in _listing("/run/netns") - before if name.startswith("ulb"))
    assert not left, f"the bench left namespaces behind: {left}"
    stale = sorted(name for name in _listing("/etc/netns") - files_before if name.startswith("ulb"))
    assert not stale, f"the bench left /etc/netns entries behind: {stale}"
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(out, encoding="utf-8") as handle:
        return json.load(handle), done.stdout


def measured(data):
    """{(driver, peer, phase)} of every sample that has a time."""
    return {(s["driver"], s["peer"], s["phase"]) for s in data["samples"] if s["seconds"] is not None}


def report(path):
    """bench/report.py's tables of the results file ``path``."""
    return subprocess.run([sys.executable, REPORT, str(path)], capture_output=True, text=True, check=True).stdout
