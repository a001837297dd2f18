# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM lane runs inside a Debian kernel under qemu (tests/vm/run boots it)."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config):
    if os.environ.get("UNDERLAY_IN_VM") != "1":
        pytest.exit("tests/vm needs a kernel with 802.1Q: run it with tests/vm/run, which boots the VM",
                    returncode=2)
