# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An endpoint's ``resolv.conf``: which file, the text that points it at the names resolver
(Docker's embedded-DNS shape: ``nameserver 127.0.0.11`` and ``options ndots:0``, the file's
``search`` lines and other options kept), putting it back as it was, and writing it.

Which file: a container's is its runtime's ``ResolvConfPath`` (bind-mounted into the
container, so it is written in place: a rename would not be seen inside); a named
namespace's is ``/etc/netns/NAME/resolv.conf`` (what ``ip netns exec`` shows as
``/etc/resolv.conf``; written atomically, mode 0644); a PID target's is not touched (its
process sees whatever file its mount namespace has).
"""

from __future__ import annotations

import os

from ansible_collections.underlay.network.plugins.module_utils._files import atomic_write, make_directory, remove_file

RESOLVER = "127.0.0.11"
NETNS_DIR = "/etc/netns"
HOST_FILE = "/etc/resolv.conf"
MODE = 0o644
_REPLACED = ("nameserver", "options")


def path_of(target_kind, target_value, resolv_conf_path=None):
    """The file an endpoint's namespace reads as ``/etc/resolv.conf``, or None (a PID target,
    a namespace given as a path, a container whose runtime gave no file)."""
    if target_kind == "container":
        return resolv_conf_path or None
    if target_kind == "container_netns" and isinstance(target_value, str) and "/" not in target_value:
        return os.path.join(NETNS_DIR, target_value, "resolv.conf")
    return None


def read(path):
    """The text of ``path`` (None when it does not exist)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _keyword(line):
    words = line.split()
    return words[0] if words else ""


def original_lines(text):
    """What pointing ``text`` at the resolver replaces (its nameserver and options lines),
    kept in the lease to put the file back; None: there was no file."""
    if text is None:
        return None
    return [line for line in text.splitlines() if _keyword(line) in _REPLACED]


def points_at_resolver(text):
    return text is not None and any(line.split()[1:2] == [RESOLVER] for line in text.splitlines()
                                    if _keyword(line) == "nameserver")


def wanted(text):
    """``text`` (a resolv.conf) pointed at the resolver: its nameservers replaced by
    ``127.0.0.11``, ``ndots:0`` in place of any ndots option, everything else kept."""
    kept, options, at = [], [], None
    for line in (text or "").splitlines():
        keyword = _keyword(line)
        if keyword == "nameserver":
            at = len(kept) if at is None else at
            continue
        if keyword == "options":
            at = len(kept) if at is None else at
            options += [word for word in line.split()[1:] if not word.startswith("ndots:")]
            continue
        kept.append(line)
    at = len(kept) if at is None else at
    ours = [f"nameserver {RESOLVER}", " ".join(["options", "ndots:0", *options])]
    return "\n".join(kept[:at] + ours + kept[at:]) + "\n"


def restored(text, original):
    """``text`` put back as it was before it was pointed at the resolver: ``original`` (see
    ``original_lines``) in place of its nameserver and options lines; None: remove the file."""
    if original is None:
        return None
    kept, at = [], None
    for line in (text or "").splitlines():
        if _keyword(line) in _REPLACED:
            at = len(kept) if at is None else at
            continue
        kept.append(line)
    at = len(kept) if at is None else at
    lines = kept[:at] + list(original) + kept[at:]
    return "\n".join(lines) + "\n" if lines else ""


def write(path, text, in_place):
    """Make ``path`` hold ``text`` (None: remove it). ``in_place``: the same inode is rewritten
    (a container's bind-mounted file); otherwise atomically, the directory made 0755 if missing."""
    if text is None:
        remove_file(path)
        if os.path.dirname(os.path.dirname(path)) == NETNS_DIR:  # /etc/netns/NAME, made for it
            try:
                os.rmdir(os.path.dirname(path))
            except OSError:  # not empty: other files of the namespace
                pass
        return
    data = text.encode()
    if in_place:
        with open(path, "r+b") as handle:
            handle.write(data)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
        return
    make_directory(os.path.dirname(path))
    atomic_write(path, data, MODE)
