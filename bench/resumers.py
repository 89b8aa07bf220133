#!/usr/bin/env python3
"""What never-reading resumers cost a running `spotlight serve`, and how
long they hold on.

Fills the ring with --events final bars, then opens --clients raw streams
that resume from seq 1 (so each has the whole ring to catch up on) and
never read. Reports the server's RSS before, at the peak (every stream
stalled), and after the stall timeout has closed them, and how long that
took. Loopback only; bounded in count and time.

    spotlight serve --addr 127.0.0.1:5400 --max-streams-per-addr 5000 \
        --rate-limit 100000000 --stall-timeout 5s &
    bench/resumers.py --url http://127.0.0.1:5400 --pid $! --clients 1000
"""

import argparse
import json
import socket
import time
import urllib.request

from serverstats import rss, streams

T0 = 1_577_836_800_000  # 2020-01-01T00:00:00Z


def ingest(url, first, count):
    lines = "".join(
        json.dumps({"symbol": "BENCH", "tf": "1m", "t": T0 + (first + i) * 60_000,
                    "o": 100.0, "h": 101.0, "l": 99.0, "c": 100.5, "v": 100, "final": True}) + "\n"
        for i in range(count))
    req = urllib.request.Request(f"{url}/api/ingest", data=lines.encode(),
                                 headers={"content-type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)["headSeq"]


def fill_ring(url, events):
    """Ingests `events` final bars of BENCH in batches; the head seq."""
    for first in range(0, events, 5000):
        head = ingest(url, first, min(5000, events - first))
    return head


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:5400")
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--limit-seconds", type=float, default=120)
    a = ap.parse_args()
    host, port = a.url.removeprefix("http://").split(":")
    head = fill_ring(a.url, a.events)
    base = rss(a.pid)
    socks = []
    for _ in range(a.clients):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, int(port)))
        s.sendall(b"GET /realtime/sse?symbols=BENCH&sinceSeq=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        socks.append(s)
    opened = time.monotonic()
    peak, n = base, 0
    deadline = opened + a.limit_seconds
    while time.monotonic() < deadline:
        peak = max(peak, rss(a.pid))
        n = streams(a.url)
        if n == 0:
            break
        time.sleep(0.2)
    gone = time.monotonic() - opened
    after = rss(a.pid)
    for s in socks:
        s.close()
    print(json.dumps({
        "clients": a.clients, "ring_events": head, "rss_before": base, "rss_peak": peak,
        "rss_after": after, "peak_growth_mib": round((peak - base) / 2**20, 2),
        "per_client_kib": round((peak - base) / a.clients / 1024, 2),
        "streams_left": n, "closed_after_s": round(gone, 1)}))


if __name__ == "__main__":
    main()
