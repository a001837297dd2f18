# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn bench.py's raw samples into the side-by-side table (medians, ratios to the CNI loop),
the targets of the issue with the measured numbers, and the plot of time per endpoint.

    python report.py results.json [--markdown FILE] [--plot FILE.png] [--readme README.md]

--readme replaces the part of that file between the results markers with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

LABELS = {
    "e2e": "collection, ansible-playbook (1 batched task)",
    "engine": "collection, engine alone",
    "floor": "floor: the engine's kernel writes, raw",
    "cni": "CNI plugin loop",
    "ip": "`ip` command loop",
    "docker": "`docker network connect` loop",
    "e2e-docker": "collection, ansible-playbook (container: NAME)",
    "site": "site.yml (roles, batched endpoints)",
    "command": "same number of `command` tasks",
    "docker-restart": "Docker's own network (`docker restart`)",
    "watch-docker": "collection + `underlay-network watch`, Docker container",
    "watch-podman": "collection + `underlay-network watch`, Podman container",
    "lookup-collection": "collection's resolver (bridge network, `dns: true`)",
    "lookup-docker": "Docker's embedded DNS (user-defined bridge network)",
    "engine-nodns": "collection, engine alone: names off, nothing published",
    "engine-publish": "collection, engine alone: `dns: true`, one `publish` each",
    "engine-dns": "collection, engine alone: `dns: true` only",
    "engine-publish-only": "collection, engine alone: one `publish` each only",
    "e2e-nodns": "collection, ansible-playbook: names off, nothing published",
    "e2e-publish": "collection, ansible-playbook: `dns: true`, one `publish` each",
    "docker-run": "`docker start` loop, made by `docker create --network NET` (names always on)",
    "docker-run-publish": "`docker start` loop, made by `docker create --network NET -p PORT:80`",
}
# the names bench (bench/names.py): each peer without publish and names, then with them
PUBLISH_PAIRS = (("engine-nodns", "engine-publish", "engine-dns", "engine-publish-only"), ("e2e-nodns", "e2e-publish"),
                 ("docker-run", "docker-run-publish"))
RESTART_PEERS = ("docker-restart", "watch-docker", "watch-podman")
SIZE_PEERS = ("e2e", "engine", "floor", "cni", "ip")
TITLES = {"dualstack": "dual-stack macvlan"}  # a driver's name in the tables, where it is not the driver's own
TARGET_DRIVERS = ("macvlan", "bridge")  # issue 7's targets; ipvlan (issue 18) is compared, not held to them
START, END = "<!-- results:start -->", "<!-- results:end -->"


def medians(samples):
    groups = {}
    for s in samples:
        groups.setdefault((s["driver"], s["n"], s["peer"], s["phase"]), []).append(s["seconds"])
    return {key: (statistics.median(v) if v and all(x is not None for x in v) else None)
            for key, v in groups.items()}


def ms(value):
    return "n/a" if value is None else (f"{value * 1000:.0f}" if value >= 1 else f"{value * 1000:.1f}")


def ratio(value, base):
    return "n/a" if value is None or not base else f"{value / base:.2f}×"


def per_ep(value, n):
    return "n/a" if value is None else f"{value * 1000 / n:.2f}"


def size_tables(data, med):
    lines = []
    drivers = sorted({s["driver"] for s in data["samples"] if s["peer"] in SIZE_PEERS},
                     key=lambda d: (d != "macvlan", d))
    for driver in drivers:
        peers = [p for p in SIZE_PEERS if any(k[0] == driver and k[2] == p for k in med)]
        sizes = sorted({k[1] for k in med if k[0] == driver and k[2] in peers})
        lines += [f"#### {TITLES.get(driver, driver)} network", "",
                  "| N | peer | attach ms | ms/endpoint | × CNI | no-op re-run ms | × CNI | no-op / attach |"
                  " detach ms | × CNI |",
                  "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for n in sizes:
            base = {phase: med.get((driver, n, "cni", phase)) for phase in ("attach", "noop", "detach")}
            for peer in peers:
                get = {phase: med.get((driver, n, peer, phase)) for phase in ("attach", "noop", "detach")}
                noop_share = "n/a" if get["noop"] is None or not get["attach"] else f"{get['noop'] / get['attach']:.2f}"
                lines.append(f"| {n} | {LABELS[peer]} | {ms(get['attach'])} | {per_ep(get['attach'], n)} |"
                             f" {ratio(get['attach'], base['attach'])} | {ms(get['noop'])} |"
                             f" {ratio(get['noop'], base['noop'])} | {noop_share} | {ms(get['detach'])} |"
                             f" {ratio(get['detach'], base['detach'])} |")
        lines.append("")
    return lines


def docker_table(med):
    keys = sorted({(k[0], k[1]) for k in med if k[2] in ("docker", "e2e-docker")})
    if not keys:
        return []
    lines = ["#### Real Docker containers (private dockerd)", "",
             "| network | N | peer | attach ms | ms/container | × docker | no-op ms | detach ms | × docker |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for driver, n in keys:
        base = {phase: med.get((driver, n, "docker", phase)) for phase in ("attach", "detach")}
        for peer in ("docker", "e2e-docker"):
            get = {phase: med.get((driver, n, peer, phase)) for phase in ("attach", "noop", "detach")}
            lines.append(f"| {TITLES.get(driver, driver)} | {n} | {LABELS[peer]} | {ms(get['attach'])} |"
                         f" {per_ep(get['attach'], n)} |"
                         f" {ratio(get['attach'], base['attach'])} | {ms(get['noop'])} | {ms(get['detach'])} |"
                         f" {ratio(get['detach'], base['detach'])} |")
    return lines + [""]


def fleet_table(med):
    keys = sorted({k[1] for k in med if k[0] == "fleet"})
    if not keys:
        return []
    lines = ["#### Fleet: site.yml against namespace hosts over SSH", "",
             "| hosts | run | first run s | no-op re-run s | × command play (first) | × command play (re-run) |",
             "|---:|---|---:|---:|---:|---:|"]
    for n in keys:
        base = {phase: med.get(("fleet", n, "command", phase)) for phase in ("attach", "noop")}
        for peer in ("site", "command"):
            get = {phase: med.get(("fleet", n, peer, phase)) for phase in ("attach", "noop")}
            lines.append(f"| {n} | {LABELS[peer]} | {secs(get['attach'])} | {secs(get['noop'])} |"
                         f" {ratio(get['attach'], base['attach'])} | {ratio(get['noop'], base['noop'])} |")
    return lines + [""]


def restart_table(med):
    """Re-attach after a restart (bench/restart.py): medians over the restarts."""
    keys = sorted({(k[0], k[1]) for k in med if k[2] in RESTART_PEERS}, key=lambda k: (k[0] != "macvlan", k))
    if not keys:
        return []
    lines = ["#### Re-attach after a container restart (issue 15)", "",
             "| network | restarts | peer | start event → answering ping, ms | outage seen by the pinger, ms |"
             " outage × Docker's |", "|---|---:|---|---:|---:|---:|"]
    for driver, n in keys:
        base = med.get((driver, n, "docker-restart", "outage"))
        for peer in RESTART_PEERS:
            reattach, outage = med.get((driver, n, peer, "reattach")), med.get((driver, n, peer, "outage"))
            lines.append(f"| {driver} | {n} | {LABELS[peer]} | {ms(reattach)} | {ms(outage)} | {ratio(outage, base)} |")
    return lines + [""]


def restart_targets(med):
    """Issue 15's targets: re-attach within 2 s of the start event, and no worse than 1.5×
    Docker's own (compared as the outage a peer sees: Docker wires its network before it
    reports the start, so its event-to-answer time is about zero or below)."""
    rows = []
    for driver, n in sorted({(k[0], k[1]) for k in med if k[2] in RESTART_PEERS},
                            key=lambda k: (k[0] != "macvlan", k)):
        docker = med.get((driver, n, "docker-restart", "outage"))
        own = med.get((driver, n, "docker-restart", "reattach"))
        for peer in ("watch-docker", "watch-podman"):
            reattach, outage = med.get((driver, n, peer, "reattach")), med.get((driver, n, peer, "outage"))
            who = peer.split("-")[1].capitalize()
            if reattach is not None:
                rows.append(f"| {driver}: {who} container, start event → answering (median of {n}) |"
                            f" {ms(reattach)} ms | ≤ 2000 ms | {'met' if reattach <= 2.0 else '**not met**'} |")
            if outage is not None and docker:
                share = outage / docker
                verdict = "met" if share <= 1.5 else "**not met**"
                rows.append(f"| {driver}: {who} container, outage vs Docker's own network | {share:.2f}×"
                            f" ({ms(outage)} vs {ms(docker)} ms) | ≤ 1.5× | {verdict} |")
        if own is not None:
            rows.append(f"| {driver}: Docker's own start event → answering | {ms(own)} ms | — | reference |")
    if not rows:
        return []
    return ["#### Targets (issue 15)", "", "| target | measured | limit | |", "|---|---|---:|---|"] + rows + [""]


def names_tables(data, med):
    """Issue 17: lookups per second against Docker's embedded DNS, and attach with publish and
    names against the same attach without them (each peer against itself)."""
    lines = []
    keys = sorted({k[1] for k in med if k[0] == "names"})
    if keys:
        clients = sorted({s.get("clients") for s in data["samples"] if s["driver"] == "names"} - {None})
        lines += ["#### Names: lookups per second from one container (issue 17)", "",
                  f"One endpoint asks 127.0.0.11 for another endpoint's name (A, UDP), {'/'.join(map(str, clients))}"
                  " concurrent clients (`bench/dnsload.py`, dnspython), the same client for both.", "",
                  "| queries | resolver | seconds | queries/s | × Docker |", "|---:|---|---:|---:|---:|"]
        for n in keys:
            base = med.get(("names", n, "lookup-docker", "lookup"))
            for peer in ("lookup-docker", "lookup-collection"):
                value = med.get(("names", n, peer, "lookup"))
                if value is None:
                    continue
                rate = n / value
                share = "n/a" if not base else f"{rate / (n / base):.2f}×"
                lines.append(f"| {n} | {LABELS[peer]} | {value:.3f} | {rate:.0f} | {share} |")
        lines.append("")
    sizes = sorted({k[1] for k in med if k[0] == "publish"})
    if sizes:
        lines += ["#### Attach with published ports and names (issue 17)", "",
                  "| N | peer | attach ms | ms/endpoint | × without | added ms/endpoint | no-op ms | detach ms |",
                  "|---:|---|---:|---:|---:|---:|---:|---:|"]
        for n in sizes:
            for bare, *full in PUBLISH_PAIRS:
                base = med.get(("publish", n, bare, "attach"))
                for peer in (bare, *full):
                    get = {phase: med.get(("publish", n, peer, phase)) for phase in ("attach", "noop", "detach")}
                    if get["attach"] is None:
                        continue
                    added = "—" if peer == bare or base is None else f"{(get['attach'] - base) * 1000 / n:.2f}"
                    lines.append(f"| {n} | {LABELS[peer]} | {ms(get['attach'])} | {per_ep(get['attach'], n)} |"
                                 f" {ratio(get['attach'], base)} | {added} | {ms(get['noop'])} | {ms(get['detach'])} |")
        lines.append("")
    return lines


def secs(value):
    return "n/a" if value is None else f"{value:.2f}"


def targets(med):
    """Issue 7's targets with the measured numbers (macvlan and bridge alike)."""
    rows = []

    def check(what, value, limit, shown):
        if value is None:
            rows.append(f"| {what} | not measured | {'—' if limit is None else f'≤ {limit}'} | — |")
        elif limit is None:
            rows.append(f"| {what} | {shown} | — | reference |")
        else:
            rows.append(f"| {what} | {shown} | ≤ {limit} | {'met' if value <= limit else '**not met**'} |")

    drivers = sorted({k[0] for k in med if k[2] == "engine"} & set(TARGET_DRIVERS), key=lambda d: (d != "macvlan", d))
    for driver in drivers:
        for n in (200, 1000):
            value = med.get((driver, n, "engine", "attach"))
            check(f"{driver}: engine, ms per endpoint at N={n}", value and value * 1000 / n, 2.5,
                  per_ep(value, n) + " ms")
        for n in (200, 1000):
            value, base = med.get((driver, n, "engine", "attach")), med.get((driver, n, "floor", "attach"))
            share = value / base if value is not None and base else None
            check(f"{driver}: engine vs the floor at N={n}", share, 1.25,
                  ratio(value, base) + f" ({per_ep(value, n)} vs {per_ep(base, n)} ms per endpoint)")
        for n, limit in ((200, 1.0), (1000, 0.5)):
            value, base = med.get((driver, n, "e2e", "attach")), med.get((driver, n, "cni", "attach"))
            share = value / base if value is not None and base else None
            check(f"{driver}: ansible-playbook attach vs CNI loop at N={n}", share, limit,
                  ratio(value, base) + f" ({ms(value)} vs {ms(base)} ms)")
        for peer in ("e2e", "engine"):
            value, base = med.get((driver, 200, peer, "noop")), med.get((driver, 200, peer, "attach"))
            share = value / base if value is not None and base else None
            check(f"{driver}: {peer} no-op re-run vs its attach at N=200", share, 0.3,
                  "n/a" if share is None else f"{share:.2f}× ({ms(value)} vs {ms(base)} ms)")
        for peer in ("e2e", "engine", "floor", "cni"):
            big, small = med.get((driver, 1000, peer, "attach")), med.get((driver, 100, peer, "attach"))
            share = (big / 1000) / (small / 100) if big is not None and small else None
            check(f"{driver}: {peer} ms/endpoint at N=1000 vs N=100", share, 1.2 if peer in ("e2e", "engine") else None,
                  "n/a" if share is None else f"{share:.2f}× ({per_ep(big, 1000)} vs {per_ep(small, 100)} ms)")
    if not rows:
        return []
    return ["#### Targets (issue 7)", "", "| target | measured | limit | |", "|---|---|---:|---|"] + rows + [""]


def machine(data):
    m = data["machine"]
    loads = sorted({s["load"] for s in data["samples"] if s.get("load") is not None})
    load_text = f"{loads[0]:.2f}–{loads[-1]:.2f}" if loads else "n/a"
    return [f"Measured {data['started']} on Linux {m['kernel']}, {m['cpus']} CPUs ({m['cpu']}), "
            f"{m['memory_gib']} GiB; Python {m['python']}, ansible-core {m['ansible_core']}, pyroute2 {m['pyroute2']}, "
            f"{m['iproute2']}, containernetworking-plugins {m['cni_plugins']}, {m['docker']}. "
            f"Medians of {data['reps']} repetitions; 1-minute load average before each repetition: {load_text} "
            f"(at start {data['load_start'][0]:.2f}, at end {data['load_end'][0]:.2f}).", ""]


def markdown(data):
    med = medians(data["samples"])
    lines = machine(data) + targets(med) + restart_targets(med) + size_tables(data, med) + docker_table(med) \
        + restart_table(med) + names_tables(data, med) + fleet_table(med)
    lines += [f"- {note}" for note in data.get("notes", [])]
    return "\n".join(lines).rstrip() + "\n"


def plot(data, path):
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    med = medians(data["samples"])
    drivers = sorted({k[0] for k in med if k[2] in SIZE_PEERS}, key=lambda d: (d != "macvlan", d))
    fig, axes = plt.subplots(1, len(drivers), figsize=(6.5 * len(drivers), 4.8), squeeze=False)
    styles = {"e2e": ("tab:blue", "o-"), "engine": ("tab:green", "s-"), "floor": ("black", "x:"),
              "cni": ("tab:red", "^-"),
              "ip": ("tab:gray", "v--"), "docker": ("tab:purple", "D"), "e2e-docker": ("tab:cyan", "P")}
    for axis, driver in zip(axes[0], drivers):
        for peer, (color, style) in styles.items():
            points = sorted((k[1], v * 1000 / k[1]) for k, v in med.items()
                            if k[0] == driver and k[2] == peer and k[3] == "attach" and v is not None)
            if points:
                axis.plot([p[0] for p in points], [p[1] for p in points], style, color=color, label=LABELS[peer])
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("endpoints attached in one run (N)")
        axis.set_ylabel("ms per endpoint (median)")
        axis.set_title(f"attach to one {TITLES.get(driver, driver)} network")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    fig.suptitle(f"Linux {data['machine']['kernel']}, {data['machine']['cpus']} CPUs — {data['started']}",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--markdown")
    parser.add_argument("--plot")
    parser.add_argument("--readme")
    args = parser.parse_args(argv)
    with open(args.results, encoding="utf-8") as handle:
        data = json.load(handle)
    text = markdown(data)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as handle:
            handle.write(text)
    if args.readme and os.path.exists(args.readme):
        with open(args.readme, encoding="utf-8") as handle:
            readme = handle.read()
        if START in readme and END in readme:
            head, rest = readme.split(START, 1)
            readme = head + START + "\n" + text + END + rest.split(END, 1)[1]
            with open(args.readme, "w", encoding="utf-8") as handle:
                handle.write(readme)
    if args.plot:
        plot(data, args.plot)
    if not (args.markdown or args.plot or args.readme):
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
