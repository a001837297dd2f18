# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names resolver as a service of one ``state_dir``: who runs it, what it serves, and the
handshake that lets a module return only once the names it just changed resolve.

One resolver per state_dir: it holds ``dns/resolver.lock`` (flock) for as long as it runs, so a
second one started meanwhile waits for the lock instead of serving twice. It follows the state
directory (a change of ``networks/``, ``leases/`` or ``peers/`` is a rename, which changes the directory's
mtime) and after each change writes ``dns/served``: each network's fingerprint of what it now
serves (``fingerprints``). A module that changed the records computes the same fingerprints from
the same files and waits for them (``serves``), for the networks it changed only, reading no
other network's file; a lease file the resolver cannot read is
logged and that network keeps what was served of it. ``release`` (``dns/release``, answered in
``dns/released``) has it let go of gone namespaces and read everything again at once: what a
run that makes a restarted container's endpoints again asks first.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

from ansible_collections.underlay.network.plugins.module_utils import _dns_records
from ansible_collections.underlay.network.plugins.module_utils._dns_server import Resolver, host_upstreams
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._netns import enter_for_good
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir

DNS_DIR = "dns"
LOCK = "resolver.lock"
SERVED = "served"
LOG = "resolver.log"
WATCHED = ("networks", "leases", "peers")
RELEASE = "release"    # a run that re-makes endpoints asks: let go of the gone namespaces now (a token)
RELEASED = "released"  # the resolver's answer: that token, and the namespaces it still serves
RELEASE_TIMEOUT = 2.0
POLL_SECONDS = 0.05  # a gone namespace is let go this soon (a listener in it keeps it alive)
PRUNE_SECONDS = 5.0
# how long a module waits for the resolver to serve its records: a cold start (Python, dnspython,
# libnftables) takes a few seconds on a busy host and far longer on an emulated one (the lab's VM)
START_TIMEOUT = 60.0
# what ``start`` runs: this file itself, not _cli (a module's AnsiballZ payload carries only
# the files the module imports, and is deleted once the module returns)
_BOOT = ("import sys\n"
         "from ansible_collections.underlay.network.plugins.module_utils import _dns_service\n"
         "sys.exit(_dns_service.detached(sys.argv[1:]))\n")


def _path(state_dir, name):
    return os.path.join(state_dir, DNS_DIR, name)


def served_networks(state_dir, only=None, unreadable=None):
    """``{network: (leases, peers)}`` of every stored network with ``dns`` on (the default): its
    local leases and the records of its endpoints on other hosts (network_peers); or
    of those of them in ``only``. ``unreadable`` (a dict): a network whose file cannot be read
    is left out and named there with why, instead of refusing them all."""
    store = StateDir(state_dir)
    found = {}
    for name, definition in store.networks().items():
        if not definition.get("dns", True) or (only is not None and name not in only):
            continue
        try:
            found[name] = (store.leases(name)["leases"], _dns_records.peer_records(store.peers(name)))
        except UnderlayError as err:
            if unreadable is None:
                raise
            unreadable[name] = str(err)
    return found


def fingerprints(networks):
    """``{network: fingerprint}`` of each network's members (names, address, namespace): a run
    waits for the networks it changed only, so a file it does not need is never read."""
    return {name: hashlib.sha256(json.dumps([[list(m.names), m.address, m.netns_path]
                                             for m in _dns_records.members(leases, peers)]).encode()).hexdigest()
            for name, (leases, peers) in networks.items()}


EMPTY = fingerprints({"": ({}, ())})[""]  # a network with no member (or none the resolver knows)


def serves(served, networks):
    """Whether a resolver that reports ``served`` (``served_fingerprints``) serves ``networks``
    (``{network: (leases, peers)}``) as they are: the one question every module asks of it."""
    return served is not None and all(served.get(name, EMPTY) == value
                                      for name, value in fingerprints(networks).items())


# -- the service side -------------------------------------------------------------
def serve(state_dir, upstreams=None, stop=None, ready=None, exit_when_idle=False):
    """Run the resolver of ``state_dir`` until ``stop`` (a threading.Event) is set or SIGTERM.

    ``ready()`` is called once the first views are served (systemd's READY=1).
    ``exit_when_idle`` (a resolver a module started, not the systemd unit): stop once no
    namespace is left to serve (every endpoint's namespace gone) or the state directory is;
    the next module run that needs one starts it again."""
    os.makedirs(os.path.join(state_dir, DNS_DIR), mode=0o755, exist_ok=True)
    stop = stop or threading.Event()
    lock = os.open(_path(state_dir, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second resolver waits here, as a standby
        os.ftruncate(lock, 0)
        os.write(lock, f"{os.getpid()}\n".encode())
        resolver = Resolver(host_upstreams() if upstreams is None else upstreams)
        server = threading.Thread(target=resolver.serve, name="underlay-dns-serve", daemon=True)
        server.start()
        try:
            _follow(state_dir, resolver, stop, ready, exit_when_idle)
        finally:
            resolver.stop()
            server.join(10)
            resolver.close()
            _remove(_path(state_dir, SERVED))
    finally:
        os.close(lock)


def _follow(state_dir, resolver, stop, ready, exit_when_idle=False):
    seen = idle_since = None
    pruned, last_good, logged, answered = time.monotonic(), {}, {}, None
    while not stop.is_set():
        # a namespace that went (a container stopped or restarted) is let go at once: a listener
        # held in it keeps it alive, and with it the endpoint a restarted container gets again;
        # a run about to make that endpoint again asks first (``release``), and is answered
        # only after a prune that followed its question
        asked = _read_json(_path(state_dir, RELEASE))
        asked = asked if asked != answered else None
        listening = resolver.served
        resolver.prune()
        if resolver.served != listening or asked is not None:  # asked: read again at once too
            seen = None
        marks = _marks(state_dir)
        if marks != seen or time.monotonic() - pruned > PRUNE_SECONDS:
            unreadable = {}
            try:
                networks = served_networks(state_dir, unreadable=unreadable)
            except UnderlayError as err:  # the networks themselves cannot be read: keep serving
                _report(state_dir, [str(err)], fingerprints(last_good))
            else:
                # a corrupt lease file: that network keeps what was served of it, the rest follow
                networks.update((name, last_good[name]) for name in unreadable if name in last_good)
                last_good = dict(networks)
                if unreadable != logged:
                    for why in sorted(set(unreadable.values()) - set(logged.values())):
                        sys.stderr.write(f"underlay-network dns: {why}; serving the other networks\n")
                        sys.stderr.flush()
                    logged = unreadable
                views = _dns_records.views(networks)
                resolver.update(views)
                # a namespace that is gone (a stopped container) needs no names: not a problem, and
                # the report does not change because a container stopped
                _report(state_dir, sorted(unreadable.values()) + [
                    f"{path}: {why}" for path, why in sorted(resolver.problems.items()) if os.path.exists(path)],
                    {name: value for name, value in fingerprints(networks).items() if name not in unreadable})
                if ready is not None:
                    ready()
                    ready = None
            seen, pruned = marks, time.monotonic()
        if asked is not None:
            _write_json(_path(state_dir, RELEASED), {"token": asked, "held": resolver.held})
            answered = asked
        if exit_when_idle:  # idle for a while (a module waiting for the report has read it): stop
            if resolver.served and os.path.isdir(state_dir):
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > PRUNE_SECONDS:
                break
        stop.wait(POLL_SECONDS)


def _marks(state_dir):
    marks = []
    for kind in WATCHED:
        try:
            marks.append(os.stat(os.path.join(state_dir, kind)).st_mtime_ns)
        except FileNotFoundError:
            marks.append(None)
    return tuple(marks)


def _report(state_dir, problems, networks):
    """``dns/served``: each network's fingerprint as read now (a network
    whose file cannot be read is left out), and why a namespace or network is not served
    (atomic: the waiter reads it). A network with no member is left out, as a waiter reads a
    missing one (EMPTY): creating or removing a network with no endpoint leaves the file as it was."""
    networks = {name: value for name, value in networks.items() if value != EMPTY}
    _write_json(_path(state_dir, SERVED), {"networks": networks, "problems": problems})


def _write_json(target, data):
    temporary = f"{target}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.rename(temporary, target)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (FileNotFoundError, ValueError):
        return None


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# -- the module side --------------------------------------------------------------
def running(state_dir):
    """Whether a resolver holds the state directory's lock now."""
    try:
        fd = os.open(_path(state_dir, LOCK), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(fd)
    return False


def served_fingerprints(state_dir):
    """``{network: fingerprint}`` the running resolver of ``state_dir`` serves ({} while it
    starts), or None when none runs."""
    if not running(state_dir):
        return None
    return dict((_read_report(state_dir) or {}).get("networks") or {})


def release(state_dir, timeout=RELEASE_TIMEOUT):
    """Have the running resolver let go now of every namespace that is gone (a container that
    stopped or restarted): its listeners there would keep the old namespace, and the endpoint
    in it, alive while the restarted container's endpoint is made again (the same MAC on the
    same parent); and read the state directory again at once (a namespace it could not serve
    yet, its loopback down, is served once it is up). Returns ``{netns_path: inode}`` of the namespaces it holds after that, or
    None when none runs (or it did not answer within ``timeout``: it lets go by itself within
    ``POLL_SECONDS``)."""
    if not running(state_dir):
        return None
    token = uuid.uuid4().hex
    _write_json(_path(state_dir, RELEASE), token)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            answer = _read_json(_path(state_dir, RELEASED)) or {}
            if answer.get("token") == token:
                return answer.get("held", {})
            if not running(state_dir):
                return None
            time.sleep(POLL_SECONDS / 5)
        return None
    finally:  # the question and its answer go: a run that changes nothing leaves state_dir as it was
        _remove(_path(state_dir, RELEASE))
        _remove(_path(state_dir, RELEASED))


def start(state_dir, netns=None):
    """Start the resolver of ``state_dir`` in the background (detached from this process, so it
    outlives a module run; no systemd needed). Its output goes to ``dns/resolver.log``."""
    os.makedirs(os.path.join(state_dir, DNS_DIR), mode=0o755, exist_ok=True)
    origin = getattr(__spec__, "origin", None) or ""
    if sys.argv and sys.argv[0] and origin.startswith(f"{sys.argv[0]}:"):  # run by the underlay-network command
        argv = [sys.executable, sys.argv[0], "dns", "--state-dir", state_dir, "--exit-when-idle"] + \
            (["--netns", netns] if netns else [])
    else:  # a module (its AnsiballZ payload, or the collection's files): through sys.path
        argv = [sys.executable, "-c", _BOOT, state_dir] + ([netns] if netns else [])
    paths = [entry for entry in sys.path if entry]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    with open(_path(state_dir, LOG), "ab") as log:
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,  # pylint: disable=consider-using-with
                         start_new_session=True, close_fds=True, cwd="/")


def detached(argv):
    """The resolver ``start`` runs: ``STATE_DIR [NETNS]``; it stops once it has nothing to serve."""
    state_dir, netns = argv[0], (argv[1] if len(argv) > 1 else None)
    if netns:
        enter(netns)
    stop = threading.Event()
    stop_on_signals(stop)
    serve(state_dir, stop=stop, exit_when_idle=True)
    return 0


def ensure(state_dir, netns=None, timeout=START_TIMEOUT, networks=None):
    """Make sure the names in ``state_dir`` resolve now: start the resolver if none runs, then
    wait until it serves exactly what the state directory says of ``networks`` (None: of every
    network; only those are read). Returns its problems."""
    read = served_networks(state_dir, only=networks)
    if not _dns_records.views(read):  # no name to serve: nothing to wait for (a running resolver follows by itself)
        return []
    wanted = fingerprints(read)
    if not running(state_dir):
        start(state_dir, netns)
    else:  # read again at once: a namespace whose loopback the run just set up is served now
        release(state_dir)
    deadline = time.monotonic() + timeout
    while True:
        report = _read_report(state_dir)
        if report and report.get("networks") is not None and all(
                (report["networks"].get(name) or EMPTY) == value for name, value in wanted.items()):
            return report.get("problems", [])
        if time.monotonic() > deadline:
            raise UnderlayError(f"the names resolver of {state_dir} did not serve the new records within {timeout:.0f} s"
                                f" (see {_path(state_dir, LOG)})", "dns", True)
        time.sleep(0.05)


def _read_report(state_dir):
    try:
        with open(_path(state_dir, SERVED), encoding="utf-8") as handle:
            return json.load(handle)
    except (FileNotFoundError, ValueError):
        return None


def enter(netns):
    """Move this process (its only thread, before it starts others) into the named namespace
    ``netns`` for good: the resolver of a host that is a namespace asks that host's resolvers."""
    enter_for_good(os.path.join("/run/netns", netns))


def stop_on_signals(stop):
    """SIGTERM and SIGINT set ``stop`` (a clean shutdown closes every listener)."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
