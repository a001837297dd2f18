# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role's meta/argument_specs.yml renders with ansible-doc and documents each option."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, ".cache", "collections")


@pytest.mark.parametrize("role", ["trunk_host", "networks", "endpoints"])
def test_ansible_doc_renders_each_role(role):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    done = subprocess.run([ansible_doc, "-t", "role", "--json", f"underlay.network.{role}"], capture_output=True,
                          text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)[f"underlay.network.{role}"]["entry_points"]["main"]

    def undocumented(options, prefix=""):
        for name, spec in options.items():
            if not spec.get("description"):
                yield prefix + name
            yield from undocumented(spec.get("options") or {}, f"{prefix}{name}.")

    assert list(undocumented(doc["options"])) == []
    assert {"underlay_netns", "underlay_state_dir"} <= set(doc["options"])


def test_trunk_host_documents_the_persist_formats():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    done = subprocess.run([ansible_doc, "-t", "role", "--json", "underlay.network.trunk_host"], capture_output=True,
                          text=True, env=env, check=True)
    options = json.loads(done.stdout)["underlay.network.trunk_host"]["entry_points"]["main"]["options"]
    assert options["underlay_persist_format"]["choices"] == ["ifcfg", "nmconnection", "networkd", "auto", "none"]
    assert options["underlay_persist_format"]["default"] == "ifcfg"
    assert options["underlay_persist_dir"]["default"] == ""
    assert options["underlay_ifcfg_dir"]["default"] == "/etc/sysconfig/network-scripts"
    vlan = options["underlay_trunks"]["options"]["vlans"]["options"]
    assert vlan["protocol"]["choices"] == ["802.1Q", "802.1ad"]
    with open(os.path.join(REPO, "roles", "trunk_host", "defaults", "main.yml"), encoding="utf-8") as stream:
        defaults = stream.read()
    assert "underlay_persist_format: ifcfg\n" in defaults and 'underlay_persist_dir: ""\n' in defaults
