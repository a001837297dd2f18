# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""persistent_interface, format ifcfg: the RHEL ``ifcfg-NAME`` file, parsed and rendered.

Pure: text in, text out (the planner is _persist). An ifcfg file is a list of
``KEY=value`` shell assignments that initscripts source with ``bash`` and
NetworkManager's ifcfg-rh plugin parses; values are quoted so that ``bash`` sourcing the
file yields exactly the intended values, in a fixed key order, so the same options (and
the same kept keys) always give the same bytes. ifcfg has no key for the VLAN protocol:
802.1ad is refused by ``_persist_spec.check_protocol``.
"""

from __future__ import annotations

import ipaddress
import os
import re

from ansible_collections.underlay.network.plugins.module_utils import _ini
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._persist_spec import check_extra_value

MODE = 0o644
TYPE_VALUES = {"ethernet": "Ethernet", "bridge": "Bridge"}

# The keys options may write, per interface type: ``extra`` may not name them (each has
# its own option). With ``preserve_unmanaged`` every key not written from an option is kept.
_COMMON_HEAD = ("DEVICE",)
_COMMON_TAIL = ("BOOTPROTO", "ONBOOT", "IPADDR", "PREFIX", "NETWORK", "MTU")
MANAGED_KEYS = {
    "ethernet": _COMMON_HEAD + ("HWADDR", "TYPE") + _COMMON_TAIL,
    "vlan": _COMMON_HEAD + _COMMON_TAIL + ("VLAN", "PHYSDEV", "VLAN_ID"),
    "bridge": _COMMON_HEAD + ("TYPE",) + _COMMON_TAIL,
}
# Written together from ``address``: a stale NETMASK would contradict PREFIX.
ADDRESS_KEYS = ("IPADDR", "PREFIX", "NETWORK", "NETMASK")

KEY_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Variables bash itself gives a meaning to (or refuses to have assigned): a file that sets
# them would change the behaviour of the script sourcing it.
SHELL_VARIABLES = frozenset((
    "BASH", "BASHOPTS", "BASHPID", "BASH_ENV", "CDPATH", "COLUMNS", "COMP_WORDBREAKS", "DIRSTACK",
    "ENV", "EUID", "FUNCNAME", "GLOBIGNORE", "GROUPS", "HISTFILE", "HISTSIZE", "HOME", "HOSTNAME",
    "IFS", "LANG", "LC_ALL", "LINENO", "LINES", "MAIL", "MAILPATH", "OLDPWD", "OPTARG", "OPTERR",
    "OPTIND", "PATH", "POSIXLY_CORRECT", "PPID", "PROMPT_COMMAND", "PS1", "PS2", "PS3", "PS4", "PWD",
    "RANDOM", "SECONDS", "SHELL", "SHELLOPTS", "SHLVL", "SRANDOM", "TERM", "TMOUT", "TMPDIR", "UID",
    "EPOCHREALTIME", "EPOCHSECONDS", "HISTCMD", "PIPESTATUS",
))
_SHELL_PREFIXES = ("BASH_", "LC_", "COMP_", "HIST", "READLINE_")

# Characters a value may hold unquoted: nothing bash expands in an assignment (no ``~``,
# which is expanded after ``=`` and ``:``, no ``$``, quotes, globs, braces or blanks).
_BARE = re.compile(r"^[A-Za-z0-9_./:@%+,=-]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


# -- options -------------------------------------------------------------------------
def paths(spec):
    """The files of ``spec`` (the first is the one ``path`` returns)."""
    return (os.path.join(spec.directory, f"ifcfg-{spec.name}"),)


def check_key(field, key):
    """A key of ``extra``: a shell variable name in upper case that bash gives no meaning to."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise UnderlayError(
            f"{key!r} is not a valid key: keys are shell variable names in upper case (A-Z, 0-9, _, not"
            " starting with a digit)", field, key)
    if key in SHELL_VARIABLES or key.startswith(_SHELL_PREFIXES):
        raise UnderlayError(f"'{key}' is a variable bash itself uses; it cannot be set in an ifcfg file", field, key)
    return key


def check_extra(spec, field="extra"):
    """``extra`` as a sorted tuple of (KEY, text) pairs."""
    extra = spec.extra
    if extra is None:
        return ()
    if not isinstance(extra, dict):
        raise UnderlayError("must be a dictionary of KEY: value", field, extra)
    rendered = []
    for key, value in extra.items():
        check_key(field, key)
        if key in MANAGED_KEYS[spec.type]:
            raise UnderlayError(
                f"'{key}' is written from the module's own options; set it through them, not through {field}",
                field, key)
        rendered.append((key, check_extra_value(f"{field}.{key}", value)))
    return tuple(sorted(rendered))


# -- rendering -----------------------------------------------------------------------
def managed_variables(spec, existing=None):
    """The keys written from the options, in the fixed order (a dict keeps that order).

    ``BOOTPROTO``, when not given, keeps the value already in the file (with
    ``preserve_unmanaged``), else ``none``.
    """
    kept = existing if (spec.preserve_unmanaged and existing) else {}
    found = {"DEVICE": spec.name}
    if spec.hwaddr is not None:
        found["HWADDR"] = spec.hwaddr
    if spec.type in TYPE_VALUES:
        found["TYPE"] = TYPE_VALUES[spec.type]
    found["BOOTPROTO"] = spec.bootproto or kept.get("BOOTPROTO") or "none"
    found["ONBOOT"] = "yes" if spec.onboot else "no"
    if spec.address is not None:
        iface = ipaddress.ip_interface(spec.address)
        found["IPADDR"] = str(iface.ip)
        found["PREFIX"] = str(iface.network.prefixlen)
        found["NETWORK"] = str(iface.network.network_address)
    if spec.mtu is not None:
        found["MTU"] = str(spec.mtu)
    if spec.type == "vlan":
        found["VLAN"] = "yes"
        found["PHYSDEV"] = spec.parent
        if spec.name != f"{spec.parent}.{spec.vlan_id}":
            found["VLAN_ID"] = str(spec.vlan_id)
    return found


def desired_variables(spec, existing=None):
    """Managed keys, then ``extra`` (sorted), then (with ``preserve_unmanaged``) the keys of
    ``existing`` (the parsed file, in its order) that none of those write: an address, an
    MTU or a MAC address set by another tool stays when its option is not given."""
    found = managed_variables(spec, existing)
    found.update(spec.extra or ())
    if spec.preserve_unmanaged and existing:
        reserved = set(found)
        if spec.address is not None:
            reserved.update(ADDRESS_KEYS)
        if spec.type == "vlan":
            reserved.add("VLAN_ID")
        for key, value in existing.items():
            if key not in reserved:
                if _CONTROL.search(value):
                    raise UnderlayError(
                        f"the unmanaged key {key} in {paths(spec)[0]} holds a multi-line value {value!r}, which this"
                        " module does not write: fix it, or set preserve_unmanaged to false", "preserve_unmanaged", True)
                found[key] = value
    return found


def quote(value):
    """``value`` as shell text that bash reads back as exactly ``value``.

    Unquoted when every character is inert in an assignment; in single quotes when it
    holds a ``!`` (so an interactive shell sourcing the file does no history expansion);
    otherwise in double quotes with ``\\``, ``"``, ``$`` and backquote escaped (as
    NetworkManager writes ifcfg files).
    """
    if value == "":
        return ""
    if _BARE.match(value):
        return value
    if "!" in value:
        return "'" + value.replace("'", "'\\''") + "'"
    return '"' + re.sub(r'([\\"$`])', r"\\\1", value) + '"'


def render(variables):
    """The file's text: one ``KEY=value`` line per variable, in the dict's order."""
    return "".join(f"{key}={quote(value)}\n" for key, value in variables.items())


# -- parsing -------------------------------------------------------------------------
class ParseError(ValueError):
    """A file that is not plain ``KEY=value`` assignments; ``line`` is 1-based."""

    def __init__(self, line, message):
        self.line = line
        super().__init__(f"line {line}: {message}")


_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
_BARE_CHAR = re.compile(r"[A-Za-z0-9_./:@%+,=#-]")  # '#' only inside a word (see parse)
_EXPANSION = re.compile(r"[A-Za-z0-9_{(@*#?$!-]")


def parse(text):
    """The variables a ``bash`` sourcing ``text`` would set, as an ordered dict.

    Reads what ifcfg files hold: blank lines, ``#`` comments and ``KEY=value`` lines whose
    value is any mix of bare words, ``'single'`` and ``"double"`` quoted parts and
    backslash escapes. Anything whose value bash would compute rather than read (``$``
    expansions, command substitution, ``~``, globs) or that is not an assignment raises
    ``ParseError``: the module never guesses what a file means.
    """
    found = {}
    pos, line, size = 0, 1, len(text)
    while pos < size:
        char = text[pos]
        if char in " \t":
            pos += 1
        elif char == "\n":
            pos, line = pos + 1, line + 1
        elif char == "#":
            end = text.find("\n", pos)
            pos = size if end < 0 else end
        else:
            match = _ASSIGNMENT.match(text, pos)
            if not match:
                end = text.find("\n", pos)
                raise ParseError(line, f"{text[pos:size if end < 0 else end]!r} is not a KEY=value assignment")
            key = match.group(1)
            pos, line, value = _parse_value(text, match.end(), line)
            found.pop(key, None)  # a key set twice: the last one counts, in its place
            found[key] = value
            pos, line = _end_of_assignment(text, pos, line)
    return found


def _end_of_assignment(text, pos, line):
    size = len(text)
    while pos < size and text[pos] in " \t":
        pos += 1
    if pos < size and text[pos] == "#":
        end = text.find("\n", pos)
        pos = size if end < 0 else end
    if pos < size and text[pos] != "\n":
        raise ParseError(line, f"unexpected {text[pos]!r} after the value (one assignment per line)")
    return pos, line


def _parse_value(text, pos, line):
    """One shell word starting at ``pos``; returns (end, line, value)."""
    size = len(text)
    out = []
    while pos < size:
        char = text[pos]
        if char in " \t\n":
            break
        if char == "\\":
            if pos + 1 >= size:
                raise ParseError(line, "a backslash at the end of the file")
            if text[pos + 1] == "\n":
                raise ParseError(line, "a line continuation inside a value")
            out.append(text[pos + 1])
            pos += 2
        elif char == "'":
            end = text.find("'", pos + 1)
            if end < 0:
                raise ParseError(line, "an unterminated single quote")
            chunk = text[pos + 1:end]
            line += chunk.count("\n")
            out.append(chunk)
            pos = end + 1
        elif char == '"':
            pos, line = _parse_double(text, pos + 1, line, out)
        elif _BARE_CHAR.match(char):
            out.append(char)
            pos += 1
        else:
            raise ParseError(line, f"an unquoted {char!r}, which bash would expand or interpret")
    return pos, line, "".join(out)


def _parse_double(text, pos, line, out):
    size = len(text)
    start = line
    while pos < size:
        char = text[pos]
        if char == '"':
            return pos + 1, line
        if char == "\\" and pos + 1 < size and text[pos + 1] in '\\"$`\n':
            if text[pos + 1] == "\n":
                raise ParseError(line, "a line continuation inside a value")
            out.append(text[pos + 1])
            pos += 2
            continue
        if char == "`" or (char == "$" and pos + 1 < size and _EXPANSION.match(text[pos + 1])):
            raise ParseError(line, "an expansion inside double quotes, which bash would compute")
        if char == "\n":
            line += 1
        out.append(char)
        pos += 1
    raise ParseError(start, "an unterminated double quote")


# -- the format's interface (see _persist) ---------------------------------------------
def desired(spec, current):
    """``{path: text}`` for ``spec`` given ``current`` (``{path: FileSnapshot}``); ``None`` removes."""
    path = paths(spec)[0]
    if spec.state == "absent":
        return {path: None}
    return {path: render(desired_variables(spec, existing(spec, path, current[path])))}


def existing(spec, path, snapshot):
    """The parsed file, or ``None`` when there is none or it does not parse (then only an
    error with ``preserve_unmanaged``: the module never guesses what a file means)."""
    if snapshot.kind != "file":
        return None
    try:
        return parse(snapshot.text)
    except ParseError as err:
        if spec.state == "present" and spec.preserve_unmanaged:
            raise UnderlayError(
                f"{path} {err}; with preserve_unmanaged the file must hold only plain KEY=value lines:"
                " fix that line, or set preserve_unmanaged to false to replace the whole file",
                "preserve_unmanaged", True) from None
        return None


def describe(path, before_text, after_text):
    """The action for rewriting ``path`` from ``before_text`` to ``after_text``."""
    try:
        old = parse(before_text)
    except ParseError:
        return f"rewrite {path} (it held more than plain KEY=value lines)"
    return _ini.describe_changes(path, old, parse(after_text), "variables")


def variables(text):
    """The variables ``bash`` sourcing ``text`` would set (``{}`` when it does not parse)."""
    try:
        return parse(text)
    except ParseError:
        return {}
