# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pyroute2 is imported only by the rare steps that need it (creating a VLAN, a network's own
macvlan or bridge link): reads (network_info), making an endpoint and a container_endpoint run
that changes nothing never import it, and work on a host without it. Each module runs through
its real entry point against namespaces made by the test, and reports the pyroute2 modules it
ended with; "without pyroute2" hides the installed one from the module's Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

import underlay_testlib as lib

# runs the module as `python -m` would, then writes which pyroute2 modules were loaded
PROBE = """
import atexit, json, os, runpy, sys
if os.environ.get("UNDERLAY_PROBE_HIDE_PYROUTE2"):
    sys.modules["pyroute2"] = None  # as if not installed: find_spec finds nothing, import fails
def report():
    with open(os.environ["UNDERLAY_PROBE_OUT"], "w", encoding="utf-8") as handle:
        json.dump(sorted(name for name, module in sys.modules.items()
                         if name.split(".")[0] == "pyroute2" and module is not None), handle)
atexit.register(report)
module = "ansible_collections.underlay.network.plugins.modules." + sys.argv.pop(1)
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def run_probed(module, args, without_pyroute2=False):
    """``(result, pyroute2 modules loaded)`` of one module run."""
    with tempfile.TemporaryDirectory() as scratch:
        request, loaded = os.path.join(scratch, "args.json"), os.path.join(scratch, "loaded.json")
        with open(request, "w", encoding="utf-8") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=False, _ansible_diff=False)}, handle)
        env = dict(lib.ansible_env(), UNDERLAY_PROBE_OUT=loaded)
        if without_pyroute2:
            env["UNDERLAY_PROBE_HIDE_PYROUTE2"] = "1"
        proc = subprocess.run([sys.executable, "-c", PROBE, module, request], capture_output=True,
                              text=True, env=env, check=False)
        try:
            result = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError(f"module {module} printed no JSON: {proc.stdout}\n{proc.stderr}") from None
        with open(loaded, encoding="utf-8") as handle:
            return result, json.load(handle)


@pytest.fixture
def lab(namespaces, tmp_path):
    host = namespaces.host_with_parent()
    container = namespaces.new("c")
    return {"host": host, "container": container, "state_dir": str(tmp_path / "state")}


def test_only_the_rare_steps_import_pyroute2(lab):
    common = {"netns": lab["host"], "state_dir": lab["state_dir"]}
    bridge = dict(common, name="br", bridge_name="br0", subnet="10.6.0.0/24")
    network = dict(common, name="mv", parent="veth0", subnet="10.5.0.0/24")
    endpoint = dict(common, container_netns=lab["container"], network="mv")

    # creating a bridge needs pyroute2 (the probe sees it), finding it as wanted does not
    result, loaded = run_probed("bridge_network", bridge)
    assert result.get("changed") is True and not result.get("failed"), result
    assert "pyroute2" in loaded
    result, loaded = run_probed("bridge_network", bridge)
    assert (result.get("changed"), result.get("failed"), loaded) == (False, None, [])

    result, loaded = run_probed("macvlan_network", network)
    assert result.get("changed") is True and not result.get("failed"), result
    # a new endpoint is made with the hand codec alone
    result, loaded = run_probed("container_endpoint", endpoint)
    assert result.get("changed") is True and not result.get("failed"), result
    assert loaded == []
    result, loaded = run_probed("container_endpoint", endpoint)
    assert (result.get("changed"), result.get("failed"), loaded) == (False, None, [])

    result, loaded = run_probed("network_info", common)
    assert not result.get("failed"), result
    assert sorted((item["Name"], item["drift"]) for item in result["networks"]) == [("br", []), ("mv", [])]
    assert loaded == []


def test_reads_and_endpoints_work_without_pyroute2_and_a_rare_step_names_it(lab):
    common = {"netns": lab["host"], "state_dir": lab["state_dir"]}
    network = dict(common, name="mv", parent="veth0", subnet="10.5.0.0/24")
    endpoint = dict(common, container_netns=lab["container"], network="mv")
    result, _loaded = run_probed("macvlan_network", network, without_pyroute2=True)
    assert result.get("changed") is True and not result.get("failed"), result
    result, loaded = run_probed("container_endpoint", endpoint, without_pyroute2=True)
    assert result.get("changed") is True and not result.get("failed"), result
    result, loaded = run_probed("container_endpoint", endpoint, without_pyroute2=True)
    assert (result.get("changed"), result.get("failed"), loaded) == (False, None, [])
    before = lib.kernel_snapshot(lab["host"])

    result, loaded = run_probed("bridge_network", dict(common, name="br", bridge_name="br0", subnet="10.6.0.0/24"),
                                without_pyroute2=True)
    assert result.get("failed") is True and loaded == [], result
    assert "Failed to import the required Python library (pyroute2)" in result["msg"], result["msg"]
    assert lib.kernel_snapshot(lab["host"]) == before  # what was done before the step is undone

    result, loaded = run_probed("network_info", common, without_pyroute2=True)
    assert not result.get("failed"), result
    assert [(item["Name"], item["drift"]) for item in result["networks"]] == [("mv", [])]
    assert loaded == []
