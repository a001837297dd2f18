# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names resolver: answers every endpoint at ``127.0.0.11:53`` (UDP and TCP) inside its own
namespace, as Docker's embedded DNS does, from one process on the host.

A socket made inside a namespace stays bound to it, so one process serves them all and knows,
from the socket a query came in on, which endpoint asked and so which networks' names it may
see (``_dns_records.View``). A name of those networks is answered here; any other query goes to
the host's resolvers (``upstreams``), from the process's own namespace, as the container would
have asked them. dnspython reads and writes every message; nothing here packs DNS by hand.
"""

from __future__ import annotations

import errno
import fcntl
import os
import selectors
import socket
import struct
import threading
from concurrent.futures import ThreadPoolExecutor

try:  # the managed host's python3-dnspython; a clear message when it is missing (MissingLibraryError)
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.rrset
except ImportError as err:
    DNSPYTHON_ERROR = err
else:
    DNSPYTHON_ERROR = None

from ansible_collections.underlay.network.plugins.module_utils import _libnftables
from ansible_collections.underlay.network.plugins.module_utils._errors import MissingLibraryError
from ansible_collections.underlay.network.plugins.module_utils._netns import entered

LISTEN_ADDRESS = "127.0.0.11"
TABLE = "ip underlay_dns"
_REMEMBERED_PORTS = 16384  # namespaces whose port is kept for when they are served again
PORT = 53
TTL = 600  # Docker's
IP_FREEBIND = 15  # bind 127.0.0.11, which is no address of lo (127.0.0.0/8 is routed to it)
_SIOCGIFFLAGS = 0x8913
_IFF_UP = 0x1
_FORWARDERS = 8
_TCP_TIMEOUT = 5.0


def host_upstreams(resolv_conf="/etc/resolv.conf"):
    """The nameservers of the host's resolv.conf (the ones the endpoint would have used)."""
    found = []
    try:
        with open(resolv_conf, encoding="utf-8") as handle:
            for line in handle:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    found.append(words[1])
    except FileNotFoundError:
        pass
    return found


class _Listener:
    """The UDP and TCP sockets of one namespace, and the table that sends its lookups to them.

    As Docker's embedded DNS does, the sockets listen on 127.0.0.11 at a port of their own and
    a nat rule in the namespace (table ``ip underlay_dns``) sends what asks 127.0.0.11:53 there:
    so a container may still run a DNS server of its own on port 53 of every address."""

    def __init__(self, netns_path, port, ports):
        fd = os.open(netns_path, os.O_RDONLY)
        try:
            self.identity = _identity(fd)
            with entered(fd):
                self.udp, self.tcp = _bound_pair(ports.get(self.identity))
                if not _loopback_up(self.udp):
                    # bound before lo is up, a socket of 127.0.0.11 answers from 127.0.0.1 (which the
                    # asker drops): served once lo is up (the next update, which a run asks for)
                    self.udp.close()
                    self.tcp.close()
                    raise OSError(errno.ENETDOWN, "its loopback is down")
                ports.pop(self.identity, None)  # most recent last: the oldest are forgotten first
                ports[self.identity] = self.udp.getsockname()[1]
                while len(ports) > _REMEMBERED_PORTS:
                    del ports[next(iter(ports))]
                try:
                    _libnftables.run(_redirect(port, self.udp.getsockname()[1]))
                except BaseException:
                    self.udp.close()
                    self.tcp.close()
                    raise
        finally:
            os.close(fd)
        self.netns_path = netns_path
        self.tcp.listen(64)
        self.udp.setblocking(False)
        self.tcp.setblocking(False)

    def close(self):
        self.udp.close()
        self.tcp.close()
        if not _same_namespace(self.netns_path, self.identity):
            return  # the namespace is gone (or another one has its name): nothing to take back
        try:
            fd = os.open(self.netns_path, os.O_RDONLY)
        except OSError:
            return
        try:
            with entered(fd):
                _libnftables.run(f"delete table {TABLE}")
        except OSError:
            pass  # removed meanwhile
        finally:
            os.close(fd)


def _loopback_up(sock):
    """Whether ``lo`` is up in the namespace ``sock`` was made in (SIOCGIFFLAGS)."""
    request = struct.pack("16sH14x", b"lo", 0)
    flags = struct.unpack("16sH14x", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request))[1]
    return bool(flags & _IFF_UP)


def _redirect(port, to_port):
    """The namespace's table: what asks 127.0.0.11:``port`` goes to the resolver's ``to_port``
    (made anew, whatever an earlier resolver left)."""
    return (f"table {TABLE} {{}}\ndelete table {TABLE}\n"
            f"table {TABLE} {{\n chain output {{\n  type nat hook output priority -100; policy accept;\n"
            f"  ip daddr {LISTEN_ADDRESS} udp dport {port} dnat to {LISTEN_ADDRESS}:{to_port}\n"
            f"  ip daddr {LISTEN_ADDRESS} tcp dport {port} dnat to {LISTEN_ADDRESS}:{to_port}\n }}\n}}\n")


def _bound_pair(port=None):
    """A UDP and a TCP socket on one free port of 127.0.0.11: ``port`` when it is free (the one
    this namespace had before: a namespace served again looks exactly as it did), else one the
    kernel picks for UDP and TCP can have too."""
    for attempt in range(16):
        try:
            udp = _bound(socket.SOCK_DGRAM, port if attempt == 0 and port else 0)
        except OSError:
            continue
        try:
            return udp, _bound(socket.SOCK_STREAM, udp.getsockname()[1])
        except OSError:
            udp.close()
    raise OSError("no port of 127.0.0.11 is free for both UDP and TCP")


def _identity(fd_or_path):
    info = os.stat(fd_or_path)
    return info.st_dev, info.st_ino


def _same_namespace(path, identity):
    try:
        return _identity(path) == identity
    except OSError:
        return False


def _bound(kind, port):
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        sock.bind((LISTEN_ADDRESS, port))
    except BaseException:
        sock.close()
        raise
    return sock


class Resolver:
    """Serves ``views`` (``{netns_path: View}``, replaced whole by ``update``) until ``stop``."""

    def __init__(self, upstreams, port=PORT, timeout=2.0):
        if DNSPYTHON_ERROR is not None:
            raise MissingLibraryError("dnspython", DNSPYTHON_ERROR)
        self.upstreams = list(upstreams)
        self.port = port
        self.timeout = timeout
        self.problems = {}  # netns_path -> why it is not served
        self._views = {}
        self._listeners = {}
        self._ports = {}  # namespace identity -> the port its listener had (reused when served again)
        self._selector = selectors.DefaultSelector()
        self._workers = ThreadPoolExecutor(max_workers=_FORWARDERS, thread_name_prefix="underlay-dns")
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._stopping = False

    # -- what is served ------------------------------------------------------------
    def update(self, views):
        """Serve exactly the namespaces of ``views`` from now on (new ones bound, gone ones closed)."""
        with self._lock:
            for path in [path for path in self._listeners if path not in views]:
                self._close(path)
            self.problems = {}
            for path in views:
                if path in self._listeners:
                    continue
                try:
                    listener = _Listener(path, self.port, self._ports)
                except OSError as err:  # the namespace went away, or is not one
                    self.problems[path] = err.strerror or str(err)
                    continue
                self._listeners[path] = listener
                self._selector.register(listener.udp, selectors.EVENT_READ, ("udp", path))
                self._selector.register(listener.tcp, selectors.EVENT_READ, ("tcp", path))
            self._views = dict(views)
        self._wake_w.send(b"\0")

    def prune(self):
        """Close the listeners of namespaces whose path is gone or names another namespace now
        (a container that stopped or restarted): holding them would keep a dead namespace alive.
        The next ``update`` binds the new one."""
        with self._lock:
            for path, listener in list(self._listeners.items()):
                if not _same_namespace(path, listener.identity):
                    self._close(path)

    @property
    def served(self):
        return sorted(self._listeners)

    @property
    def held(self):
        """``{netns_path: inode}``: the namespace each listener is in (and keeps alive)."""
        with self._lock:
            return {path: listener.identity[1] for path, listener in sorted(self._listeners.items())}

    def _close(self, path):
        listener = self._listeners.pop(path)
        self._selector.unregister(listener.udp)
        self._selector.unregister(listener.tcp)
        listener.close()

    # -- serving -------------------------------------------------------------------
    def serve(self):
        """Answer queries until ``stop`` is called."""
        while not self._stopping:
            for key, _events in self._selector.select(timeout=1.0):
                kind, path = key.data
                if kind == "wake":
                    self._wake_r.recv(4096)
                elif kind == "udp":
                    self._udp(key.fileobj, path)
                else:
                    self._accept(key.fileobj, path)

    def stop(self):
        self._stopping = True
        self._wake_w.send(b"\0")

    def close(self):
        self._workers.shutdown(wait=True)
        with self._lock:
            for path in list(self._listeners):
                self._close(path)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _udp(self, sock, path):
        try:
            wire, peer = sock.recvfrom(65535)
        except (BlockingIOError, OSError):
            return
        self._workers.submit(self._reply_udp, sock, path, wire, peer)

    def _reply_udp(self, sock, path, wire, peer):
        reply = self.answer(path, wire, max_size=512)
        if reply is not None:
            try:
                sock.sendto(reply, peer)
            except OSError:
                pass  # the namespace or its loopback went away meanwhile

    def _accept(self, sock, path):
        try:
            conn, _peer = sock.accept()
        except (BlockingIOError, OSError):
            return
        self._workers.submit(self._serve_tcp, conn, path)

    def _serve_tcp(self, conn, path):
        with conn:
            conn.setblocking(True)
            conn.settimeout(_TCP_TIMEOUT)
            try:
                while True:
                    head = _read_exactly(conn, 2)
                    if head is None:
                        return
                    wire = _read_exactly(conn, struct.unpack("!H", head)[0])
                    if wire is None:
                        return
                    reply = self.answer(path, wire)
                    if reply is None:
                        return
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return

    # -- answering -----------------------------------------------------------------
    def answer(self, path, wire, max_size=65535):
        """The reply to one query from the namespace ``path`` (None for what is not a query)."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if query.flags & dns.flags.QR or len(query.question) != 1:
            return None
        question = query.question[0]
        view = self._views.get(path)
        name = question.name.to_text(omit_final_dot=True).lower()
        if view is not None and name in view.records:
            return self._local(query, question, view.records[name]).to_wire(max_size=max_size)
        return self._forward(query, max_size)

    @staticmethod
    def _local(query, question, addresses):
        """The network's own answer: its A (and AAAA) records; a name with no address of the
        asked family is answered empty (NOERROR), not sent away."""
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.RA | dns.flags.AA
        for rdtype, version in ((dns.rdatatype.A, 4), (dns.rdatatype.AAAA, 6)):
            if question.rdtype not in (rdtype, dns.rdatatype.ANY):
                continue
            same = [address for address in addresses if (":" in address) == (version == 6)]
            if same:
                reply.answer.append(dns.rrset.from_text_list(question.name, TTL, "IN", rdtype, same))
        return reply

    def _forward(self, query, max_size):
        """The host's resolvers' answer, tried in order; SERVFAIL when none answers."""
        for upstream in self.upstreams:
            try:
                reply = dns.query.udp(query, upstream, timeout=self.timeout, ignore_unexpected=True)
                if reply.flags & dns.flags.TC:
                    reply = dns.query.tcp(query, upstream, timeout=self.timeout)
                return reply.to_wire(max_size=max_size)
            except (dns.exception.DNSException, OSError, ValueError):
                continue
        failed = dns.message.make_response(query)
        failed.flags |= dns.flags.RA
        failed.set_rcode(dns.rcode.SERVFAIL)
        return failed.to_wire(max_size=max_size)


def _read_exactly(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
