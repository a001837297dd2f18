# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vlan_subinterface module shell (argument spec, check mode, diff, exit) against a fake adapter."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from fake_adapter import installed, link

from ansible_collections.underlay.network.plugins.modules import vlan_subinterface


@pytest.fixture
def kernel(monkeypatch):
    return installed(monkeypatch, link("veth0"))


def run(capsys, args, check_mode=False, diff=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            vlan_subinterface.main()
    return json.loads(capsys.readouterr().out)


def test_create_then_unchanged(kernel, capsys):
    first = run(capsys, {"parent": "veth0", "vlan_id": 100, "addresses": ["10.0.0.5/24"]}, diff=True)
    assert first["changed"] is True
    assert first["interface"]["vlan_id"] == 100 and first["interface"]["addresses"] == ["10.0.0.5/24"]
    assert first["diff"]["before"] == {"state": "absent"}
    assert first["actions"][0] == "create veth0.100 as VLAN 100 (802.1Q) on 'veth0'"
    second = run(capsys, {"parent": "veth0", "vlan_id": 100, "addresses": ["10.0.0.5/24"]})
    assert second["changed"] is False and second["actions"] == []
    assert "diff" not in second


def test_check_mode_changes_nothing(kernel, capsys):
    result = run(capsys, {"parent": "veth0", "vlan_id": 100}, check_mode=True, diff=True)
    assert result["changed"] is True and result["actions"]
    assert result["diff"]["after"]["name"] == "veth0.100"
    assert set(kernel.links) == {"veth0"} and kernel.log == []


@pytest.mark.parametrize("args, fragment", [
    ({"parent": "veth0", "vlan_id": 0}, "vlan_id: 0 is out of range"),
    ({"parent": "veth0", "vlan_id": "abc"}, "vlan_id"),
    ({"parent": "veth0", "vlan_id": 1, "protocol": "802.1X"}, "protocol"),
    ({"vlan_id": 1}, "parent"),
    ({"parent": "veth9", "vlan_id": 1}, "parent: interface 'veth9' does not exist"),
    ({"parent": "veth0", "vlan_id": 1, "netns": "ghost"}, "netns: network namespace 'ghost' does not exist"),
])
def test_bad_input_fails_with_named_field(kernel, capsys, args, fragment):
    result = run(capsys, args)
    assert result["failed"] is True and fragment in result["msg"]
    assert kernel.log == [] and set(kernel.links) == {"veth0"}
