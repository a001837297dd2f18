# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from fake_adapter import FakeKernel, link

from ansible_collections.underlay.network.plugins.module_utils import _vlan
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._plan import Step
from ansible_collections.underlay.network.plugins.module_utils._transaction import apply_steps


def test_failure_after_link_creation_undoes_it():
    kernel = FakeKernel(link("veth0"))
    kernel.fail_on = "addr_add"
    s = _vlan.build_spec({"parent": "veth0", "vlan_id": 100, "addresses": ["10.0.0.5/24"]})
    planned = _vlan.plan(s, _vlan.VlanCurrent(None, kernel.links["veth0"]))
    with pytest.raises(UnderlayError) as err:
        apply_steps(kernel.adapter(), planned.steps)
    assert "injected failure" in str(err.value)
    assert "rolled back: remove 'veth0.100'" in str(err.value)
    assert set(kernel.links) == {"veth0"}


def test_failed_in_place_change_restores_previous_values():
    old = link("veth0.100", kind="vlan", parent="veth0", vlan_id=100, protocol="802.1Q",
               mtu=1500, addresses=("10.0.0.5/24",))
    kernel = FakeKernel(link("veth0"), old)
    kernel.fail_on = "addr_add"
    s = _vlan.build_spec({"parent": "veth0", "vlan_id": 100, "mtu": 1400, "addresses": ["10.0.0.6/24"]})
    planned = _vlan.plan(s, _vlan.VlanCurrent(old, kernel.links["veth0"]))
    with pytest.raises(UnderlayError):
        apply_steps(kernel.adapter(), planned.steps)
    assert kernel.links["veth0.100"] == old


def test_step_without_undo_is_reported_as_not_rolled_back():
    kernel = FakeKernel(link("veth0"), link("veth0.100", kind="veth"))
    kernel.fail_on = "link_rename"
    s = _vlan.build_spec({"parent": "veth0", "vlan_id": 100, "recreate": True})
    planned = _vlan.plan(s, _vlan.VlanCurrent(kernel.links["veth0.100"], kernel.links["veth0"]))
    with pytest.raises(UnderlayError) as err:
        apply_steps(kernel.adapter(), planned.steps)
    assert "NOT rolled back: remove 'veth0.100'" in str(err.value)
    assert _vlan.temporary_name("veth0.100") not in kernel.links


def test_unexpected_exception_is_wrapped_and_rolled_back():
    class Exploding:
        def __init__(self):
            self.applied = []

        def apply(self, step):
            if step.op == "boom":
                raise RuntimeError("kaput")
            self.applied.append(step.op)

    from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step
    planned = Plan(before={}, after={})
    planned.add("first", "one", undo=Step("undo first", "undo_one"))
    planned.add("second", "boom")
    adapter = Exploding()
    with pytest.raises(UnderlayError, match="second failed: kaput; rolled back: undo first"):
        apply_steps(adapter, planned.steps)
    assert adapter.applied == ["one", "undo_one"]


def test_fault_injection_hook_fails_after_the_nth_step_and_undoes_it(monkeypatch):
    """UNDERLAY_TEST_FAIL_AFTER_STEP (the hardening suite's hook) runs the real undo path."""
    from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step
    planned = Plan(before={}, after={})
    for name in ("one", "two", "three"):
        planned.add(name, name, undo=Step(f"undo {name}", f"undo_{name}"))
    applied = []
    adapter = type("Recorder", (), {"apply": lambda self, step: applied.append(step.op)})()
    monkeypatch.setenv("UNDERLAY_TEST_FAIL_AFTER_STEP", "2")
    with pytest.raises(UnderlayError, match=r"injected failure after step 2 \(two\); rolled back: undo two; undo one"):
        apply_steps(adapter, planned.steps)
    assert applied == ["one", "two", "undo_two", "undo_one"]
    monkeypatch.delenv("UNDERLAY_TEST_FAIL_AFTER_STEP")
    applied.clear()
    apply_steps(adapter, planned.steps)
    assert applied == ["one", "two", "three"]


def test_an_undo_of_several_steps_is_applied_in_order():
    """Re-creating a removed endpoint takes several steps: a tuple undo runs them in order and
    is reported by its first step's action."""
    kernel = FakeKernel(link("veth0"), link("eth0", addresses=("10.0.0.5/24",)))
    remove = Step("remove 'eth0'", "link_del", {"name": "eth0"}, undo=(
        Step("re-create 'eth0'", "link_add_vlan", {"name": "eth0", "parent": "veth0", "vlan_id": 5,
                                                   "protocol": "802.1Q"}),
        Step("add its address", "addr_add", {"name": "eth0", "address": "10.0.0.5/24"}),
    ))
    then = Step("then fail", "link_set", {"name": "veth0", "mtu": 9000})
    kernel.fail_on = "link_set"
    with pytest.raises(UnderlayError) as err:
        apply_steps(kernel.adapter(), [remove, then])
    assert "rolled back: re-create 'eth0'" in str(err.value) and "NOT rolled back" not in str(err.value)
    assert kernel.links["eth0"].addresses == ("10.0.0.5/24",)
    assert [op for op, _args in kernel.log] == ["link_del", "link_set", "link_add_vlan", "addr_add"]


def test_a_missing_library_is_rolled_back_and_still_reported_as_missing():
    """pyroute2 is looked for only by the step that needs it: what ran before is undone, and the
    module shell still gets a MissingLibraryError (reported through missing_required_lib)."""
    from ansible_collections.underlay.network.plugins.module_utils._errors import MissingLibraryError
    from ansible_collections.underlay.network.plugins.module_utils._plan import Plan
    missing = ImportError("No module named 'pyroute2'")

    class WithoutPyroute2:
        def __init__(self):
            self.applied = []

        def apply(self, step):
            if step.op == "link_add_bridge":
                raise MissingLibraryError("pyroute2", missing)
            self.applied.append(step.op)

    planned = Plan(before={}, after={})
    planned.add("enable forwarding", "sysctl_set", undo=Step("restore forwarding", "sysctl_set"))
    planned.add("create bridge 'br0'", "link_add_bridge")
    adapter = WithoutPyroute2()
    with pytest.raises(MissingLibraryError) as err:
        apply_steps(adapter, planned.steps)
    assert (err.value.library, err.value.exception) == ("pyroute2", missing)
    assert str(err.value) == ("the Python library pyroute2 is required on the managed host;"
                              " rolled back: restore forwarding")
    assert err.value.failed_action == "create bridge 'br0'"
    assert adapter.applied == ["sysctl_set", "sysctl_set"]
