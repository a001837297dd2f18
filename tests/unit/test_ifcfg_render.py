# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ifcfg rendering (RHEL's own files as the reference), quoting checked against bash itself, parsing."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from ansible_collections.underlay.network.plugins.module_utils import _ifcfg, _persist
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

BASH = shutil.which("bash")
# bash exports these by itself under `env -i`; nothing else may appear
BASH_OWN = {"PWD", "SHLVL", "_"}


def rendered(**params):
    spec = _persist.build_spec(dict({"dir": "/etc/sysconfig/network-scripts"}, **params))
    return _ifcfg.render(_ifcfg.desired_variables(spec))


def sourced(path):
    """The variables ``bash`` sees after sourcing ``path`` (set -a exports every assignment)."""
    proc = subprocess.run(
        ["env", "-i", BASH, "--noprofile", "--norc", "-c", 'set -a; . "$1" || exit 9; env -0', "_", str(path)],
        capture_output=True, check=False)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    found = {}
    for item in proc.stdout.split(b"\0"):
        if item:
            key, _sep, value = item.decode("utf-8").partition("=")
            found[key] = value
    for key in BASH_OWN:
        found.pop(key, None)
    return found


# -- RHEL's own files ----------------------------------------------------------------
def test_trunk_as_rhel_writes_it():
    assert rendered(name="ens33", hwaddr="00:0c:29:3e:5b:7a") == (
        "DEVICE=ens33\nHWADDR=00:0C:29:3E:5B:7A\nTYPE=Ethernet\nBOOTPROTO=none\nONBOOT=yes\n")


def test_vlan_as_rhel_writes_it():
    assert rendered(name="ens33.21", type="vlan", parent="ens33", vlan_id=21, address="172.21.1.254/24") == (
        "DEVICE=ens33.21\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=172.21.1.254\nPREFIX=24\nNETWORK=172.21.1.0\n"
        "VLAN=yes\nPHYSDEV=ens33\n")


@pytest.mark.parametrize("params, expected", [
    ({"name": "br0", "type": "bridge"}, "DEVICE=br0\nTYPE=Bridge\nBOOTPROTO=none\nONBOOT=yes\n"),
    ({"name": "eth1", "onboot": False, "bootproto": "dhcp"},
     "DEVICE=eth1\nTYPE=Ethernet\nBOOTPROTO=dhcp\nONBOOT=no\n"),
    ({"name": "eth1", "address": "10.1.2.3/8", "mtu": 9000},
     "DEVICE=eth1\nTYPE=Ethernet\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=10.1.2.3\nPREFIX=8\nNETWORK=10.0.0.0\nMTU=9000\n"),
    ({"name": "eth1", "address": "10.1.2.3"},
     "DEVICE=eth1\nTYPE=Ethernet\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=10.1.2.3\nPREFIX=32\nNETWORK=10.1.2.3\n"),
    # a name that does not carry the id: VLAN_ID says it
    ({"name": "vlan100", "type": "vlan", "parent": "ens33", "vlan_id": 100},
     "DEVICE=vlan100\nBOOTPROTO=none\nONBOOT=yes\nVLAN=yes\nPHYSDEV=ens33\nVLAN_ID=100\n"),
    ({"name": "ens33.7", "type": "vlan", "parent": "ens33", "vlan_id": 7, "mtu": 1496},
     "DEVICE=ens33.7\nBOOTPROTO=none\nONBOOT=yes\nMTU=1496\nVLAN=yes\nPHYSDEV=ens33\n"),
    # extra: after the managed keys, sorted; booleans as yes/no, numbers as decimals
    ({"name": "br0", "type": "bridge", "extra": {"STP": False, "NAME": "Storage bridge", "DELAY": 0}},
     'DEVICE=br0\nTYPE=Bridge\nBOOTPROTO=none\nONBOOT=yes\nDELAY=0\nNAME="Storage bridge"\nSTP=no\n'),
    # a VLAN has no TYPE of its own, so extra may give one (NetworkManager writes TYPE=Vlan)
    ({"name": "ens33.5", "type": "vlan", "parent": "ens33", "vlan_id": 5, "extra": {"TYPE": "Vlan"}},
     "DEVICE=ens33.5\nBOOTPROTO=none\nONBOOT=yes\nVLAN=yes\nPHYSDEV=ens33\nTYPE=Vlan\n"),
])
def test_render_table(params, expected):
    assert rendered(**params) == expected


def test_render_is_stable_whatever_the_order_of_extra():
    one = rendered(name="eth0", extra={"ZONE": "a", "NAME": "b", "DEFROUTE": "no"})
    two = rendered(name="eth0", extra={"DEFROUTE": "no", "ZONE": "a", "NAME": "b"})
    assert one == two


# -- quoting, judged by bash ---------------------------------------------------------
TRICKY = [
    "", "plain", "System ens33", " leading", "trailing ", "two  spaces", "\ttab",
    "it's", "'", "''", "say \"hi\"", '"', '""', "'\"'", "mixed 'single' and \"double\"",
    "$HOME", "$", "a$", "$$", "$(id)", "${PATH}", "$'x'", '$"x"', "`id`", "`", "a`b`c",
    "back\\slash", "\\", "trailing\\", "\\\\", "\\n", "\\$", "\\`", "\\\"", "\\'",
    "a!b", "!", "it's!", "!$HOME", "!!", "\\!",
    "~", "~root", "a:~/x", "x=~", "*", "?", "[a]", "{a,b}", "a*b",
    "#comment", "a #b", "a#b", ";", "a;b", "&&", "|", "<", ">", "(", ")", "a & b",
    "=", "a=b", "--", "-x", "%", "@", "^", "+1", ",", "é unicode ✓", "\u00a0nbsp",
]


@pytest.mark.parametrize("value", TRICKY)
def test_quoted_value_reads_back_exactly_in_bash(tmp_path, value):
    path = tmp_path / "ifcfg-eth0"
    path.write_text(rendered(name="eth0", extra={"VALUE": value}), encoding="utf-8")
    expected = {"DEVICE": "eth0", "TYPE": "Ethernet", "BOOTPROTO": "none", "ONBOOT": "yes", "VALUE": value}
    assert sourced(path) == expected
    assert _ifcfg.parse(path.read_text(encoding="utf-8")) == expected


@pytest.mark.parametrize("value, text", [
    ("plain", "plain"),
    ("ens33.21", "ens33.21"),
    ("a=b,c:d@e%f+g/h-i_j", "a=b,c:d@e%f+g/h-i_j"),
    ("", ""),
    ("System ens33", '"System ens33"'),
    ("it's", '"it\'s"'),
    ('a"$`\\b', '"a\\"\\$\\`\\\\b"'),
    ("~", '"~"'),
    ("a!b", "'a!b'"),
    ("it's!", "'it'\\''s!'"),
])
def test_quote_only_when_needed(value, text):
    assert _ifcfg.quote(value) == text


def test_random_values_read_back_exactly_in_bash(tmp_path):
    alphabet = "ab \t'\"$`\\!~*?[]{}#;&|<>()=:-é\u00a0"
    rng = random.Random(20240521)
    values = {f"K{i}": "".join(rng.choice(alphabet) for _i in range(rng.randint(0, 12))) for i in range(300)}
    path = tmp_path / "ifcfg-eth0"
    path.write_text(rendered(name="eth0", extra=values), encoding="utf-8")
    found = sourced(path)
    for key in ("DEVICE", "TYPE", "BOOTPROTO", "ONBOOT"):
        found.pop(key)
    assert found == values
    parsed = _ifcfg.parse(path.read_text(encoding="utf-8"))
    assert {k: parsed[k] for k in values} == values


# -- parsing -------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("", {}),
    ("# only a comment\n\n", {}),
    ("A=1\nB=2", {"A": "1", "B": "2"}),
    ('NAME="System eth0"\n', {"NAME": "System eth0"}),
    ("NAME='System eth0'\n", {"NAME": "System eth0"}),
    ("NAME=System\\ eth0\n", {"NAME": "System eth0"}),
    ("A=a\"b\"'c'\\d\n", {"A": "abcd"}),
    ("  A=1  # trailing comment\n", {"A": "1"}),
    ("A=a#b\n", {"A": "a#b"}),
    ("A=\nB=''\n", {"A": "", "B": ""}),
    ('A="x\\y\\$\\`\\"\\\\"\n', {"A": 'x\\y$`"\\'}),
    ('A="$"\nB="a$ b"\n', {"A": "$", "B": "a$ b"}),
    ("A=1\nB=2\nA=3\n", {"B": "2", "A": "3"}),   # the last assignment counts
    ('A="two\nlines"\nB=1\n', {"A": "two\nlines", "B": "1"}),
    ("lower_case=ok\n", {"lower_case": "ok"}),
])
def test_parse_table(text, expected):
    assert _ifcfg.parse(text) == expected


@pytest.mark.parametrize("text, line, fragment", [
    ("A=$HOME\n", 1, "unquoted '$'"),
    ('A=1\nB="$HOME"\n', 2, "expansion"),
    ('A="${X}"\n', 1, "expansion"),
    ('A="$(id)"\n', 1, "expansion"),
    ("A=`id`\n", 1, "unquoted '`'"),
    ('A="`id`"\n', 1, "expansion"),
    ("A=~\n", 1, "unquoted '~'"),
    ("A=*\n", 1, "unquoted '*'"),
    ("A=1 B=2\n", 1, "after the value"),
    ("A=1; B=2\n", 1, "unquoted ';'"),
    ("ifup eth0\n", 1, "not a KEY=value assignment"),
    ("export A=1\n", 1, "not a KEY=value assignment"),
    ("A+=1\n", 1, "not a KEY=value assignment"),
    ("A='open\n", 1, "unterminated single quote"),
    ('\n\nA="open\n', 3, "unterminated double quote"),
    ("A=a\\\nb\n", 1, "line continuation"),
])
def test_parse_refuses_what_bash_would_compute(text, line, fragment):
    with pytest.raises(_ifcfg.ParseError) as err:
        _ifcfg.parse(text)
    assert err.value.line == line and fragment in str(err.value)


def test_round_trip_of_rendered_files():
    variables = {"DEVICE": "ens33.21", "NAME": "it's \"quoted\" $x `y` \\z!", "EMPTY": "", "X": "~"}
    assert _ifcfg.parse(_ifcfg.render(variables)) == variables
    assert list(_ifcfg.parse(_ifcfg.render(variables))) == list(variables)


def test_render_refuses_nothing_it_was_not_validated_for():
    with pytest.raises(UnderlayError):
        _persist.build_spec({"name": "eth0", "extra": {"A": "x\ny"}})
