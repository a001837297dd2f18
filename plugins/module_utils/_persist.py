# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""persistent_interface: the runner's resource (read, plan, report, predict) for every format.

The formats (_ifcfg, _nmconnection, _networkd) each give ``paths(spec)`` (the first is
the main file), ``check_extra(spec)``, ``desired(spec, snapshots) -> {path: text or None}``,
``describe(path, before, after)``, ``variables(text)`` and ``MODE``; a format whose files
depend on what the directory holds (networkd) also gives ``LISTED`` (a file name suffix) and
``locate(spec, {path: text}) -> (paths, warnings)``. This module turns the
difference between the desired and the present files into steps (atomic writes and
removals, each with the step that puts the file back, so a failure half-way through a
multi-file format leaves the files as they were), and the ``--diff`` text.

Idempotence is exact and textual: a file is written when its bytes or its mode differ
from the canonical rendering.
"""

from __future__ import annotations

import dataclasses

from ansible_collections.underlay.network.plugins.module_utils import _ifcfg, _networkd, _nmconnection
from ansible_collections.underlay.network.plugins.module_utils import _persist_spec
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._plan import Plan, Step

FORMATS = {"ifcfg": _ifcfg, "nmconnection": _nmconnection, "networkd": _networkd}


def build_spec(params):
    spec = _persist_spec.build_spec(params)
    if spec.state == "present":
        spec = dataclasses.replace(spec, extra=FORMATS[spec.format].check_extra(spec))
    return spec


class Current(dict):
    """``{path: FileSnapshot}`` of the interface's files, the main one first, with ``warnings``."""

    def __init__(self, snapshots, warnings=()):
        super().__init__(snapshots)
        self.warnings = list(warnings)


def read(files, spec):
    """Snapshots of the format's files (refuses a format the host cannot use)."""
    problem = _persist_spec.host_problem(spec)
    if problem:
        raise UnderlayError(problem, "format", spec.format)
    fmt = FORMATS[spec.format]
    if hasattr(fmt, "locate"):
        paths, warnings = fmt.locate(spec, files.listing(spec.directory, fmt.LISTED))
    else:
        paths, warnings = fmt.paths(spec), ()
    return Current({path: files.snapshot(path) for path in paths}, warnings)


def plan(spec, current):
    """Decide what to do with the files (nothing is touched here)."""
    fmt = FORMATS[spec.format]
    primary = next(iter(current))
    for path, snapshot in current.items():
        if snapshot.kind == "other":
            raise UnderlayError(f"{path} exists and is not a regular file; refusing to replace it", "name", spec.name)
        if snapshot.kind == "symlink" and path != primary and not path.endswith(".netdev"):
            raise UnderlayError(f"{path} is a symbolic link (to {snapshot.link_target}); refusing to edit the file"
                                " another tool keeps there", "parent", spec.parent)
    wanted = fmt.desired(spec, current)
    steps, before, after = [], {}, {}
    for path, content in wanted.items():
        snapshot = current[path]
        step = _step(fmt, path, content, snapshot)
        if step is not None:
            steps.append(step)
            before[path] = _header(snapshot), snapshot.text if snapshot.kind == "file" else ""
            after[path] = path, content or ""
    result = _diff(primary, current, wanted, before, after)
    result.steps.extend(steps)
    result.warnings.extend(getattr(current, "warnings", ()))
    return result


def _header(snapshot):
    if snapshot.kind == "symlink":
        return f"{snapshot.path} (symbolic link to {snapshot.link_target})"
    return snapshot.path


def _step(fmt, path, content, snapshot):
    """The write or removal that brings ``path`` from ``snapshot`` to ``content`` (None: remove)."""
    undo = _undo(snapshot)
    if content is None:
        if snapshot.kind == "file":
            return Step(f"remove {path}", "remove_file", {"path": path}, undo)
        if snapshot.kind == "symlink":
            return Step(f"remove the symbolic link {path} (not its target {snapshot.link_target})", "remove_file",
                        {"path": path}, None)
        return None
    args = {"path": path, "content": content, "mode": fmt.MODE}
    if snapshot.kind == "absent":
        return Step(f"create {path}", "write_file", args, undo)
    if snapshot.kind == "symlink":
        return Step(f"replace the symbolic link {path} (to {snapshot.link_target}) with a regular file",
                    "write_file", args, None)
    if snapshot.data != content.encode("utf-8"):
        return Step(fmt.describe(path, snapshot.text, content), "write_file", args, undo)
    if snapshot.mode != fmt.MODE:
        return Step(f"set the mode of {path} from {snapshot.mode:04o} to {fmt.MODE:04o}", "write_file", args, undo)
    return None


def _undo(snapshot):
    """The step that puts ``snapshot`` back (``None`` for a symbolic link, which is never recreated)."""
    if snapshot.kind == "file":
        return Step(f"restore {snapshot.path}", "restore_file",
                    {"path": snapshot.path, "data": snapshot.data, "mode": snapshot.mode})
    if snapshot.kind == "absent":
        return Step(f"remove {snapshot.path}", "remove_file", {"path": snapshot.path})
    return None


def _diff(primary, current, wanted, before, after):
    """One file changing: its text before and after. Several: each under a ``# PATH`` line."""
    if not before:
        text = current[primary].text if current[primary].kind == "file" else ""
        return Plan(before=text, after=text, before_header=primary, after_header=primary)
    if len(before) == 1:
        path = next(iter(before))
        return Plan(before=before[path][1], after=after[path][1], before_header=before[path][0],
                    after_header=after[path][0])
    names = ", ".join(before)
    return Plan(before="".join(f"# {head}\n{text}" for head, text in before.values()),
                after="".join(f"# {head}\n{text}" for head, text in after.values()),
                before_header=names, after_header=names)


def _result(spec, current, texts):
    primary = next(iter(current))
    content = texts.get(primary, "")
    return {"path": primary, "paths": list(current), "content": content,
            "variables": FORMATS[spec.format].variables(content) if content else {}, "files": texts}


def report(spec, current):
    """The return values from the files as they are (``content`` ``''`` when there is none)."""
    return _result(spec, current, {path: snap.text for path, snap in current.items() if snap.kind == "file"})


def predict(spec, current, planned):
    """The return values the planned run would give (check mode)."""
    texts = {path: snap.text for path, snap in current.items() if snap.kind == "file"}
    for step in planned.steps:
        if step.op == "write_file":
            texts[step.args["path"]] = step.args["content"]
        else:
            texts.pop(step.args["path"], None)
    return _result(spec, current, texts)
