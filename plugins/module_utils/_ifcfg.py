# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""persistent_interface, format ifcfg: spec, rendering, parsing and the planner.

Pure: no file I/O (the file arrives as a ``_files.FileSnapshot``), no
AnsibleModule. An ifcfg file is a list of ``KEY=value`` shell assignments that
initscripts source with ``bash`` and NetworkManager's ifcfg-rh plugin parses; this
module renders them so that ``bash`` sourcing the file yields exactly the intended
values, in a fixed key order, so the same options always give the same bytes.

Idempotence is exact and textual: the file is rewritten whenever its bytes (or its
mode, 0644) differ from the canonical rendering. A file that means the same but is
written differently (other quoting, order, comments) is rewritten in canonical form
and the action says so.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from ansible_collections.underlay.network.plugins.module_utils import _validation as v
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan

DEFAULT_DIR = "/etc/sysconfig/network-scripts"
FILE_MODE = 0o644
TYPES = ("ethernet", "vlan", "bridge")
BOOTPROTOS = ("none", "static", "dhcp", "bootp", "ibft")
TYPE_VALUES = {"ethernet": "Ethernet", "bridge": "Bridge"}

# The keys the module writes, in the order it writes them, per interface type. ``extra``
# may not name one of these (each has its own option); with ``preserve_unmanaged`` every
# other key already in the file is kept.
_COMMON_HEAD = ("DEVICE",)
_COMMON_TAIL = ("BOOTPROTO", "ONBOOT", "IPADDR", "PREFIX", "NETWORK", "MTU")
MANAGED_KEYS = {
    "ethernet": _COMMON_HEAD + ("HWADDR", "TYPE") + _COMMON_TAIL,
    "vlan": _COMMON_HEAD + _COMMON_TAIL + ("VLAN", "PHYSDEV", "VLAN_ID"),
    "bridge": _COMMON_HEAD + ("TYPE",) + _COMMON_TAIL,
}

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
_MAC = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
_VLAN_SUFFIX = re.compile(r"\.([0-9]+)$")


# -- spec ----------------------------------------------------------------------------
@dataclass(frozen=True)
class IfcfgSpec:
    """The desired file. ``extra`` is a tuple of (KEY, rendered value) pairs, sorted."""

    name: str
    path: str
    directory: str
    state: str = "present"
    format: str = "ifcfg"
    type: str = "ethernet"
    parent: Optional[str] = None
    vlan_id: Optional[int] = None
    address: Optional[str] = None
    hwaddr: Optional[str] = None
    onboot: bool = True
    bootproto: str = "none"
    mtu: Optional[int] = None
    extra: Tuple[Tuple[str, str], ...] = ()
    preserve_unmanaged: bool = False


def build_spec(params):
    """Validate module params into an ``IfcfgSpec`` (raises ``UnderlayError`` naming the field)."""
    state = v.choice("state", params.get("state") or "present", ("present", "absent"))
    file_format = v.choice("format", params.get("format") or "ifcfg", ("ifcfg",))
    name = v.interface_name("name", params.get("name"))
    _plain_text("name", name)
    directory = params.get("dir") or DEFAULT_DIR
    if not isinstance(directory, str) or not directory.startswith("/"):
        raise UnderlayError(f"{directory!r} is not an absolute path", "dir", directory)
    _plain_text("dir", directory)
    directory = os.path.normpath(directory)
    path = os.path.join(directory, f"ifcfg-{name}")
    if state == "absent":
        return IfcfgSpec(name=name, path=path, directory=directory, state=state, format=file_format)

    kind = v.choice("type", params.get("type") or "ethernet", TYPES)
    parent, vlan_id = _vlan_options(kind, name, params.get("parent"), params.get("vlan_id"))
    hwaddr = params.get("hwaddr")
    if hwaddr is not None:
        if kind != "ethernet":
            raise UnderlayError(
                f"is only for type ethernet (HWADDR binds the file to a network card); to set the address of a"
                f" {kind}, use extra: {{MACADDR: '{hwaddr}'}}", "hwaddr", hwaddr)
        hwaddr = mac_address("hwaddr", hwaddr)
    onboot = params.get("onboot")
    return IfcfgSpec(
        name=name,
        path=path,
        directory=directory,
        state=state,
        format=file_format,
        type=kind,
        parent=parent,
        vlan_id=vlan_id,
        address=ipv4_address("address", params.get("address")),
        hwaddr=hwaddr,
        onboot=True if onboot is None else _boolean("onboot", onboot),
        bootproto=v.choice("bootproto", params.get("bootproto") or "none", BOOTPROTOS),
        mtu=v.mtu("mtu", params.get("mtu")),
        extra=extra_variables("extra", params.get("extra"), MANAGED_KEYS[kind]),
        preserve_unmanaged=_boolean("preserve_unmanaged", params.get("preserve_unmanaged") or False),
    )


def _vlan_options(kind, name, parent, vlan_id):
    if kind != "vlan":
        for field, value in (("parent", parent), ("vlan_id", vlan_id)):
            if value is not None:
                raise UnderlayError(f"is only for type vlan (type is {kind})", field, value)
        return None, None
    if parent is None:
        raise UnderlayError("is required with type vlan (the trunk interface, PHYSDEV)", "parent", None)
    if vlan_id is None:
        raise UnderlayError("is required with type vlan", "vlan_id", None)
    v.interface_name("parent", parent)
    _plain_text("parent", parent)
    vlan_id = v.vlan_id("vlan_id", vlan_id)
    if parent == name:
        raise UnderlayError(f"'{name}' is the parent itself", "name", name)
    suffix = _VLAN_SUFFIX.search(name)
    if suffix and int(suffix.group(1)) != vlan_id:
        raise UnderlayError(
            f"'{name}' ends in '.{suffix.group(1)}' but vlan_id is {vlan_id}; tools that read the VLAN id from"
            " the name would disagree: make them match or pick a name without a '.NUMBER' suffix", "name", name)
    return parent, vlan_id


def _boolean(field, value):
    if not isinstance(value, bool):
        raise UnderlayError(f"{value!r} is not a boolean", field, value)
    return value


def _plain_text(field, value):
    """Refuse NUL, newlines and other control characters (a tab is allowed)."""
    bad = _CONTROL.search(value)
    if bad:
        raise UnderlayError(
            f"{value!r} contains the control character {bad.group(0)!r}; ifcfg values are single lines of text",
            field, value)
    return value


def mac_address(field, value):
    """``HWADDR`` as RHEL writes it: colon-separated, upper-case hex (``00:0C:29:3E:5B:7A``).

    Anaconda, initscripts and NetworkManager's ifcfg-rh writer all emit upper case (and
    compare case-insensitively when matching a card), so the canonical text is upper case.
    """
    text = str(value).strip().lower()
    if _MAC.match(text):
        text = text.replace("-", ":")
    elif re.match(r"^[0-9a-f]{12}$", text):
        text = ":".join(text[i:i + 2] for i in range(0, 12, 2))
    else:
        raise UnderlayError(f"'{value}' is not a MAC address (e.g. 00:0c:29:3e:5b:7a)", field, value)
    if int(text[:2], 16) & 1:
        raise UnderlayError(f"'{value}' is a multicast MAC address; a network card has a unicast one", field, value)
    if text == "00:00:00:00:00:00":
        raise UnderlayError(f"'{value}' is the all-zero MAC address", field, value)
    return text.upper()


def ipv4_address(field, value):
    """``ADDRESS/PREFIX`` (IPv4) normalised; ``None`` stays ``None``."""
    if value is None:
        return None
    normal = v.host_address(field, value)
    if ipaddress.ip_interface(normal).version != 4:
        raise UnderlayError(
            f"'{value}' is not IPv4; IPADDR/PREFIX hold IPv4 only: give an IPv6 address with"
            f" extra: {{IPV6INIT: 'yes', IPV6ADDR: '{value}'}}", field, value)
    return normal


def check_key(field, key):
    """A key of ``extra``: a shell variable name in upper case that bash gives no meaning to."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise UnderlayError(
            f"{key!r} is not a valid key: keys are shell variable names in upper case (A-Z, 0-9, _, not"
            " starting with a digit)", field, key)
    if key in SHELL_VARIABLES or key.startswith(_SHELL_PREFIXES):
        raise UnderlayError(f"'{key}' is a variable bash itself uses; it cannot be set in an ifcfg file", field, key)
    return key


def value_text(field, value):
    """Render one value: booleans as yes/no (the ifcfg convention), numbers as decimals."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise UnderlayError(f"{value!r} is not a string, number or boolean", field, value)
    return _plain_text(field, value)


def extra_variables(field, extra, reserved):
    if extra is None:
        return ()
    if not isinstance(extra, dict):
        raise UnderlayError("must be a dictionary of KEY: value", field, extra)
    rendered = []
    for key, value in extra.items():
        check_key(field, key)
        if key in reserved:
            raise UnderlayError(
                f"'{key}' is written from the module's own options; set it through them, not through {field}",
                field, key)
        rendered.append((key, value_text(f"{field}.{key}", value)))
    return tuple(sorted(rendered))


# -- rendering -----------------------------------------------------------------------
def managed_variables(spec):
    """The keys written from the options, in the fixed order (a dict keeps that order)."""
    found = {"DEVICE": spec.name}
    if spec.hwaddr is not None:
        found["HWADDR"] = spec.hwaddr
    if spec.type in TYPE_VALUES:
        found["TYPE"] = TYPE_VALUES[spec.type]
    found["BOOTPROTO"] = spec.bootproto
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
    ``existing`` (the parsed file, in its order) that neither of those names."""
    found = managed_variables(spec)
    found.update(spec.extra)
    if spec.preserve_unmanaged and existing:
        reserved = set(MANAGED_KEYS[spec.type]) | set(found)
        for key, value in existing.items():
            if key not in reserved:
                if _CONTROL.search(value):
                    raise UnderlayError(
                        f"the unmanaged key {key} in {spec.path} holds a multi-line value {value!r}, which this"
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


# -- planning ------------------------------------------------------------------------
def read(files, spec):
    return files.snapshot(spec.path)


def _existing_variables(spec, current):
    """The parsed file, or ``None`` when it does not parse (only an error with preserve_unmanaged)."""
    if current.kind != "file":
        return None
    try:
        return parse(current.text)
    except ParseError as err:
        if spec.state == "present" and spec.preserve_unmanaged:
            raise UnderlayError(
                f"{spec.path} {err}; with preserve_unmanaged the file must hold only plain KEY=value lines:"
                " fix that line, or set preserve_unmanaged to false to replace the whole file",
                "preserve_unmanaged", True) from None
        return None


def plan(spec, current):
    """Decide what to do with the file at ``spec.path`` (nothing is touched here)."""
    if current.kind == "other":
        raise UnderlayError(f"{spec.path} exists and is not a regular file; refusing to replace it", "name", spec.name)
    before_header = spec.path if current.kind != "symlink" else f"{spec.path} (symbolic link to {current.link_target})"
    before = current.text if current.kind == "file" else ""
    existing = _existing_variables(spec, current)
    if spec.state == "absent":
        result = Plan(before=before, after="", before_header=before_header, after_header=spec.path)
        if current.kind == "file":
            result.add(f"remove {spec.path}", "remove_file", path=spec.path)
        elif current.kind == "symlink":
            result.add(f"remove the symbolic link {spec.path} (not its target {current.link_target})",
                       "remove_file", path=spec.path)
        return result

    variables = desired_variables(spec, existing)
    content = render(variables)
    result = Plan(before=before, after=content, before_header=before_header, after_header=spec.path)
    if current.kind == "absent":
        result.add(f"create {spec.path}", "write_file", path=spec.path, content=content)
    elif current.kind == "symlink":
        result.add(f"replace the symbolic link {spec.path} (to {current.link_target}) with a regular file",
                   "write_file", path=spec.path, content=content)
    elif current.data != content.encode("utf-8"):
        result.add(f"{_describe_update(spec.path, existing, variables)}", "write_file",
                   path=spec.path, content=content)
    elif current.mode != FILE_MODE:
        result.add(f"set the mode of {spec.path} from {current.mode:04o} to {FILE_MODE:04o}", "write_file",
                   path=spec.path, content=content)
    return result


def _describe_update(path, existing, variables):
    if existing is None:
        return f"rewrite {path} (it held more than plain KEY=value lines)"
    changed = [key for key in variables if existing.get(key) != variables[key]]
    removed = [key for key in existing if key not in variables]
    if not changed and not removed:
        return f"rewrite {path} in canonical form (same variables, other formatting)"
    parts = []
    if changed:
        parts.append("set " + ", ".join(changed))
    if removed:
        parts.append("remove " + ", ".join(removed))
    return f"update {path}: " + "; ".join(parts)


def report(spec, current):
    """The return values from the file as it is (``content`` ``''`` when there is none)."""
    if spec.state == "absent" or current.kind != "file":
        return {"path": spec.path, "content": "", "variables": {}}
    try:
        variables = parse(current.text)
    except ParseError:
        variables = {}
    return {"path": spec.path, "content": current.text, "variables": variables}


def predict(spec, current, planned):
    """The return values the planned run would give (check mode)."""
    if spec.state == "absent":
        return {"path": spec.path, "content": "", "variables": {}}
    return {"path": spec.path, "content": planned.after, "variables": parse(planned.after)}
