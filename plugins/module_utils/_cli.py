# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``underlay-network``: the command the roles install on every managed host.

``restore`` re-applies ``state_dir`` (at boot), ``watch`` re-attaches containers when they
start, ``status`` prints the inspect view and exits 1 on drift, ``dns`` answers the endpoints'
name lookups. All three run the modules'
own engine (``_restore``, ``_watch``, ``_resources``); nothing here decides anything.
Exit status: 0 fine, 1 a problem (or drift), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
import threading

from ansible_collections.underlay.network.plugins.module_utils import _restore, _runner
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._resources import NETWORK_INFO
from ansible_collections.underlay.network.plugins.module_utils._store import DEFAULT_STATE_DIR


def _parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", default=argparse.SUPPRESS,
                        help=f"where the networks and leases are recorded (default {DEFAULT_STATE_DIR})")
    common.add_argument("--netns", default=argparse.SUPPRESS,
                        help="the named network namespace that is the host (default: this namespace)")
    parser = argparse.ArgumentParser(prog="underlay-network", parents=[common],
                                     description="Keep underlay.network networks and endpoints without Ansible.")
    commands = parser.add_subparsers(dest="command", required=True)
    restore = commands.add_parser("restore", parents=[common], help="re-apply every recorded network and the"
                                  " endpoints of running containers and namespaces")
    restore.add_argument("--quiet", action="store_true", help="print problems only")
    restore.add_argument("--boot", action="store_true", help="at boot, before the container runtimes: the networks"
                         " only; no runtime is asked (asking Docker through its socket would start it, and"
                         " watch attaches containers as they start)")
    commands.add_parser("watch", parents=[common], help="re-attach containers' endpoints when they start")
    dns = commands.add_parser("dns", parents=[common], help="answer the endpoints' name lookups at 127.0.0.11"
                              " inside their namespaces (started by the modules when none runs)")
    dns.add_argument("--exit-when-idle", action="store_true",
                     help="stop once no endpoint's namespace is left to serve (how the modules start it)")
    status = commands.add_parser("status", parents=[common], help="the networks and endpoints; exit 1 on drift")
    status.add_argument("names", nargs="*", metavar="NETWORK", help="only these networks")
    return parser


def main(argv=None, out=None):
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    state_dir = getattr(args, "state_dir", DEFAULT_STATE_DIR)
    netns = getattr(args, "netns", None)
    if args.command == "restore":
        return _print_restore(_restore.restore(state_dir, netns, endpoints=not args.boot), args.quiet, out)
    if args.command == "status":
        return _status(state_dir, netns, args.names, out)
    if args.command == "dns":
        return _dns(state_dir, netns, args.exit_when_idle)
    from ansible_collections.underlay.network.plugins.module_utils import _watch  # only the watcher needs it
    return _watch.watch(state_dir, netns)


def _dns(state_dir, netns, exit_when_idle=False):
    """Serve names until SIGTERM, from inside ``netns`` when given (so the host's resolvers are
    asked from the host's namespace)."""
    from ansible_collections.underlay.network.plugins.module_utils import _dns_service  # needs dnspython
    from ansible_collections.underlay.network.plugins.module_utils._sdnotify import notify
    if netns:
        _dns_service.enter(netns)
    stop = threading.Event()
    _dns_service.stop_on_signals(stop)
    _dns_service.serve(state_dir, stop=stop, ready=lambda: notify("READY=1"), exit_when_idle=exit_when_idle)
    return 0


def _say(out, line):
    out.write(f"{line}\n")
    out.flush()


def _print_restore(report, quiet, out):
    if not quiet:
        for line in report.actions:
            _say(out, line)
        for line in report.skipped:
            _say(out, f"skipped: {line}")
    for line in report.problems:
        _say(out, f"problem: {line}")
    if not quiet:
        _say(out, f"restore: {'changed' if report.changed else 'nothing to change'}, {len(report.problems)} problem(s)")
    return 1 if report.problems else 0


def _status(state_dir, netns, names, out):
    params = {"state_dir": state_dir, "netns": netns, "name": names or None}
    try:
        networks = _runner.run(NETWORK_INFO, params)["networks"]
    except UnderlayError as err:
        _say(out, f"problem: {err}")
        return 1
    drifted = 0
    for network in networks:
        for line in status_lines(network):
            _say(out, line)
        drifted += len(network["drift"])
    _say(out, f"{len(networks)} network(s), {drifted} drift(s)")
    return 1 if drifted else 0


def status_lines(network):
    """One network of ``network_info`` as text: a header, its endpoints, its drift."""
    config = network["IPAM"]["Config"][0]
    options = " ".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in sorted(network["Options"].items()))
    lines = [f"{network['Name']}  driver={network['Driver']}  subnet={config['Subnet']}  gateway={config['Gateway']}"
             f"  {options}".rstrip()]
    for endpoint in sorted(network["Containers"].values(), key=lambda e: e["Name"]):
        ports = ", ".join(f"{bound['HostIp']}:{bound['HostPort']}->{port}"  # as docker ps shows them
                          for port, binds in sorted(endpoint.get("Ports", {}).items()) for bound in binds)
        lines.append(f"  {endpoint['Name']}  {endpoint['IPv4Address'] or endpoint['IPv6Address']}"
                     f"  {endpoint['MacAddress']}" + (f"  {ports}" if ports else ""))
    lines.extend(f"  drift: {line}" for line in network["drift"])
    return lines
