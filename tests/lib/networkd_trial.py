# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the real systemd-networkd on a directory of files, in a throwaway namespace.

Usage (as root): ``unshare --net --mount --propagation private python3 networkd_trial.py DIR SECONDS LINK...``.
Inside the new network and mount namespaces (they end with this process; the host's
interfaces and /etc are never touched): a tmpfs on /run, a read-only sysfs of the new
namespace on /sys (networkd then does not wait for udev), DIR bind-mounted over
/etc/systemd/network; systemd-networkd runs with debug logging until every LINK exists
(or SECONDS pass) and one more second. Prints JSON: ``{"log": text, "links": ip -j -d link}``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

NETWORKD = next((path for path in ("/lib/systemd/systemd-networkd", "/usr/lib/systemd/systemd-networkd")
                 if os.path.exists(path)), None)


def run(*argv):
    subprocess.run(list(argv), check=True, capture_output=True)


def links():
    out = subprocess.run(["ip", "-j", "-d", "link", "show"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main(directory, seconds, wanted):
    run("mount", "-t", "tmpfs", "tmpfs", "/run")
    os.makedirs("/run/systemd/netif", exist_ok=True)
    subprocess.run(["chown", "systemd-network:systemd-network", "/run/systemd/netif"], check=False)
    run("mount", "-t", "sysfs", "-o", "ro", "sysfs", "/sys")
    run("mount", "--bind", directory, "/etc/systemd/network")
    run("ip", "link", "set", "lo", "up")
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="debug", SYSTEMD_LOG_TARGET="console")
    with open("/run/networkd.log", "w+", encoding="utf-8") as log:
        proc = subprocess.Popen([NETWORKD], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not set(wanted) <= {link["ifname"] for link in links()}:
                time.sleep(0.2)
            time.sleep(1.0)
            found = links()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        log.seek(0)
        text = log.read()
    print(json.dumps({"log": text, "links": found}))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), sys.argv[3:])
