# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the pip bootstrap script (get-pip.py) that ansible-test downloads.

ansible-test sanity --requirements builds one virtualenv per sanity test without pip and
bootstraps pip into it by running a get-pip.py downloaded from ci-files.testing.ansible.com,
a host these machines cannot reach. It first looks for the script in its cache,
~/.ansible/test/cache/get_pip_<version>.py; tests/sanity/run installs this file there.

ansible-test runs it (through its quiet_pip.py wrapper) in the new virtualenv with
arguments such as "--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel".
This stand-in:
  1. bootstraps pip from the interpreter's own bundled wheels (ensurepip, no network);
  2. honours --no-setuptools: the ensurepip of Python < 3.12 also installs setuptools,
     which the real get-pip.py would not, so it is removed again;
  3. installs what was asked for (pip==<version>) from the package index, passing the
     system CA bundle explicitly: ansible-test filters the environment of the commands it
     runs, so pip would not see the machine's certificate settings (PIP_CERT etc.).
"""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def pip(*args):
    """Run pip of this interpreter; return its exit status."""
    command = [sys.executable, "-m", "pip", *args]
    sys.stdout.flush()
    return subprocess.call(command)


def main():
    args = sys.argv[1:]
    ensurepip.bootstrap(upgrade=True)

    if "--no-setuptools" in args:
        pip("uninstall", "--yes", "--quiet", "--disable-pip-version-check", "setuptools")

    install = ["install"]
    if os.path.exists(CA_BUNDLE):
        install += ["--cert", CA_BUNDLE]
    return pip(*install, *[arg for arg in args if arg not in GET_PIP_ONLY_OPTIONS])


if __name__ == "__main__":
    sys.exit(main())
