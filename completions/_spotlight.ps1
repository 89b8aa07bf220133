
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'spotlight' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'spotlight'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'spotlight' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the streaming server')
            [CompletionResult]::new('diag', 'diag', [CompletionResultType]::ParameterValue, 'Show the server''s triage snapshot')
            [CompletionResult]::new('metrics', 'metrics', [CompletionResultType]::ParameterValue, 'Show the server''s Prometheus metrics as a table')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Tail a symbol''s bars (`--plain`: one line per final bar)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Start a replay (`--speed 4`), or drive it: stop, pause, resume, status, speed N')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Benchmark a server (SSE fan-out, voice echo)')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Prove resume from outside: `probe voice` (WebSocket), `probe sse` (stream)')
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Drain mode for deploys: on, off, status; `--wait` until the streams are gone')
            [CompletionResult]::new('smoke', 'smoke', [CompletionResultType]::ParameterValue, 'CI smoke check of a running (or `--spawn`ed) server: one line per check, JUnit XML')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Shell completions (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Man pages: one for spotlight and one per subcommand')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'spotlight;serve' {
            [CompletionResult]::new('--addr', '--addr', [CompletionResultType]::ParameterName, 'Address to listen on')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Market source: `sim` (embedded), `file:PATH` (a file or folder of 1m bars) or `polygon` (a live provider; key in POLYGON_API_KEY)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log format')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Save the epoch, seq, ring and history here on shutdown, and continue from them on start')
            [CompletionResult]::new('--drain', '--drain', [CompletionResultType]::ParameterName, 'Time allowed for connections to finish after SIGINT/SIGTERM (at least 100ms)')
            [CompletionResult]::new('--heartbeat', '--heartbeat', [CompletionResultType]::ParameterName, 'Interval of SSE `ping` events (at least 100ms)')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'Deployment: `prod` makes session cookies `SameSite=None; Secure`')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve TLS with this PEM certificate chain (with --tls-key): HTTP/2 and HTTP/1.1 on the one port; SIGHUP reads both files again')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The PEM private key of --tls-cert')
            [CompletionResult]::new('--pin-attempts', '--pin-attempts', [CompletionResultType]::ParameterName, 'PIN attempts allowed per minute per client address')
            [CompletionResult]::new('--pin-attempts-global', '--pin-attempts-global', [CompletionResultType]::ParameterName, 'Failed PIN attempts allowed per minute over all addresses')
            [CompletionResult]::new('--rate-limit', '--rate-limit', [CompletionResultType]::ParameterName, 'API requests allowed per minute per client address (health, readiness and metrics are exempt)')
            [CompletionResult]::new('--symbols', '--symbols', [CompletionResultType]::ParameterName, 'Symbols: simulated, or followed from the live provider')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed of the simulation: same seed, same bars')
            [CompletionResult]::new('--tick-ms', '--tick-ms', [CompletionResultType]::ParameterName, 'Interval of in-progress updates, ms')
            [CompletionResult]::new('--backfill', '--backfill', [CompletionResultType]::ParameterName, '1m history before the start: simulated, or backfilled from the live provider')
            [CompletionResult]::new('--sim-speed', '--sim-speed', [CompletionResultType]::ParameterName, 'Speed of the simulated clock relative to wall time (for demos and tests)')
            [CompletionResult]::new('--tz', '--tz', [CompletionResultType]::ParameterName, 'Zone of naive date-times in files (default: the format''s own; CSV: America/New_York)')
            [CompletionResult]::new('--stamp', '--stamp', [CompletionResultType]::ParameterName, 'Whether file timestamps mark bar start or end (default: the format''s own)')
            [CompletionResult]::new('--symbol', '--symbol', [CompletionResultType]::ParameterName, 'Symbol for files that name none')
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'A recording to replay for SYMBOL: a file or folder in any format the file source reads (repeatable; env: comma-separated)')
            [CompletionResult]::new('--ring', '--ring', [CompletionResultType]::ParameterName, 'Events kept for resume')
            [CompletionResult]::new('--ring-bytes', '--ring-bytes', [CompletionResultType]::ParameterName, 'Bytes of events the ring keeps at most (beside --ring events)')
            [CompletionResult]::new('--client-queue', '--client-queue', [CompletionResultType]::ParameterName, 'Events one SSE client may have waiting before it is disconnected')
            [CompletionResult]::new('--client-queue-bytes', '--client-queue-bytes', [CompletionResultType]::ParameterName, 'Bytes one SSE client may have waiting before it is disconnected')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Open connections at most (0: no limit but the open-file limit) [default: the open-file limit minus 64]')
            [CompletionResult]::new('--max-streams-per-addr', '--max-streams-per-addr', [CompletionResultType]::ParameterName, 'Streams one client address may hold (0: no limit)')
            [CompletionResult]::new('--sse-max-clients', '--sse-max-clients', [CompletionResultType]::ParameterName, 'SSE streams at most (0: no limit but --max-connections)')
            [CompletionResult]::new('--max-symbols', '--max-symbols', [CompletionResultType]::ParameterName, 'Symbols the server holds at most (and a stream may name)')
            [CompletionResult]::new('--header-timeout', '--header-timeout', [CompletionResultType]::ParameterName, 'Time a request head may take to arrive (at least 1s)')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'A stream whose peer takes none of what was sent this long is closed (at least 1s)')
            [CompletionResult]::new('--stream-sndbuf', '--stream-sndbuf', [CompletionResultType]::ParameterName, 'Kernel send buffer per connection in bytes, what a stalled peer can pin (0: the kernel''s autotuning)')
            [CompletionResult]::new('--voice-resume-window', '--voice-resume-window', [CompletionResultType]::ParameterName, 'Outbound voice messages kept for a resume (time; at most 512 KiB)')
            [CompletionResult]::new('--voice-resume-ttl', '--voice-resume-ttl', [CompletionResultType]::ParameterName, 'How long a dropped voice session can be resumed (0s: never)')
            [CompletionResult]::new('--voice-idle', '--voice-idle', [CompletionResultType]::ParameterName, 'A voice connection that sends nothing this long is closed (4408)')
            [CompletionResult]::new('--voice-max-sessions', '--voice-max-sessions', [CompletionResultType]::ParameterName, 'Voice sessions at once (0: no limit); more wait in a first-come, first-served queue')
            [CompletionResult]::new('--voice-queue-max', '--voice-queue-max', [CompletionResultType]::ParameterName, 'Voice connections waiting for a seat at most (beyond: `at_capacity`, close 1013)')
            [CompletionResult]::new('--voice-upstream', '--voice-upstream', [CompletionResultType]::ParameterName, 'Relay voice audio to this WebSocket (ws://…) instead of echoing it')
            [CompletionResult]::new('--allowed-host', '--allowed-host', [CompletionResultType]::ParameterName, 'Another name a loopback listener answers to (repeatable; DNS-rebinding defence)')
            [CompletionResult]::new('--cors-origin', '--cors-origin', [CompletionResultType]::ParameterName, 'An origin allowed cross-site, with credentials (repeatable), e.g. https://dash.example.com')
            [CompletionResult]::new('--trusted-proxy', '--trusted-proxy', [CompletionResultType]::ParameterName, 'A proxy (CIDR or address) whose Forwarded / X-Forwarded-For is believed (repeatable)')
            [CompletionResult]::new('--retain', '--retain', [CompletionResultType]::ParameterName, 'Final 1m bars kept per symbol for history')
            [CompletionResult]::new('--ingest-limit', '--ingest-limit', [CompletionResultType]::ParameterName, 'Largest ingest body, bytes')
            [CompletionResult]::new('--bus', '--bus', [CompletionResultType]::ParameterName, 'Share one market log with other instances through Redis (redis://HOST:PORT[/DB], rediss:// for TLS)')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'How this instance takes part: produce when the lease is free (auto, producer) or never (edge)')
            [CompletionResult]::new('--bus-stall', '--bus-stall', [CompletionResultType]::ParameterName, 'Not ready when nothing (not even the producer''s heartbeat) came from the bus this long')
            [CompletionResult]::new('--bus-lease', '--bus-lease', [CompletionResultType]::ParameterName, 'The producer lease''s time: a standby takes over within it when the producer dies')
            [CompletionResult]::new('--polygon-ws-url', '--polygon-ws-url', [CompletionResultType]::ParameterName, 'The provider''s stocks WebSocket (`--source polygon`)')
            [CompletionResult]::new('--polygon-rest-url', '--polygon-rest-url', [CompletionResultType]::ParameterName, 'The provider''s REST base, for backfill (`--source polygon`)')
            [CompletionResult]::new('--source-stall', '--source-stall', [CompletionResultType]::ParameterName, 'Not ready when the live feed is down this long, or silent this long in US market hours')
            [CompletionResult]::new('--otlp-endpoint', '--otlp-endpoint', [CompletionResultType]::ParameterName, 'Export traces over OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--allow-open', '--allow-open', [CompletionResultType]::ParameterName, 'Allow listening on a non-loopback address with no PIN set')
            [CompletionResult]::new('--tls-by-proxy', '--tls-by-proxy', [CompletionResultType]::ParameterName, 'A proxy in front terminates TLS: lets `--env prod` listen on a non-loopback address without --tls-cert')
            [CompletionResult]::new('--private-diag', '--private-diag', [CompletionResultType]::ParameterName, 'Put `/api/diag` behind auth too')
            [CompletionResult]::new('--source-stall-always', '--source-stall-always', [CompletionResultType]::ParameterName, 'Count the live feed''s silence around the clock, not only in US market hours')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;diag' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;metrics' {
            [CompletionResult]::new('--filter', '--filter', [CompletionResultType]::ParameterName, 'Only metrics whose name contains this')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print the exposition text as served (short for `--output raw`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;watch' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Timeframe')
            [CompletionResult]::new('--timeframe', '--timeframe', [CompletionResultType]::ParameterName, 'Timeframe')
            [CompletionResult]::new('--history', '--history', [CompletionResultType]::ParameterName, 'Bars of history to start from')
            [CompletionResult]::new('--fps', '--fps', [CompletionResultType]::ParameterName, 'Most chart redraws per second')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Write logs to this file (the screen belongs to the chart)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--plain', '--plain', [CompletionResultType]::ParameterName, 'One line per final bar instead of the chart (short for `--output plain`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;replay' {
            [CompletionResult]::new('--speed', '--speed', [CompletionResultType]::ParameterName, 'Speed, × real time (0.25 … 1000)')
            [CompletionResult]::new('--symbols', '--symbols', [CompletionResultType]::ParameterName, 'Symbols (default: the server''s recordings, else every symbol)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Window start: RFC 3339 or Unix ms')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Window end: RFC 3339 or Unix ms')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Show progress until the replay ends (default on a terminal)')
            [CompletionResult]::new('--no-follow', '--no-follow', [CompletionResultType]::ParameterName, 'Return as soon as the replay has started')
            [CompletionResult]::new('--stop-on-exit', '--stop-on-exit', [CompletionResultType]::ParameterName, 'With --follow: stop the replay on Ctrl-C (default: leave it running)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop it; live data comes back')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Hold it')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Continue it')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show its state')
            [CompletionResult]::new('speed', 'speed', [CompletionResultType]::ParameterValue, 'Change its speed (0.25 … 1000)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'spotlight;replay;stop' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;replay;pause' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;replay;resume' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;replay;status' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;replay;speed' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;replay;help' {
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop it; live data comes back')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Hold it')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Continue it')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show its state')
            [CompletionResult]::new('speed', 'speed', [CompletionResultType]::ParameterValue, 'Change its speed (0.25 … 1000)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'spotlight;replay;help;stop' {
            break
        }
        'spotlight;replay;help;pause' {
            break
        }
        'spotlight;replay;help;resume' {
            break
        }
        'spotlight;replay;help;status' {
            break
        }
        'spotlight;replay;help;speed' {
            break
        }
        'spotlight;replay;help;help' {
            break
        }
        'spotlight;bench' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('sse', 'sse', [CompletionResultType]::ParameterValue, 'Many SSE subscribers on one server: delivery, loss, latency, cost')
            [CompletionResult]::new('voice', 'voice', [CompletionResultType]::ParameterValue, 'Many voice sessions echoing audio: round trip, throughput, loss, cost')
            [CompletionResult]::new('chaos', 'chaos', [CompletionResultType]::ParameterValue, 'Clients that cut and resume at random, checked against history: lost, duplicated, out of order')
            [CompletionResult]::new('queue', 'queue', [CompletionResultType]::ParameterValue, 'A long voice queue: its memory, and how fast every waiter hears its new place')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'spotlight;bench;sse' {
            [CompletionResult]::new('--sub-url', '--sub-url', [CompletionResultType]::ParameterName, 'Stream URL; `{i}` becomes the subscriber''s index. Default: `--url` + `/realtime/sse?timeframe=1m` (with `--ingest`: `?symbols=<--symbol>`)')
            [CompletionResult]::new('--clients', '--clients', [CompletionResultType]::ParameterName, 'Concurrent subscribers')
            [CompletionResult]::new('--http2-streams', '--http2-streams', [CompletionResultType]::ParameterName, 'Over `https://`: this many subscribers'' streams share each HTTP/2 connection (0: one TLS connection per subscriber, HTTP/1.1)')
            [CompletionResult]::new('--ramp', '--ramp', [CompletionResultType]::ParameterName, 'Connections opened at once while ramping up')
            [CompletionResult]::new('--source-addrs', '--source-addrs', [CompletionResultType]::ParameterName, 'Local addresses to spread connections over (e.g. 127.0.0.1,127.0.0.2)')
            [CompletionResult]::new('--publish-url', '--publish-url', [CompletionResultType]::ParameterName, 'Publish by POSTing messages to this URL (e.g. an nchan publisher location)')
            [CompletionResult]::new('--symbol', '--symbol', [CompletionResultType]::ParameterName, 'Symbol of the ingested bars')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Messages per second')
            [CompletionResult]::new('--messages', '--messages', [CompletionResultType]::ParameterName, 'Messages measured')
            [CompletionResult]::new('--warmup', '--warmup', [CompletionResultType]::ParameterName, 'Messages published before the measured ones and not timed (their loss still counts)')
            [CompletionResult]::new('--grid-offset', '--grid-offset', [CompletionResultType]::ParameterName, 'Put message slots on the wall clock''s grid (whole periods since the Unix epoch) shifted by this much. Two runs started together against two servers on one machine then take turns: `0ms` for one and `50ms` for the other at 10/s')
            [CompletionResult]::new('--payload-bytes', '--payload-bytes', [CompletionResultType]::ParameterName, 'Size of a `--publish-url` message, bytes')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Without a publisher: how long to measure what the server streams')
            [CompletionResult]::new('--server-pid', '--server-pid', [CompletionResultType]::ParameterName, 'The server''s pid, to sample its RSS and CPU from /proc')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--ingest', '--ingest', [CompletionResultType]::ParameterName, 'Publish by POSTing one final 1m bar per message to `--url`''s `/api/ingest`')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;bench;voice' {
            [CompletionResult]::new('--sessions', '--sessions', [CompletionResultType]::ParameterName, 'Concurrent sessions')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Frames per second per session')
            [CompletionResult]::new('--frame-bytes', '--frame-bytes', [CompletionResultType]::ParameterName, 'Bytes per frame (at least 16)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long to send')
            [CompletionResult]::new('--server-pid', '--server-pid', [CompletionResultType]::ParameterName, 'The server''s pid, to sample its RSS and CPU from /proc')
            [CompletionResult]::new('--ws-url', '--ws-url', [CompletionResultType]::ParameterName, 'The WebSocket to load (default: the server''s /voice/ws), e.g. another echo server')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Plain WebSocket echo: no `hello`, no protocol (any echo server)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;bench;chaos' {
            [CompletionResult]::new('--clients', '--clients', [CompletionResultType]::ParameterName, 'Concurrent clients')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long they run')
            [CompletionResult]::new('--symbols', '--symbols', [CompletionResultType]::ParameterName, 'Symbols (default: every symbol; then seqs must be gap-free too)')
            [CompletionResult]::new('--cut-min', '--cut-min', [CompletionResultType]::ParameterName, 'Shortest time between a client''s cuts')
            [CompletionResult]::new('--cut-max', '--cut-max', [CompletionResultType]::ParameterName, 'Longest time between a client''s cuts')
            [CompletionResult]::new('--restart-cmd', '--restart-cmd', [CompletionResultType]::ParameterName, 'A shell command that restarts the server, run halfway through')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--no-cuts', '--no-cuts', [CompletionResultType]::ParameterName, 'No cuts: clients reconnect only when the server closes their stream (to measure a restart''s comeback)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;bench;queue' {
            [CompletionResult]::new('--waiting', '--waiting', [CompletionResultType]::ParameterName, 'Connections to queue')
            [CompletionResult]::new('--rounds', '--rounds', [CompletionResultType]::ParameterName, 'Seated sessions to end, one per round')
            [CompletionResult]::new('--server-pid', '--server-pid', [CompletionResultType]::ParameterName, 'The server''s pid, to read its RSS from /proc')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;bench;help' {
            [CompletionResult]::new('sse', 'sse', [CompletionResultType]::ParameterValue, 'Many SSE subscribers on one server: delivery, loss, latency, cost')
            [CompletionResult]::new('voice', 'voice', [CompletionResultType]::ParameterValue, 'Many voice sessions echoing audio: round trip, throughput, loss, cost')
            [CompletionResult]::new('chaos', 'chaos', [CompletionResultType]::ParameterValue, 'Clients that cut and resume at random, checked against history: lost, duplicated, out of order')
            [CompletionResult]::new('queue', 'queue', [CompletionResultType]::ParameterValue, 'A long voice queue: its memory, and how fast every waiter hears its new place')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'spotlight;bench;help;sse' {
            break
        }
        'spotlight;bench;help;voice' {
            break
        }
        'spotlight;bench;help;chaos' {
            break
        }
        'spotlight;bench;help;queue' {
            break
        }
        'spotlight;bench;help;help' {
            break
        }
        'spotlight;probe' {
            [CompletionResult]::new('--connect-attempts', '--connect-attempts', [CompletionResultType]::ParameterName, 'Tries of the first connection before giving up (exit 3)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('voice', 'voice', [CompletionResultType]::ParameterValue, 'The voice WebSocket: hello, echo integrity, tools, drops with lossless resume')
            [CompletionResult]::new('sse', 'sse', [CompletionResultType]::ParameterValue, 'The SSE stream: cuts and Last-Event-ID resumes with no gap and no duplicate')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'spotlight;probe;voice' {
            [CompletionResult]::new('--drops', '--drops', [CompletionResultType]::ParameterName, 'Connections cut abruptly (no close frame) mid-stream')
            [CompletionResult]::new('--frames', '--frames', [CompletionResultType]::ParameterName, 'Audio frames streamed')
            [CompletionResult]::new('--frame-bytes', '--frame-bytes', [CompletionResultType]::ParameterName, 'Bytes per frame (640: 20 ms of 16 kHz 16-bit mono)')
            [CompletionResult]::new('--frame-interval', '--frame-interval', [CompletionResultType]::ParameterName, 'Time between frames (real-time pace)')
            [CompletionResult]::new('--connect-attempts', '--connect-attempts', [CompletionResultType]::ParameterName, 'Tries of the first connection before giving up (exit 3)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--expect-restart', '--expect-restart', [CompletionResultType]::ParameterName, 'Keep reconnecting across a server restart (pass if it comes back within the policy)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;probe;sse' {
            [CompletionResult]::new('--symbols', '--symbols', [CompletionResultType]::ParameterName, 'Symbols (default: every symbol; then the seqs must be gap-free)')
            [CompletionResult]::new('--cuts', '--cuts', [CompletionResultType]::ParameterName, 'Cuts at random moments')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long to follow the stream')
            [CompletionResult]::new('--connect-attempts', '--connect-attempts', [CompletionResultType]::ParameterName, 'Tries of the first connection before giving up (exit 3)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;probe;help' {
            [CompletionResult]::new('voice', 'voice', [CompletionResultType]::ParameterValue, 'The voice WebSocket: hello, echo integrity, tools, drops with lossless resume')
            [CompletionResult]::new('sse', 'sse', [CompletionResultType]::ParameterValue, 'The SSE stream: cuts and Last-Event-ID resumes with no gap and no duplicate')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'spotlight;probe;help;voice' {
            break
        }
        'spotlight;probe;help;sse' {
            break
        }
        'spotlight;probe;help;help' {
            break
        }
        'spotlight;drain' {
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long `--wait` waits before giving up (exit 1)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait until no stream and no voice session is left (a progress bar on a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;smoke' {
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Also write the results as JUnit XML to this file')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Time each check may take')
            [CompletionResult]::new('--sample', '--sample', [CompletionResultType]::ParameterName, 'How long the stream checks watch the stream')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Run only these checks')
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'Leave these checks out')
            [CompletionResult]::new('--connect-attempts', '--connect-attempts', [CompletionResultType]::ParameterName, 'Tries of the first connection before giving up (exit 3)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--spawn', '--spawn', [CompletionResultType]::ParameterName, 'Start an in-process server (the embedded sim source, 127.0.0.1:0) and check it')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;completions' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write the script into this folder (under the shell''s usual file name) instead of stdout')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;man' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write every page (`spotlight.1`, `spotlight-serve.1`, …) into this folder')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Server URL for client commands')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'PIN: `serve` protects data with it; client commands exchange it for a session token')
            [CompletionResult]::new('--cacert', '--cacert', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Session token for client commands (from `POST /api/auth/pin`)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with `auto`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output on stdout (short for `--output json`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Less log output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spotlight;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the streaming server')
            [CompletionResult]::new('diag', 'diag', [CompletionResultType]::ParameterValue, 'Show the server''s triage snapshot')
            [CompletionResult]::new('metrics', 'metrics', [CompletionResultType]::ParameterValue, 'Show the server''s Prometheus metrics as a table')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Tail a symbol''s bars (`--plain`: one line per final bar)')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Start a replay (`--speed 4`), or drive it: stop, pause, resume, status, speed N')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Benchmark a server (SSE fan-out, voice echo)')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Prove resume from outside: `probe voice` (WebSocket), `probe sse` (stream)')
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Drain mode for deploys: on, off, status; `--wait` until the streams are gone')
            [CompletionResult]::new('smoke', 'smoke', [CompletionResultType]::ParameterValue, 'CI smoke check of a running (or `--spawn`ed) server: one line per check, JUnit XML')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Shell completions (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Man pages: one for spotlight and one per subcommand')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'spotlight;help;serve' {
            break
        }
        'spotlight;help;diag' {
            break
        }
        'spotlight;help;metrics' {
            break
        }
        'spotlight;help;watch' {
            break
        }
        'spotlight;help;replay' {
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop it; live data comes back')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Hold it')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Continue it')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show its state')
            [CompletionResult]::new('speed', 'speed', [CompletionResultType]::ParameterValue, 'Change its speed (0.25 … 1000)')
            break
        }
        'spotlight;help;replay;stop' {
            break
        }
        'spotlight;help;replay;pause' {
            break
        }
        'spotlight;help;replay;resume' {
            break
        }
        'spotlight;help;replay;status' {
            break
        }
        'spotlight;help;replay;speed' {
            break
        }
        'spotlight;help;bench' {
            [CompletionResult]::new('sse', 'sse', [CompletionResultType]::ParameterValue, 'Many SSE subscribers on one server: delivery, loss, latency, cost')
            [CompletionResult]::new('voice', 'voice', [CompletionResultType]::ParameterValue, 'Many voice sessions echoing audio: round trip, throughput, loss, cost')
            [CompletionResult]::new('chaos', 'chaos', [CompletionResultType]::ParameterValue, 'Clients that cut and resume at random, checked against history: lost, duplicated, out of order')
            [CompletionResult]::new('queue', 'queue', [CompletionResultType]::ParameterValue, 'A long voice queue: its memory, and how fast every waiter hears its new place')
            break
        }
        'spotlight;help;bench;sse' {
            break
        }
        'spotlight;help;bench;voice' {
            break
        }
        'spotlight;help;bench;chaos' {
            break
        }
        'spotlight;help;bench;queue' {
            break
        }
        'spotlight;help;probe' {
            [CompletionResult]::new('voice', 'voice', [CompletionResultType]::ParameterValue, 'The voice WebSocket: hello, echo integrity, tools, drops with lossless resume')
            [CompletionResult]::new('sse', 'sse', [CompletionResultType]::ParameterValue, 'The SSE stream: cuts and Last-Event-ID resumes with no gap and no duplicate')
            break
        }
        'spotlight;help;probe;voice' {
            break
        }
        'spotlight;help;probe;sse' {
            break
        }
        'spotlight;help;drain' {
            break
        }
        'spotlight;help;smoke' {
            break
        }
        'spotlight;help;completions' {
            break
        }
        'spotlight;help;man' {
            break
        }
        'spotlight;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
