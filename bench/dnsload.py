# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names bench's client: QUERIES lookups of one name (A, over UDP) at SERVER, shared by
CLIENTS processes that each ask one query at a time (dnspython builds and reads every message)
and check every answer. Run it inside the asking container's network namespace
(``nsenter --net=PATH python dnsload.py ...``); it prints one JSON line:
``{"queries", "answered", "wrong", "timeouts", "seconds"}`` (seconds: from the common start to
the last client's last answer).

    python dnsload.py --name NAME --expect ADDRESS [--server 127.0.0.11] [--queries 1000] [--clients 4]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import sys
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode


def client(args, count, start, results):
    """``count`` lookups one after another from a socket of this process's own."""
    query = dns.message.make_query(args.name, "A")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    answered = wrong = timeouts = 0
    start.wait()
    with sock:
        for _query in range(count):
            query.id = (query.id + 1) % 65536
            try:
                reply = dns.query.udp(query, args.server, timeout=args.timeout, sock=sock, ignore_unexpected=True)
            except dns.exception.Timeout:
                timeouts += 1
                continue
            found = [item.address for rrset in reply.answer for item in rrset if hasattr(item, "address")]
            if reply.rcode() == dns.rcode.NOERROR and args.expect in found:
                answered += 1
            else:
                wrong += 1
    results.put((answered, wrong, timeouts, time.monotonic()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--expect", required=True, help="the address the answer must hold")
    parser.add_argument("--server", default="127.0.0.11")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args(argv)
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    shares = [args.queries // args.clients + (1 if i < args.queries % args.clients else 0) for i in range(args.clients)]
    workers = [context.Process(target=client, args=(args, share, start, results)) for share in shares if share]
    for worker in workers:
        worker.start()
    time.sleep(0.2)  # every client has its socket before the clock starts
    began = time.monotonic()
    start.set()
    done = [results.get() for _worker in workers]
    for worker in workers:
        worker.join()
    total = {"queries": args.queries, "answered": sum(d[0] for d in done), "wrong": sum(d[1] for d in done),
             "timeouts": sum(d[2] for d in done), "seconds": max(d[3] for d in done) - began}
    print(json.dumps(total))
    return 0 if total["answered"] == args.queries else 1


if __name__ == "__main__":
    sys.exit(main())
