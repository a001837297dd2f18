# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the pip bootstrap script ansible-test downloads (a host these machines
cannot reach). tests/sanity/run installs it into ansible-test's cache: it bootstraps pip
from the interpreter's own ensurepip, then installs what ansible-test asked for from the
package index with the system CA bundle (ansible-test filters the environment, so pip
would not see the machine's certificate settings otherwise)."""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def main():
    ensurepip.bootstrap(upgrade=True)
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    command = [sys.executable, "-m", "pip", "install"]
    if os.path.exists(CA_BUNDLE):
        command += ["--cert", CA_BUNDLE]
    return subprocess.call(command + args)


if __name__ == "__main__":
    sys.exit(main())
