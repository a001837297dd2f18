# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small line-based reader and writer for the INI dialects of NetworkManager keyfiles
and systemd-networkd files (persistent_interface). Pure: text in, text out.

Why not ``configparser``: it folds key case (unless told otherwise), treats ``:`` as a
second delimiter, joins indented lines as continuations, merges or refuses repeated
sections and keys, and applies ``%`` interpolation. networkd files repeat both keys
(``Address=``, ``VLAN=``) and sections (``[Address]``, ``[Route]``), and neither format
has continuations of that kind. This reader keeps every section and every entry, in
order and case as written, so a file can be rewritten keeping what the module does not
manage; the format modules add their own rules (unique keys for keyfiles).

A document is a list of ``Section(name, entries)``; ``entries`` a list of
``(key, value)`` with the value as written (after trimming blanks around it). Blank lines
and comments (``#`` or ``;`` first on the line) are not kept: the writer emits the
canonical form, one blank line between sections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Tuple

from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError

_SECTION = re.compile(r"^\[([^\[\]]+)\]$")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-\[\]]*$")


class ParseError(ValueError):
    """A line that is neither a section, a ``Key=value`` entry, a comment nor blank; 1-based."""

    def __init__(self, line, message):
        self.line = line
        super().__init__(message if line is None else f"line {line}: {message}")


@dataclass
class Section:
    name: str
    entries: List[Tuple[str, str]] = field(default_factory=list)

    def values(self, key):
        return [value for name, value in self.entries if name == key]

    def first(self, key):
        found = self.values(key)
        return found[0] if found else None


def parse(text, continuation_error=True):
    """The sections of ``text`` in order (raises ``ParseError`` naming the line)."""
    sections = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        match = _SECTION.match(line)
        if match:
            sections.append(Section(match.group(1)))
            continue
        if "=" not in line:
            raise ParseError(number, f"{raw!r} is neither a [Section] nor a Key=value line")
        key, value = (part.strip() for part in line.split("=", 1))
        if not _KEY.match(key):
            raise ParseError(number, f"{key!r} is not a key name")
        if not sections:
            raise ParseError(number, f"{key}= comes before any [Section]")
        if continuation_error and value.endswith("\\"):
            raise ParseError(number, f"{key}= ends in a backslash (a continued line), which this module does not read")
        sections[-1].entries.append((key, value))
    return sections


def render(sections):
    """The canonical text: ``[Name]`` then ``Key=value`` lines, a blank line between sections."""
    blocks = []
    for section in sections:
        lines = [f"[{section.name}]"] + [f"{key}={value}" for key, value in section.entries]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def flatten(sections):
    """``{"Section.Key": [values...]}`` over every section (repeated sections merged in order)."""
    flat = {}
    for section in sections:
        for key, value in section.entries:
            flat.setdefault(f"{section.name}.{key}", []).append(value)
    return flat


def describe_changes(path, old, new, what="settings"):
    """``update PATH: set A, B; remove C`` between two flat ``{key: value}`` maps (also for ifcfg)."""
    changed = [key for key in new if old.get(key) != new[key]]
    removed = [key for key in old if key not in new]
    if not changed and not removed:
        return f"rewrite {path} in canonical form (same {what}, other formatting)"
    parts = []
    if changed:
        parts.append("set " + ", ".join(changed))
    if removed:
        parts.append("remove " + ", ".join(removed))
    return f"update {path}: " + "; ".join(parts)


def describe_update(path, before, after):
    """``update PATH: set A.b, C.d; remove E.f`` from two parsed documents (``before`` may be None)."""
    if before is None:
        return f"rewrite {path} (it did not parse)"
    return describe_changes(path, flatten(before), flatten(after))


class Format:
    """What the planner asks of an INI-like format: its parser and what to call its files."""

    def __init__(self, parse, kind):
        self.parse, self.kind = parse, kind

    def existing(self, spec, path, snapshot):
        """The parsed file, or ``None`` (no file; or one that does not parse, replaced whole
        only without ``preserve_unmanaged``)."""
        if snapshot.kind != "file":
            return None
        try:
            return self.parse(snapshot.text)
        except ParseError as err:
            if spec.state == "present" and spec.preserve_unmanaged:
                raise UnderlayError(
                    f"{path} does not parse as {self.kind} ({err}): fix it, or set preserve_unmanaged"
                    " to false to replace the whole file", "preserve_unmanaged", True) from None
            return None

    def describe(self, path, before_text, after_text):
        try:
            before = self.parse(before_text)
        except ParseError:
            before = None
        return describe_update(path, before, self.parse(after_text))

    def variables(self, text):
        """``{section: {key: value}}`` (``{}`` when the text does not parse)."""
        try:
            return as_dict(self.parse(text))
        except ParseError:
            return {}


def as_dict(sections):
    """For return values: ``{Section: {Key: value, or [values] when repeated}}``."""
    out = {}
    for section in sections:
        target = out.setdefault(section.name, {})
        for key, value in section.entries:
            if key in target:
                target[key] = (target[key] if isinstance(target[key], list) else [target[key]]) + [value]
            else:
                target[key] = value
    return out


def merge(managed, existing, keep, keep_sections, always=()):
    """The canonical document: each section of ``managed`` (in that order) with its entries
    first, then the entries of the first existing section of that name for which
    ``keep(section, key, value)`` is true; then, when ``keep_sections``, every other
    existing section whole, in its order. A section left empty is dropped unless named
    in ``always``. ``existing`` may be ``None`` (no file).
    """
    existing = existing or []
    first = {}
    for index, section in enumerate(existing):
        first.setdefault(section.name, index)
    out = []
    for section in managed:
        entries = list(section.entries)
        if section.name in first:
            entries += [(key, value) for key, value in existing[first[section.name]].entries
                        if keep(section.name, key, value)]
        if entries or section.name in always:
            out.append(Section(section.name, entries))
    if keep_sections:
        names = {section.name for section in managed}
        out += [Section(s.name, list(s.entries)) for index, s in enumerate(existing)
                if not (s.name in names and first[s.name] == index)]
    return out
