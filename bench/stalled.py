#!/usr/bin/env python3
"""What stream clients that stop reading on a live trickle cost a running
`spotlight serve` (user space and kernel), and how long they hold on.

Opens --clients raw streams of --symbol with a 4 KiB receive buffer, reads
each response head, then never reads again; the server's source keeps
sending its in-progress updates. Samples the server's RSS, the machine's
TCP socket memory (/proc/net/sockstat, pages: both ends of a loopback
connection count) and the server's open streams until every stalled stream
is closed or --limit-seconds pass. Prints one JSON line. Loopback only;
bounded in count and time.

    spotlight serve --addr 127.0.0.1:5410 --max-streams-per-addr 5000 \
        --rate-limit 100000000 --stall-timeout 5s --heartbeat 2s &
    bench/stalled.py --url http://127.0.0.1:5410 --pid $! --clients 1000
"""

import argparse
import json
import socket
import time

from serverstats import rss, streams


def tcp_mem_bytes():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                fields = line.split()
                return int(fields[fields.index("mem") + 1]) * 4096
    raise RuntimeError("no TCP line in /proc/net/sockstat")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:5410")
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--symbol", default="SPY")
    ap.add_argument("--limit-seconds", type=float, default=180)
    a = ap.parse_args()
    host, port = a.url.removeprefix("http://").split(":")
    base_streams = streams(a.url)
    base_rss, base_kernel = rss(a.pid), tcp_mem_bytes()
    socks = []
    request = f"GET /realtime/sse?symbols={a.symbol} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    for _ in range(a.clients):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, int(port)))
        s.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(256)
            if not chunk:
                raise SystemExit("a stream was refused or closed before its head")
            head += chunk
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"refused: {head[:120]!r}")
        socks.append(s)
    opened = time.monotonic()
    peak_rss, peak_kernel = base_rss, base_kernel
    first_close = None
    n = a.clients
    while time.monotonic() < opened + a.limit_seconds:
        peak_rss = max(peak_rss, rss(a.pid))
        peak_kernel = max(peak_kernel, tcp_mem_bytes())
        n = streams(a.url) - base_streams
        if n < a.clients and first_close is None:
            first_close = time.monotonic() - opened
        if n <= 0:
            break
        time.sleep(0.2)
    last_close = time.monotonic() - opened
    after_rss = rss(a.pid)
    for s in socks:
        s.close()
    kib = 1024 * a.clients
    print(json.dumps({
        "clients": a.clients,
        "user_kib_per_stalled": round((peak_rss - base_rss) / kib, 2),
        "kernel_kib_per_stalled": round((peak_kernel - base_kernel) / kib, 2),
        "kernel_peak_mib": round((peak_kernel - base_kernel) / 2**20, 1),
        "rss_after_mib": round((after_rss - base_rss) / 2**20, 1),
        "streams_left": max(n, 0),
        "first_closed_after_s": None if first_close is None else round(first_close, 1),
        "all_closed_after_s": round(last_close, 1) if n <= 0 else None,
    }))


if __name__ == "__main__":
    main()
