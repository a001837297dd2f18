# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot lane: one real systemd Debian under qemu per lane run (tests/boot/run).

The image is built or reused, booted cold once and snapshotted; each scenario starts from
the snapshot. The lane prints what each phase took at the end.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from sysvm import build_image, cold_boot

TIMINGS: list[tuple[str, str]] = []


def pytest_configure(config):
    missing = [tool for tool in ("qemu-system-x86_64", "qemu-img", "mmdebstrap", "mkfs.ext4", "ansible-playbook")
               if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        why = "needs root" if os.geteuid() != 0 else f"{', '.join(missing)} missing: run scripts/setup first"
        pytest.exit(f"boot lane: {why}", returncode=2)


def record(label: str, value) -> None:
    TIMINGS.append((label, f"{value:.1f} s" if isinstance(value, float) else str(value)))


@pytest.fixture(scope="session")
def timings():
    return record


@pytest.fixture(scope="session")
def image():
    start = time.monotonic()
    path = build_image()
    record("image build (or reuse of the cached one)", time.monotonic() - start)
    return path


@pytest.fixture(scope="session")
def vm(image, tmp_path_factory):
    machine, boot_timings = cold_boot(image, tmp_path_factory.mktemp("sysvm"))
    for label, value in boot_timings.items():
        record(label, value)
    record("accelerator", " ".join(machine.accel))
    yield machine
    machine.power_off()
    machine.disk.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    terminalreporter.section("boot lane timings")
    width = max(len(entry[0]) for entry in TIMINGS)
    for label, value in TIMINGS:
        terminalreporter.write_line(f"{label:<{width}}  {value}")
