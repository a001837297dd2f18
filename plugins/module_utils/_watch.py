# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``underlay-network watch``: give containers their endpoints back when they start.

Docker and Podman make a container a new network namespace at every start, so its macvlan or
bridge endpoint is gone after ``docker restart``. The watcher follows both runtimes' start
events (``_events``; each installed runtime at once) and, for a container whose name owns a
lease in ``state_dir`` (``container:NAME``), calls ``_restore.restore`` for that owner only,
which attaches it again through the modules' own engine with the same IP and MAC.

- A burst of starts is coalesced: the first start is handled at once, and every start that
  arrives meanwhile is handled by the next restore, one for the whole batch.
- After every (re)connect it sweeps: one restore of every running owner, so starts missed
  while it was not subscribed are caught (the subscription also replays from a second before
  it was made, so nothing falls between the two).
- A runtime whose events command ends (a daemon restart) is reconnected with a capped
  backoff; one that is not installed is looked for again every few seconds.
- It never releases a lease itself: restore only attaches owners that are running, and the
  engine releases a lease only when its owner is provably gone.
- Readiness is told to systemd (``READY=1``, ``Type=notify``) as soon as the first
  subscriptions are made: from then on no start is missed (they replay from before they were
  made), and nothing before it waits for a runtime's answer, so a unit ordered before
  docker/podman cannot deadlock on their socket activation. The first sweep follows.
  SIGTERM (or SIGINT) ends the events commands and returns 0.

One line goes to stdout (the journal) per action and per problem.
"""

from __future__ import annotations

import queue
import shutil
import signal
import sys
import threading
import time

from ansible_collections.underlay.network.plugins.module_utils import _events, _sdnotify
from ansible_collections.underlay.network.plugins.module_utils._errors import UnderlayError
from ansible_collections.underlay.network.plugins.module_utils._store import StateDir

RECHECK_SECONDS = 5.0    # a runtime that is not installed is looked for again this often
BACKOFF_FIRST = 0.5      # reconnecting after an events command ended: first wait ...
BACKOFF_CAP = 5.0        # ... doubled each time, never longer than this
SETTLED_SECONDS = 0.3    # a subscription alive this long is connected: sweep then
HEALTHY_SECONDS = 10.0   # a subscription that lived this long ends a new outage: backoff from the start
REPLAY_SECONDS = 1.0     # a subscription replays the starts from this long before it was made
# an endpoint that could not be restored is tried again after these pauses: a restarted
# container's old namespace is torn down by the kernel in the background, and until it is, its
# old macvlan still holds the MAC address on the parent (EADDRINUSE for the new one)
RETRY_SECONDS = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
_STOP = object()


def recorded_owners(state_dir):
    """Every lease owner recorded in ``state_dir`` (read under its lock)."""
    found = set()
    with StateDir(state_dir) as store:
        for network in store.networks():
            found.update(lease["owner"] for lease in store.leases(network)["leases"].values())
    return frozenset(found)


class _Runtime:
    """One runtime's subscription and its reconnect schedule."""

    def __init__(self, name):
        self.name = name
        self.subscription = None
        self.installed = None      # unknown until looked for
        self.next_try = 0.0        # monotonic time of the next (re)connect or look
        self.delay = BACKOFF_FIRST
        self.failures = 0
        self.last_failure = None
        self.started = 0.0         # monotonic time the subscription was made
        self.swept = False         # the sweep after this subscription was done


class Watcher:
    """The watch loop; ``restore`` is ``_restore.restore`` (given, so the command's own
    import decides which engine runs)."""

    def __init__(self, state_dir, netns=None, restore=None, out=None, runtimes=_events.RUNTIMES):
        if restore is None:
            from ansible_collections.underlay.network.plugins.module_utils._restore import restore
        self.state_dir = state_dir
        self.netns = netns
        self.restore = restore
        self.out = out or sys.stdout
        self.runtimes = [_Runtime(name) for name in runtimes]
        self.messages = queue.Queue()
        self.stopping = False
        self.retries = {}          # owner (None: every running owner) -> (attempts so far, monotonic due time)

    def log(self, line):
        self.out.write(f"{line}\n")
        self.out.flush()

    # -- the loop -------------------------------------------------------------------------
    def run(self):
        where = f", netns {self.netns}" if self.netns else ""
        self.log(f"watch: following container starts of {' and '.join(r.name for r in self.runtimes)}"
                 f" (state_dir {self.state_dir}{where})")
        restore_signals = self._catch_signals()
        try:
            self._connect()
            # ready once subscribed: every start from now on is seen (each subscription replays
            # from before it was made), whether or not the runtime's daemon is up yet; so the
            # unit can be ordered before docker/podman, which then start (socket activation
            # included) while the sweep below waits for their answers
            self._notify("READY=1")
            self._wait_settled()
            self._sweep("start")
            while not self.stopping:
                self._step()
        finally:
            for runtime in self.runtimes:
                if runtime.subscription is not None:
                    runtime.subscription.stop()
                    runtime.subscription = None
            restore_signals()
        self.log("watch: stopped")
        return 0

    def _step(self):
        """Wait for messages (or the next reconnect), handle all that have arrived, restore."""
        try:
            batch = [self.messages.get(timeout=self._timeout())]
        except queue.Empty:
            batch = []
        while True:  # everything already queued joins this batch: one restore for all of it
            try:
                batch.append(self.messages.get_nowait())
            except queue.Empty:
                break
        started = {}
        for message in batch:
            if message is _STOP:
                self.stopping = True
            elif message.kind == "start":
                started.setdefault(message.name, message.runtime)
            else:
                self._ended(message)
        if self.stopping:
            return
        if started:
            self._restore_started(started)
        self._retry_due()
        self._connect()
        if any(r.subscription is not None and not r.swept and r.subscription.alive()
               and time.monotonic() - r.started >= SETTLED_SECONDS for r in self.runtimes):
            self._sweep("reconnect")
        self._back()

    def _timeout(self):
        """How long the loop may wait for a message: until the next (re)connect or look, or
        until a new subscription has settled (its sweep is due)."""
        now = time.monotonic()
        due = [r.next_try for r in self.runtimes if r.subscription is None]
        due += [r.started + SETTLED_SECONDS for r in self.runtimes if r.subscription is not None and not r.swept]
        due += [when for _attempts, when in self.retries.values()]
        return min([max(0.05, when - now) for when in due] + [RECHECK_SECONDS])

    # -- subscriptions --------------------------------------------------------------------
    def _connect(self):
        """Subscribe to every runtime that has none and whose time has come."""
        now = time.monotonic()
        for runtime in self.runtimes:
            if runtime.subscription is not None or now < runtime.next_try:
                continue
            if shutil.which(runtime.name) is None:
                if runtime.installed is not False:
                    self.log(f"watch: {runtime.name} is not installed; looking for it again every"
                             f" {RECHECK_SECONDS:g} s")
                runtime.installed = False
                runtime.next_try = now + RECHECK_SECONDS
                continue
            if runtime.installed is False:
                self.log(f"watch: {runtime.name} is installed now")
            runtime.installed = True
            try:
                since = time.time() - REPLAY_SECONDS
                runtime.subscription = _events.Subscription(runtime.name, since, self.messages)
            except OSError as err:
                self._failed(runtime, f"cannot run {runtime.name} events: {err}")
                continue
            runtime.started, runtime.swept = now, False
            if not runtime.failures:
                self.log(f"watch: {runtime.name}: subscribed to container start events")

    def _wait_settled(self):
        """At start: wait until each new subscription has settled or ended (starts that arrive
        meanwhile stay queued for the loop)."""
        deadline = time.monotonic() + SETTLED_SECONDS
        while time.monotonic() < deadline and not self.stopping:
            if not any(r.subscription is not None and r.subscription.alive() for r in self.runtimes):
                break
            time.sleep(0.02)

    def _ended(self, message):
        runtime = next(r for r in self.runtimes if r.name == message.runtime)
        if message.stream is not runtime.subscription:
            return  # an older subscription's last word
        runtime.subscription = None
        if self.stopping:
            return
        lived = time.monotonic() - runtime.started
        if lived >= HEALTHY_SECONDS:
            runtime.delay = BACKOFF_FIRST  # it had been up a while: this is a new outage
        self._failed(runtime, f"events ended after {lived:.1f} s ({message.detail})")

    def _failed(self, runtime, detail):
        """Schedule a reconnect with backoff; say so when it is news."""
        runtime.failures += 1
        runtime.next_try = time.monotonic() + runtime.delay
        if runtime.failures == 1 or detail.split(" (", 1)[-1] != (runtime.last_failure or "").split(" (", 1)[-1]:
            self.log(f"watch: {runtime.name}: {detail}; reconnecting in {runtime.delay:g} s (then every"
                     f" {BACKOFF_CAP:g} s at most)")
        runtime.last_failure = detail
        runtime.delay = min(runtime.delay * 2, BACKOFF_CAP)

    def _back(self):
        """Say when a runtime that failed is followed again (subscribed, settled and swept)."""
        now = time.monotonic()
        for runtime in self.runtimes:
            sub = runtime.subscription
            settled = sub is not None and sub.alive() and now - runtime.started >= SETTLED_SECONDS
            if runtime.failures and settled and runtime.swept:
                self.log(f"watch: {runtime.name}: subscribed again after {runtime.failures} failed attempt(s)")
                runtime.failures, runtime.last_failure = 0, None

    # -- restoring ------------------------------------------------------------------------
    def _sweep(self, why):
        """Restore the endpoints of every running owner (starts missed while not subscribed)."""
        for runtime in self.runtimes:
            if runtime.subscription is not None:
                runtime.swept = True
        self._restore(f"sweep ({why})", None)

    def _restore_started(self, started):
        try:
            recorded = recorded_owners(self.state_dir)
        except UnderlayError as err:
            self.log(f"problem: {err}")
            return
        owners = {f"container:{name}" for name in started} & recorded
        if owners:
            names = ", ".join(f"{owner} ({started[owner.split(':', 1)[1]]})" for owner in sorted(owners))
            self._restore(f"started {names}", owners)

    def _retry_due(self):
        """Restore again, in one batch, the owners whose retry is due (a sweep when one is)."""
        now = time.monotonic()
        due = {owner: attempts for owner, (attempts, when) in self.retries.items() if when <= now}
        if not due:
            return
        for owner in due:
            del self.retries[owner]
        attempt = max(due.values()) + 1
        if None in due:
            self._restore(f"sweep (attempt {attempt})", None, due)
        else:
            self._restore(f"attempt {attempt} for {', '.join(sorted(due))}", set(due), due)

    @staticmethod
    def _can_retry(owners, attempts):
        """Whether one of ``owners`` (None: the sweep) has retries left."""
        attempts = attempts or {}
        return any(attempts.get(owner, 0) < len(RETRY_SECONDS) for owner in ([None] if owners is None else owners))

    def _schedule_retry(self, what, owners, attempts):
        """After a restore that left endpoints not restored: try again later, a few times
        (``attempts``: the retries each owner has had)."""
        attempts = attempts or {}
        pauses = []
        for owner in [None] if owners is None else sorted(owners):
            done = attempts.get(owner, 0) + 1
            if done > len(RETRY_SECONDS):
                self.log(f"problem: {what}: gave up on {owner or 'the sweep'} after {done} attempts")
                continue
            self.retries[owner] = (done, time.monotonic() + RETRY_SECONDS[done - 1])
            pauses.append(RETRY_SECONDS[done - 1])
        if pauses:
            self.log(f"{what}: trying again in {min(pauses):g} s")

    def _restore(self, what, owners, attempts=None):
        began = time.monotonic()
        try:
            report = self.restore(self.state_dir, self.netns, owners=owners, networks=False)
        except Exception as err:  # pylint: disable=broad-except
            # one failed restore must not end the watcher: say it, try again, go on
            self.log(f"problem: {what}: restore failed: {type(err).__name__}: {err}")
            self._schedule_retry(what, owners, attempts)
            return
        for action in report.actions:
            self.log(f"{what}: {action}")
        for line in report.skipped:
            self.log(f"{what}: skipped: {line}")
        # an endpoint not restored is tried again (a restarted container's old namespace not
        # yet gone, a container restarted again meanwhile...); it is a problem only when the
        # last retry fails too
        failed = list(report.unrestored)
        again = failed and self._can_retry(owners, attempts)
        for problem in report.problems:
            self.log(f"{what}: not yet, trying again: {problem}" if again and problem in failed
                     else f"problem: {what}: {problem}")
        outcome = "re-attached" if report.changed else "nothing to change"
        count = len(report.problems) - (len(failed) if again else 0)
        self.log(f"{what}: {outcome}, {count} problem(s), {time.monotonic() - began:.2f} s")
        if failed:
            self._schedule_retry(what, owners, attempts)

    # -- process --------------------------------------------------------------------------
    def _notify(self, message):
        try:
            _sdnotify.notify(message)
        except OSError as err:
            self.log(f"problem: cannot tell systemd {message}: {err}")

    def _catch_signals(self):
        """SIGTERM and SIGINT end the loop cleanly; returns what puts the old handlers back."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def stop(_signum, _frame):
            self.stopping = True
            self.messages.put(_STOP)
        saved = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        return lambda: [signal.signal(sig, handler) for sig, handler in saved.items()]


def watch(state_dir, netns=None, out=None):
    """Run the watcher until SIGTERM; returns the exit status (0)."""
    return Watcher(state_dir, netns, out=out).run()
