# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container start events of one runtime (Docker or Podman), read from its ``events``
command: which command to run (an argv list, never a shell), which container a line of its
JSON output says has started, and a running subscription whose lines a thread turns into
messages on a queue.

Both commands take ``--since`` (a Unix time with a fraction): a subscription replays the
starts from that moment on, so a container that starts while the command is still
connecting is not missed.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections import deque
from dataclasses import dataclass
from typing import Optional

RUNTIMES = ("docker", "podman")
# what Docker and Podman accept as a container name (the CLI refuses anything else)
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def events_argv(runtime, since):
    """The command that follows ``runtime``'s container start events from ``since`` (Unix time)."""
    stamp = f"{since:.3f}"
    if runtime == "docker":
        return ["docker", "events", "--since", stamp, "--format", "{{json .}}", "--filter", "type=container",
                "--filter", "event=start"]
    if runtime == "podman":
        return ["podman", "events", "--since", stamp, "--format", "json", "--filter", "event=start", "--filter",
                "type=container"]
    raise ValueError(f"unknown runtime {runtime!r}")


def started(runtime, line):
    """The name of the container ``line`` (one JSON event of ``runtime``) says has started,
    or None (another event, or a line that is not one)."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("Type") != "container":
        return None
    if runtime == "docker":
        actor = event.get("Actor") if isinstance(event.get("Actor"), dict) else {}
        attributes = actor.get("Attributes") if isinstance(actor.get("Attributes"), dict) else {}
        action, name = event.get("Action") or event.get("status"), attributes.get("name")
    else:
        action, name = event.get("Status"), event.get("Name")
    if action != "start" or not isinstance(name, str):
        return None
    name = name.lstrip("/")
    return name if _NAME.match(name) else None


@dataclass(frozen=True)
class Message:
    """What a subscription reports: ``kind`` "start" (``name`` started) or "ended" (the
    command exited; ``detail`` says how)."""

    kind: str
    runtime: str
    name: Optional[str] = None
    detail: Optional[str] = None
    stream: object = None


class Subscription:
    """One running ``events`` command of ``runtime``; a reader thread puts a ``Message`` on
    ``sink`` for every start and one "ended" message when the command exits."""

    def __init__(self, runtime, since, sink):
        self.runtime = runtime
        self.argv = events_argv(runtime, since)
        self._sink = sink
        self._errors = deque(maxlen=5)
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            errors="replace", close_fds=True)
        self._stderr = threading.Thread(target=self._read_errors, daemon=True)
        self._stderr.start()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def _read_errors(self):
        for line in self.proc.stderr:
            if line.strip():
                self._errors.append(line.strip())

    def _read(self):
        for line in self.proc.stdout:
            name = started(self.runtime, line)
            if name is not None:
                self._sink.put(Message("start", self.runtime, name=name, stream=self))
        code = self.proc.wait()
        self._stderr.join(timeout=2)
        said = self._errors[-1] if self._errors else "no message"
        self._sink.put(Message("ended", self.runtime, detail=f"exit status {code}: {said}", stream=self))

    def stop(self, timeout=5.0):
        """End the command (SIGTERM, then SIGKILL) and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=timeout)
