"""What the bench scripts read of a running `spotlight serve`: its RSS
from /proc, and its open streams from /api/diag."""

import json
import urllib.request


def rss(pid):
    """The process's resident set, bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def streams(url):
    """SSE streams open now, as diag counts them."""
    with urllib.request.urlopen(f"{url}/api/diag", timeout=30) as r:
        diag = json.load(r)
    admission = diag.get("admission")
    if admission and "sse" in admission:
        return admission["sse"]["inUse"]
    if admission:
        return admission["streams"]
    return diag["metrics"]["sseConnections"]  # servers before admission counts
