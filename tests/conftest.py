# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures: the collection on sys.path, throwaway namespaces, and a guard that the
test machine's own interfaces and routes are untouched by any kernel-touching test."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

import underlay_testlib as lib  # noqa: E402  pylint: disable=wrong-import-position

lib.ensure_collection_link()


def _needs_root(request):
    if os.geteuid() != 0:
        pytest.fail("this lane needs root (network namespaces); run it through scripts/test")


@pytest.fixture
def namespaces(request):
    """Factory of throwaway namespaces; all removed after the test, pass or fail."""
    _needs_root(request)
    made = lib.Namespaces()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="session", autouse=True)
def host_untouched():
    """Fail the session if the machine's own links, addresses or routes changed, or if a
    namespace this session created was left behind."""
    if os.geteuid() != 0:
        yield
        return
    before = lib.host_snapshot()
    yield
    assert lib.host_snapshot() == before, "the host's own interfaces, addresses or routes changed"
    left = sorted(name for name in lib.CREATED if os.path.exists(f"/run/netns/{name}"))
    assert not left, f"tests left namespaces behind: {left}"


def pytest_terminal_summary(terminalreporter):
    """The hardening suite's figures (cases tried, clear messages, changes, tracebacks,
    leftovers), so a reader of the lane log sees numbers, not just "passed"."""
    import underlay_snapshots  # pylint: disable=import-outside-toplevel

    lines = underlay_snapshots.summary_lines()
    if lines:
        terminalreporter.section("hardening suite counts (issue 14)")
        for line in lines:
            terminalreporter.write_line(line)
