# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _endpoint_names, _endpoint_spec, _endpoint_view
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError


def test_derived_mac_is_dockers():
    assert _endpoint_spec.derived_mac("10.0.0.5") == "02:42:0a:00:00:05"
    assert _endpoint_spec.derived_mac("192.168.3.254") == "02:42:c0:a8:03:fe"


@pytest.mark.parametrize("value, expected", [("02:42:0A:00:00:05", "02:42:0a:00:00:05"),
                                             ("02-42-0a-00-00-05", "02:42:0a:00:00:05")])
def test_mac_normalised(value, expected):
    assert _endpoint_spec.mac_address("mac_address", value) == expected


@pytest.mark.parametrize("value, fragment", [
    ("02:42:zz:00:00:01", "is not a MAC address"),
    ("01:00:5e:00:00:01", "is a multicast MAC address"),
    ("00:00:00:00:00:00", "all-zero"),
    ("02:42:0a:00:00", "is not a MAC address"),
])
def test_mac_rejected(value, fragment):
    with pytest.raises(UnderlayError, match=f"^mac_address: .*{fragment}"):
        _endpoint_spec.mac_address("mac_address", value)


@pytest.mark.parametrize("params, message", [
    ({"network": "n", "container": "a", "pid": 3}, "container: exactly one of container, pid, container_netns"),
    ({"network": "n"}, "container: exactly one of container, pid, container_netns is needed (got none)"),
    ({"container_netns": "x"}, "network: is required"),
    ({"network": "n", "container_netns": "x", "ipv4_address": "10.0.0.300"}, "ipv4_address: '10.0.0.300' is not"),
    ({"network": "n", "container_netns": "x", "ifname": "x" * 16}, "ifname: "),
    ({"network": "n", "container_netns": "x", "routes": [{"dst": "nope", "gateway": "10.0.0.1"}]}, "routes: "),
])
def test_single_form_rejections(params, message):
    with pytest.raises(UnderlayError) as err:
        _endpoint_spec.build_spec(params)
    assert str(err.value).startswith(message)


def test_batch_defaults_and_duplicates():
    spec = _endpoint_spec.build_spec({"network": "n", "state": "present", "runtime": "auto",
                                      "endpoints": [{"container_netns": "a"}, {"pid": 7, "network": "m"}]})
    assert spec.batch and [(e.network, e.target_kind) for e in spec.endpoints] == [("n", "container_netns"),
                                                                                   ("m", "pid")]
    assert _endpoint_view.result_key(spec) == "endpoints"
    with pytest.raises(UnderlayError, match=r"^endpoints\[1\]: netns:a on network 'n' is listed twice"):
        _endpoint_spec.build_spec({"network": "n", "endpoints": [{"container_netns": "a"}, {"container_netns": "a"}]})
    with pytest.raises(UnderlayError, match=r"^endpoints\[0\]\.container: exactly one"):
        _endpoint_spec.build_spec({"network": "n", "endpoints": [{}]})


def test_scratch_names_fit_and_differ():
    one, two = _endpoint_names.scratch_name("netns:a", "n"), _endpoint_names.scratch_name("netns:b", "n")
    assert one != two and len(one) <= 15 and one.startswith("ul")
