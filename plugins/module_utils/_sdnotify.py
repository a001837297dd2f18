# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd's readiness protocol (``Type=notify``): one datagram on ``$NOTIFY_SOCKET``, sent
with a plain AF_UNIX socket (no libsystemd, no python-systemd). Outside systemd (no
``NOTIFY_SOCKET``) nothing is sent."""

from __future__ import annotations

import os
import socket


def notify(message, environ=None):
    """Send ``message`` (e.g. ``"READY=1"``) to the service manager; True when it was sent,
    False when there is no manager to tell. Raises OSError when the socket refuses it."""
    path = (os.environ if environ is None else environ).get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):  # an abstract socket
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(path)
        sock.sendall(message.encode("utf-8"))
    return True
