
use builtin;
use str;

set edit:completion:arg-completer[spotlight] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'spotlight'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'spotlight'= {
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run the streaming server'
            cand diag 'Show the server''s triage snapshot'
            cand metrics 'Show the server''s Prometheus metrics as a table'
            cand watch 'Tail a symbol''s bars (`--plain`: one line per final bar)'
            cand replay 'Start a replay (`--speed 4`), or drive it: stop, pause, resume, status, speed N'
            cand bench 'Benchmark a server (SSE fan-out, voice echo)'
            cand probe 'Prove resume from outside: `probe voice` (WebSocket), `probe sse` (stream)'
            cand drain 'Drain mode for deploys: on, off, status; `--wait` until the streams are gone'
            cand smoke 'CI smoke check of a running (or `--spawn`ed) server: one line per check, JUnit XML'
            cand completions 'Shell completions (bash, zsh, fish, powershell, elvish)'
            cand man 'Man pages: one for spotlight and one per subcommand'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'spotlight;serve'= {
            cand --addr 'Address to listen on'
            cand --source 'Market source: `sim` (embedded), `file:PATH` (a file or folder of 1m bars) or `polygon` (a live provider; key in POLYGON_API_KEY)'
            cand --log-format 'Log format'
            cand --state-dir 'Save the epoch, seq, ring and history here on shutdown, and continue from them on start'
            cand --drain 'Time allowed for connections to finish after SIGINT/SIGTERM (at least 100ms)'
            cand --heartbeat 'Interval of SSE `ping` events (at least 100ms)'
            cand --env 'Deployment: `prod` makes session cookies `SameSite=None; Secure`'
            cand --tls-cert 'Serve TLS with this PEM certificate chain (with --tls-key): HTTP/2 and HTTP/1.1 on the one port; SIGHUP reads both files again'
            cand --tls-key 'The PEM private key of --tls-cert'
            cand --pin-attempts 'PIN attempts allowed per minute per client address'
            cand --pin-attempts-global 'Failed PIN attempts allowed per minute over all addresses'
            cand --rate-limit 'API requests allowed per minute per client address (health, readiness and metrics are exempt)'
            cand --symbols 'Symbols: simulated, or followed from the live provider'
            cand --seed 'Seed of the simulation: same seed, same bars'
            cand --tick-ms 'Interval of in-progress updates, ms'
            cand --backfill '1m history before the start: simulated, or backfilled from the live provider'
            cand --sim-speed 'Speed of the simulated clock relative to wall time (for demos and tests)'
            cand --tz 'Zone of naive date-times in files (default: the format''s own; CSV: America/New_York)'
            cand --stamp 'Whether file timestamps mark bar start or end (default: the format''s own)'
            cand --symbol 'Symbol for files that name none'
            cand --replay 'A recording to replay for SYMBOL: a file or folder in any format the file source reads (repeatable; env: comma-separated)'
            cand --ring 'Events kept for resume'
            cand --ring-bytes 'Bytes of events the ring keeps at most (beside --ring events)'
            cand --client-queue 'Events one SSE client may have waiting before it is disconnected'
            cand --client-queue-bytes 'Bytes one SSE client may have waiting before it is disconnected'
            cand --max-connections 'Open connections at most (0: no limit but the open-file limit) [default: the open-file limit minus 64]'
            cand --max-streams-per-addr 'Streams one client address may hold (0: no limit)'
            cand --sse-max-clients 'SSE streams at most (0: no limit but --max-connections)'
            cand --max-symbols 'Symbols the server holds at most (and a stream may name)'
            cand --header-timeout 'Time a request head may take to arrive (at least 1s)'
            cand --stall-timeout 'A stream whose peer takes none of what was sent this long is closed (at least 1s)'
            cand --stream-sndbuf 'Kernel send buffer per connection in bytes, what a stalled peer can pin (0: the kernel''s autotuning)'
            cand --voice-resume-window 'Outbound voice messages kept for a resume (time; at most 512 KiB)'
            cand --voice-resume-ttl 'How long a dropped voice session can be resumed (0s: never)'
            cand --voice-idle 'A voice connection that sends nothing this long is closed (4408)'
            cand --voice-max-sessions 'Voice sessions at once (0: no limit); more wait in a first-come, first-served queue'
            cand --voice-queue-max 'Voice connections waiting for a seat at most (beyond: `at_capacity`, close 1013)'
            cand --voice-upstream 'Relay voice audio to this WebSocket (ws://…) instead of echoing it'
            cand --allowed-host 'Another name a loopback listener answers to (repeatable; DNS-rebinding defence)'
            cand --cors-origin 'An origin allowed cross-site, with credentials (repeatable), e.g. https://dash.example.com'
            cand --trusted-proxy 'A proxy (CIDR or address) whose Forwarded / X-Forwarded-For is believed (repeatable)'
            cand --retain 'Final 1m bars kept per symbol for history'
            cand --ingest-limit 'Largest ingest body, bytes'
            cand --bus 'Share one market log with other instances through Redis (redis://HOST:PORT[/DB], rediss:// for TLS)'
            cand --role 'How this instance takes part: produce when the lease is free (auto, producer) or never (edge)'
            cand --bus-stall 'Not ready when nothing (not even the producer''s heartbeat) came from the bus this long'
            cand --bus-lease 'The producer lease''s time: a standby takes over within it when the producer dies'
            cand --polygon-ws-url 'The provider''s stocks WebSocket (`--source polygon`)'
            cand --polygon-rest-url 'The provider''s REST base, for backfill (`--source polygon`)'
            cand --source-stall 'Not ready when the live feed is down this long, or silent this long in US market hours'
            cand --otlp-endpoint 'Export traces over OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318)'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --allow-open 'Allow listening on a non-loopback address with no PIN set'
            cand --tls-by-proxy 'A proxy in front terminates TLS: lets `--env prod` listen on a non-loopback address without --tls-cert'
            cand --private-diag 'Put `/api/diag` behind auth too'
            cand --source-stall-always 'Count the live feed''s silence around the clock, not only in US market hours'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;diag'= {
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;metrics'= {
            cand --filter 'Only metrics whose name contains this'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --raw 'Print the exposition text as served (short for `--output raw`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;watch'= {
            cand -t 'Timeframe'
            cand --timeframe 'Timeframe'
            cand --history 'Bars of history to start from'
            cand --fps 'Most chart redraws per second'
            cand --log-file 'Write logs to this file (the screen belongs to the chart)'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --plain 'One line per final bar instead of the chart (short for `--output plain`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;replay'= {
            cand --speed 'Speed, × real time (0.25 … 1000)'
            cand --symbols 'Symbols (default: the server''s recordings, else every symbol)'
            cand --from 'Window start: RFC 3339 or Unix ms'
            cand --to 'Window end: RFC 3339 or Unix ms'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --follow 'Show progress until the replay ends (default on a terminal)'
            cand --no-follow 'Return as soon as the replay has started'
            cand --stop-on-exit 'With --follow: stop the replay on Ctrl-C (default: leave it running)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand stop 'Stop it; live data comes back'
            cand pause 'Hold it'
            cand resume 'Continue it'
            cand status 'Show its state'
            cand speed 'Change its speed (0.25 … 1000)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'spotlight;replay;stop'= {
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;replay;pause'= {
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;replay;resume'= {
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;replay;status'= {
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;replay;speed'= {
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;replay;help'= {
            cand stop 'Stop it; live data comes back'
            cand pause 'Hold it'
            cand resume 'Continue it'
            cand status 'Show its state'
            cand speed 'Change its speed (0.25 … 1000)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'spotlight;replay;help;stop'= {
        }
        &'spotlight;replay;help;pause'= {
        }
        &'spotlight;replay;help;resume'= {
        }
        &'spotlight;replay;help;status'= {
        }
        &'spotlight;replay;help;speed'= {
        }
        &'spotlight;replay;help;help'= {
        }
        &'spotlight;bench'= {
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand sse 'Many SSE subscribers on one server: delivery, loss, latency, cost'
            cand voice 'Many voice sessions echoing audio: round trip, throughput, loss, cost'
            cand chaos 'Clients that cut and resume at random, checked against history: lost, duplicated, out of order'
            cand queue 'A long voice queue: its memory, and how fast every waiter hears its new place'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'spotlight;bench;sse'= {
            cand --sub-url 'Stream URL; `{i}` becomes the subscriber''s index. Default: `--url` + `/realtime/sse?timeframe=1m` (with `--ingest`: `?symbols=<--symbol>`)'
            cand --clients 'Concurrent subscribers'
            cand --http2-streams 'Over `https://`: this many subscribers'' streams share each HTTP/2 connection (0: one TLS connection per subscriber, HTTP/1.1)'
            cand --ramp 'Connections opened at once while ramping up'
            cand --source-addrs 'Local addresses to spread connections over (e.g. 127.0.0.1,127.0.0.2)'
            cand --publish-url 'Publish by POSTing messages to this URL (e.g. an nchan publisher location)'
            cand --symbol 'Symbol of the ingested bars'
            cand --rate 'Messages per second'
            cand --messages 'Messages measured'
            cand --warmup 'Messages published before the measured ones and not timed (their loss still counts)'
            cand --grid-offset 'Put message slots on the wall clock''s grid (whole periods since the Unix epoch) shifted by this much. Two runs started together against two servers on one machine then take turns: `0ms` for one and `50ms` for the other at 10/s'
            cand --payload-bytes 'Size of a `--publish-url` message, bytes'
            cand --duration 'Without a publisher: how long to measure what the server streams'
            cand --server-pid 'The server''s pid, to sample its RSS and CPU from /proc'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --ingest 'Publish by POSTing one final 1m bar per message to `--url`''s `/api/ingest`'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;bench;voice'= {
            cand --sessions 'Concurrent sessions'
            cand --rate 'Frames per second per session'
            cand --frame-bytes 'Bytes per frame (at least 16)'
            cand --duration 'How long to send'
            cand --server-pid 'The server''s pid, to sample its RSS and CPU from /proc'
            cand --ws-url 'The WebSocket to load (default: the server''s /voice/ws), e.g. another echo server'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --raw 'Plain WebSocket echo: no `hello`, no protocol (any echo server)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;bench;chaos'= {
            cand --clients 'Concurrent clients'
            cand --duration 'How long they run'
            cand --symbols 'Symbols (default: every symbol; then seqs must be gap-free too)'
            cand --cut-min 'Shortest time between a client''s cuts'
            cand --cut-max 'Longest time between a client''s cuts'
            cand --restart-cmd 'A shell command that restarts the server, run halfway through'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --no-cuts 'No cuts: clients reconnect only when the server closes their stream (to measure a restart''s comeback)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;bench;queue'= {
            cand --waiting 'Connections to queue'
            cand --rounds 'Seated sessions to end, one per round'
            cand --server-pid 'The server''s pid, to read its RSS from /proc'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;bench;help'= {
            cand sse 'Many SSE subscribers on one server: delivery, loss, latency, cost'
            cand voice 'Many voice sessions echoing audio: round trip, throughput, loss, cost'
            cand chaos 'Clients that cut and resume at random, checked against history: lost, duplicated, out of order'
            cand queue 'A long voice queue: its memory, and how fast every waiter hears its new place'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'spotlight;bench;help;sse'= {
        }
        &'spotlight;bench;help;voice'= {
        }
        &'spotlight;bench;help;chaos'= {
        }
        &'spotlight;bench;help;queue'= {
        }
        &'spotlight;bench;help;help'= {
        }
        &'spotlight;probe'= {
            cand --connect-attempts 'Tries of the first connection before giving up (exit 3)'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand voice 'The voice WebSocket: hello, echo integrity, tools, drops with lossless resume'
            cand sse 'The SSE stream: cuts and Last-Event-ID resumes with no gap and no duplicate'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'spotlight;probe;voice'= {
            cand --drops 'Connections cut abruptly (no close frame) mid-stream'
            cand --frames 'Audio frames streamed'
            cand --frame-bytes 'Bytes per frame (640: 20 ms of 16 kHz 16-bit mono)'
            cand --frame-interval 'Time between frames (real-time pace)'
            cand --connect-attempts 'Tries of the first connection before giving up (exit 3)'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --expect-restart 'Keep reconnecting across a server restart (pass if it comes back within the policy)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;probe;sse'= {
            cand --symbols 'Symbols (default: every symbol; then the seqs must be gap-free)'
            cand --cuts 'Cuts at random moments'
            cand --duration 'How long to follow the stream'
            cand --connect-attempts 'Tries of the first connection before giving up (exit 3)'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;probe;help'= {
            cand voice 'The voice WebSocket: hello, echo integrity, tools, drops with lossless resume'
            cand sse 'The SSE stream: cuts and Last-Event-ID resumes with no gap and no duplicate'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'spotlight;probe;help;voice'= {
        }
        &'spotlight;probe;help;sse'= {
        }
        &'spotlight;probe;help;help'= {
        }
        &'spotlight;drain'= {
            cand --timeout 'How long `--wait` waits before giving up (exit 1)'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --wait 'Wait until no stream and no voice session is left (a progress bar on a terminal)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;smoke'= {
            cand --junit 'Also write the results as JUnit XML to this file'
            cand --timeout 'Time each check may take'
            cand --sample 'How long the stream checks watch the stream'
            cand --only 'Run only these checks'
            cand --skip 'Leave these checks out'
            cand --connect-attempts 'Tries of the first connection before giving up (exit 3)'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --spawn 'Start an in-process server (the embedded sim source, 127.0.0.1:0) and check it'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;completions'= {
            cand --out 'Write the script into this folder (under the shell''s usual file name) instead of stdout'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;man'= {
            cand --out 'Write every page (`spotlight.1`, `spotlight-serve.1`, …) into this folder'
            cand --url 'Server URL for client commands'
            cand --pin 'PIN: `serve` protects data with it; client commands exchange it for a session token'
            cand --cacert 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`'
            cand --token 'Session token for client commands (from `POST /api/auth/pin`)'
            cand --output 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)'
            cand --color 'When to use colour (NO_COLOR is honoured with `auto`)'
            cand --json 'Machine-readable output on stdout (short for `--output json`)'
            cand -v 'More log output (repeat for more)'
            cand --verbose 'More log output (repeat for more)'
            cand -q 'Less log output'
            cand --quiet 'Less log output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spotlight;help'= {
            cand serve 'Run the streaming server'
            cand diag 'Show the server''s triage snapshot'
            cand metrics 'Show the server''s Prometheus metrics as a table'
            cand watch 'Tail a symbol''s bars (`--plain`: one line per final bar)'
            cand replay 'Start a replay (`--speed 4`), or drive it: stop, pause, resume, status, speed N'
            cand bench 'Benchmark a server (SSE fan-out, voice echo)'
            cand probe 'Prove resume from outside: `probe voice` (WebSocket), `probe sse` (stream)'
            cand drain 'Drain mode for deploys: on, off, status; `--wait` until the streams are gone'
            cand smoke 'CI smoke check of a running (or `--spawn`ed) server: one line per check, JUnit XML'
            cand completions 'Shell completions (bash, zsh, fish, powershell, elvish)'
            cand man 'Man pages: one for spotlight and one per subcommand'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'spotlight;help;serve'= {
        }
        &'spotlight;help;diag'= {
        }
        &'spotlight;help;metrics'= {
        }
        &'spotlight;help;watch'= {
        }
        &'spotlight;help;replay'= {
            cand stop 'Stop it; live data comes back'
            cand pause 'Hold it'
            cand resume 'Continue it'
            cand status 'Show its state'
            cand speed 'Change its speed (0.25 … 1000)'
        }
        &'spotlight;help;replay;stop'= {
        }
        &'spotlight;help;replay;pause'= {
        }
        &'spotlight;help;replay;resume'= {
        }
        &'spotlight;help;replay;status'= {
        }
        &'spotlight;help;replay;speed'= {
        }
        &'spotlight;help;bench'= {
            cand sse 'Many SSE subscribers on one server: delivery, loss, latency, cost'
            cand voice 'Many voice sessions echoing audio: round trip, throughput, loss, cost'
            cand chaos 'Clients that cut and resume at random, checked against history: lost, duplicated, out of order'
            cand queue 'A long voice queue: its memory, and how fast every waiter hears its new place'
        }
        &'spotlight;help;bench;sse'= {
        }
        &'spotlight;help;bench;voice'= {
        }
        &'spotlight;help;bench;chaos'= {
        }
        &'spotlight;help;bench;queue'= {
        }
        &'spotlight;help;probe'= {
            cand voice 'The voice WebSocket: hello, echo integrity, tools, drops with lossless resume'
            cand sse 'The SSE stream: cuts and Last-Event-ID resumes with no gap and no duplicate'
        }
        &'spotlight;help;probe;voice'= {
        }
        &'spotlight;help;probe;sse'= {
        }
        &'spotlight;help;drain'= {
        }
        &'spotlight;help;smoke'= {
        }
        &'spotlight;help;completions'= {
        }
        &'spotlight;help;man'= {
        }
        &'spotlight;help;help'= {
        }
    ]
    $completions[$command]
}
