# Shared by the bench scripts: a free loopback port, and waiting for a
# server's readiness.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ready() { # URL
  for _ in $(seq 200); do
    curl -fs "$1/api/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "not ready: $1" >&2
  return 1
}
