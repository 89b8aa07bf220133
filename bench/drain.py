#!/usr/bin/env python3
"""How fast a resuming client that reads at full speed drains its backlog
from a running `spotlight serve` (what `--stream-sndbuf` could slow down).

Fills the ring with --events final bars of BENCH, then opens a stream that
resumes from seq 1, reads until the last of them has arrived, and prints
one JSON line with the time and the rate. Loopback only; bounded.

    spotlight serve --addr 127.0.0.1:5420 --rate-limit 100000000 &
    bench/drain.py --url http://127.0.0.1:5420 --events 50000
"""

import argparse
import json
import socket
import time

from resumers import fill_ring


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:5420")
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--limit-seconds", type=float, default=60)
    a = ap.parse_args()
    host, port = a.url.removeprefix("http://").split(":")
    head = fill_ring(a.url, a.events)
    s = socket.create_connection((host, int(port)))
    started = time.monotonic()
    s.sendall(b"GET /realtime/sse?symbols=BENCH&sinceSeq=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    want = f":{head}\n".encode()  # the end of the last event's id line
    got, tail = 0, b""
    while time.monotonic() < started + a.limit_seconds:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
        tail = (tail + chunk)[-4096:]
        if want in tail:
            break
    seconds = time.monotonic() - started
    s.close()
    print(json.dumps({"events": head, "bytes": got, "seconds": round(seconds, 3),
                      "mib_per_s": round(got / seconds / 2**20, 1)}))


if __name__ == "__main__":
    main()
