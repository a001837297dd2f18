# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply a plan's steps all-or-nothing: a failure undoes what was already done."""

from __future__ import annotations

import os
import signal

from ansible_collections.underlay.network.plugins.module_utils._errors import (
    MissingLibraryError,
    UnderlayError,
)

FAIL_AFTER_STEP = "UNDERLAY_TEST_FAIL_AFTER_STEP"
KILL_AFTER_STEP = "UNDERLAY_TEST_KILL_AFTER_STEP"


def apply_steps(adapter, steps):
    """Run ``steps`` through ``adapter.apply``; on failure undo the done ones in reverse.

    Re-raises the original failure as an ``UnderlayError`` whose message says what was
    rolled back, and what could not be (so a user knows what state the host is in).
    """
    fail_after = _injected_failure_point(FAIL_AFTER_STEP)
    kill_after = _injected_failure_point(KILL_AFTER_STEP)
    done = []
    for step in steps:
        try:
            adapter.apply(step)
        except UnderlayError as err:
            raise _rolled_back(adapter, done, step, err) from err
        except Exception as err:  # an unexpected failure is still rolled back
            wrapped = UnderlayError(f"{step.action} failed: {err}")
            raise _rolled_back(adapter, done, step, wrapped) from err
        done.append(step)
        if len(done) == kill_after:  # as ``kill -9`` would: no undo, no cleanup, nothing flushed
            os.kill(os.getpid(), signal.SIGKILL)
        if len(done) == fail_after:
            injected = UnderlayError(f"injected failure after step {len(done)} ({step.action})", FAIL_AFTER_STEP,
                                     fail_after)
            raise _rolled_back(adapter, done, step, injected)


def _injected_failure_point(variable):
    """The step count after which to fail (``UNDERLAY_TEST_FAIL_AFTER_STEP``) or to be killed
    (``UNDERLAY_TEST_KILL_AFTER_STEP``), from the environment (else None).

    Test hooks for the hardening suite (tests/integration/test_hardening_faults.py and
    test_container_endpoint_recovery.py): they make the real undo path, or the next run's
    recovery, run against the real kernel after any step; unset, they do nothing.
    """
    value = os.environ.get(variable, "")
    return int(value) if value.isdigit() else None


def _rolled_back(adapter, done, failed, err):
    undone, not_undone = [], []
    for step in reversed(done):
        if step.undo is None:
            not_undone.append(step.action)
            continue
        undos = step.undo if isinstance(step.undo, tuple) else (step.undo,)
        try:
            for undo in undos:
                adapter.apply(undo)
            undone.append(undos[0].action)
        except Exception as undo_err:  # keep undoing the rest; report what stuck
            not_undone.append(f"{step.action} (undo failed: {undo_err})")
    message = str(err)
    if undone:
        message += "; rolled back: " + "; ".join(undone)
    if not_undone:
        message += "; NOT rolled back: " + "; ".join(not_undone)
    if isinstance(err, MissingLibraryError):  # still reported through missing_required_lib
        rolled = MissingLibraryError(err.library, err.exception)
        rolled.args = (message,)
    else:
        rolled = UnderlayError(message)
    rolled.field, rolled.value, rolled.detail = err.field, err.value, err.detail
    rolled.failed_action = failed.action
    return rolled
