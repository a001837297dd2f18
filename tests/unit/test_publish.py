"""Docker's -p syntax: what each form publishes, and each bad form's one message."""

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _publish
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._publish import PortMapping


@pytest.mark.parametrize("text, expected", [
    ("8080:80", [PortMapping("tcp", 8080, 80)]),
    ("8080:80/udp", [PortMapping("udp", 8080, 80)]),
    ("8080:80/TCP", [PortMapping("tcp", 8080, 80)]),
    ("127.0.0.1:8080:80", [PortMapping("tcp", 8080, 80, "127.0.0.1")]),
    ("0.0.0.0:53:53/udp", [PortMapping("udp", 53, 53)]),
    ("8000-8002:9000-9002", [PortMapping("tcp", 8000, 9000), PortMapping("tcp", 8001, 9001),
                             PortMapping("tcp", 8002, 9002)]),
    ("65535:1", [PortMapping("tcp", 65535, 1)]),
])
def test_each_form_publishes_what_docker_would(text, expected):
    assert _publish.parse("publish", text) == expected


@pytest.mark.parametrize("text, words", [
    ("0:80", "port 0 is out of range (1-65535)"),
    ("65536:80", "port 65536 is out of range (1-65535)"),
    ("80:80/sctp", "protocol 'sctp' is not one of tcp, udp"),
    ("8000-8009:80-81", "the host range has 10 ports and the container range 2"),
    ("8009-8000:80", "runs backwards"),
    ("80", "is not [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]"),
    ("host:80:80", "'host' is not an IP address of the host"),
    ("[::1]:80:80", "is not [HOST_IP:]HOST_PORT:CONTAINER_PORT"),
    ("10.0.0.1::80", "is not [HOST_IP:]HOST_PORT:CONTAINER_PORT"),
])
def test_a_bad_entry_is_refused_naming_the_field_and_the_value(text, words):
    with pytest.raises(UnderlayError) as caught:
        _publish.parse("publish", text)
    assert caught.value.field == "publish" and caught.value.value == text
    assert words in str(caught.value) and str(caught.value).startswith("publish: ")


def test_a_host_port_taken_twice_in_one_list_is_refused_naming_both():
    with pytest.raises(UnderlayError, match=r"host port 8080/tcp is published twice \(0.0.0.0:8080->80/tcp and "
                                            r"127.0.0.1:8080->81/tcp\)"):
        _publish.parse_all("publish", ["8080:80", "127.0.0.1:8080:81"])


def test_one_port_on_two_protocols_or_two_addresses_is_no_clash():
    mappings = _publish.parse_all("publish", ["53:53/udp", "53:53/tcp", "127.0.0.1:80:80", "10.0.0.1:80:81"])
    assert len(mappings) == 4


def test_the_docker_view_groups_by_container_port():
    mappings = _publish.parse_all("publish", ["8080:80", "127.0.0.1:8081:80", "53:53/udp"])
    assert _publish.docker_ports(mappings) == {
        "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "53"}],
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "127.0.0.1", "HostPort": "8081"}],
    }
    assert _publish.to_strings(mappings) == ["0.0.0.0:53:53/udp", "0.0.0.0:8080:80/tcp", "127.0.0.1:8081:80/tcp"]
