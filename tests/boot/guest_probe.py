# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs in the guest (fed to its python3 on stdin by the boot lane).

    python3 - facts   '{"containers": [...], "links": [...]}'
    python3 - matrix  '[{"name": ..., "from": "host"|"upstream"|CONTAINER, "to": ADDRESS}, ...]'
    python3 - restart '{"container": NAME, "address": ADDRESS, "limit_s": SECONDS}'

``facts`` prints each container's interfaces (name, MAC, addresses, routes; read in its
network namespace) and the host's given links; ``matrix`` pings every entry at once and
prints which answered; ``restart`` runs ``podman restart`` and times how long until the
container's address answers ping from the upstream switch. Each prints one JSON document. Only the standard library: this runs
with the guest's own python3 before the collection has put anything there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def run(argv, timeout=30):
    """argv's result; a command that hangs (a busy podman, a stuck namespace) counts as failed."""
    try:
        return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"timed out after {timeout} s")


def container_pid(name):
    proc = run(["podman", "inspect", "--format", "{{.State.Pid}}", name])
    pid = proc.stdout.strip()
    return int(pid) if proc.returncode == 0 and pid.isdigit() and int(pid) > 0 else None


def in_netns(where, argv):
    """argv in the network namespace of 'host', 'upstream' or a container."""
    if where == "host":
        return argv
    if where == "upstream":
        return ["ip", "netns", "exec", "upstream", *argv]
    pid = container_pid(where)
    if pid is None:
        return None
    return ["nsenter", f"--net=/proc/{pid}/ns/net", *argv]


def links(where, names=None):
    argv = in_netns(where, ["ip", "-j", "-d", "addr", "show"])
    if argv is None:
        return None
    proc = run(argv)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()}
    out = {}
    for link in json.loads(proc.stdout or "[]"):
        if link["ifname"] == "lo" or (names is not None and link["ifname"] not in names):
            continue
        kind = (link.get("linkinfo") or {}).get("info_kind")
        out[link["ifname"]] = {
            "mac": link.get("address"),
            "kind": kind,
            "up": "UP" in link.get("flags", []),
            "addresses": sorted(f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
                                if a.get("family") == "inet"),
        }
    return out


def routes(where):
    argv = in_netns(where, ["ip", "-j", "-4", "route", "show"])
    if argv is None:
        return None
    proc = run(argv)
    return sorted(f"{r['dst']} via {r.get('gateway', '-')} dev {r.get('dev')}"
                  for r in json.loads(proc.stdout or "[]"))


def facts(spec):
    return {
        "containers": {name: {"links": links(name), "routes": routes(name)} for name in spec["containers"]},
        "host": links("host", set(spec["links"])),
    }


def ping(entry):
    argv = in_netns(entry["from"], ["ping", "-c", "2", "-i", "0.2", "-W", "2", "-q", entry["to"]])
    if argv is None:
        return entry["name"], False
    return entry["name"], run(argv).returncode == 0


def matrix(entries):
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(ping, entries))


def restart(spec):
    start = time.monotonic()
    proc = run(["podman", "restart", "--time", "0", spec["container"]])
    restarted = time.monotonic()
    answered = False
    if proc.returncode == 0:
        while time.monotonic() - restarted < spec["limit_s"]:
            if run(["ip", "netns", "exec", "upstream", "ping", "-c", "1", "-W", "1", "-q",
                    spec["address"]]).returncode == 0:
                answered = True
                break
            time.sleep(0.05)
    return {"restart_s": round(restarted - start, 2), "answer_after_s": round(time.monotonic() - restarted, 2),
            "answered": answered, "podman": proc.stderr.strip()}


def main():
    what, arg = sys.argv[1], json.loads(sys.argv[2])
    result = {"facts": facts, "matrix": matrix, "restart": restart}[what](arg)
    json.dump(result, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
