# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_spotlight_global_optspecs
    string join \n url= pin= cacert= token= json output= v/verbose q/quiet color= h/help V/version
end

function __fish_spotlight_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_spotlight_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_spotlight_using_subcommand
    set -l cmd (__fish_spotlight_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c spotlight -n "__fish_spotlight_needs_command" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_needs_command" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_needs_command" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_needs_command" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_needs_command" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_needs_command" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_needs_command" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_needs_command" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_needs_command" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_needs_command" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "serve" -d 'Run the streaming server'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "diag" -d 'Show the server\'s triage snapshot'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "metrics" -d 'Show the server\'s Prometheus metrics as a table'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "watch" -d 'Tail a symbol\'s bars (`--plain`: one line per final bar)'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "replay" -d 'Start a replay (`--speed 4`), or drive it: stop, pause, resume, status, speed N'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "bench" -d 'Benchmark a server (SSE fan-out, voice echo)'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "probe" -d 'Prove resume from outside: `probe voice` (WebSocket), `probe sse` (stream)'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "drain" -d 'Drain mode for deploys: on, off, status; `--wait` until the streams are gone'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "smoke" -d 'CI smoke check of a running (or `--spawn`ed) server: one line per check, JUnit XML'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "completions" -d 'Shell completions (bash, zsh, fish, powershell, elvish)'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "man" -d 'Man pages: one for spotlight and one per subcommand'
complete -c spotlight -n "__fish_spotlight_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l addr -d 'Address to listen on' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l source -d 'Market source: `sim` (embedded), `file:PATH` (a file or folder of 1m bars) or `polygon` (a live provider; key in POLYGON_API_KEY)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l log-format -d 'Log format' -r -f -a "pretty\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l state-dir -d 'Save the epoch, seq, ring and history here on shutdown, and continue from them on start' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l drain -d 'Time allowed for connections to finish after SIGINT/SIGTERM (at least 100ms)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l heartbeat -d 'Interval of SSE `ping` events (at least 100ms)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l env -d 'Deployment: `prod` makes session cookies `SameSite=None; Secure`' -r -f -a "dev\t'Local development: `SameSite=Lax` cookies without `Secure`'
prod\t'Behind TLS: `SameSite=None; Secure` cookies'"
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l tls-cert -d 'Serve TLS with this PEM certificate chain (with --tls-key): HTTP/2 and HTTP/1.1 on the one port; SIGHUP reads both files again' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l tls-key -d 'The PEM private key of --tls-cert' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l pin-attempts -d 'PIN attempts allowed per minute per client address' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l pin-attempts-global -d 'Failed PIN attempts allowed per minute over all addresses' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l rate-limit -d 'API requests allowed per minute per client address (health, readiness and metrics are exempt)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l symbols -d 'Symbols: simulated, or followed from the live provider' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l seed -d 'Seed of the simulation: same seed, same bars' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l tick-ms -d 'Interval of in-progress updates, ms' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l backfill -d '1m history before the start: simulated, or backfilled from the live provider' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l sim-speed -d 'Speed of the simulated clock relative to wall time (for demos and tests)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l tz -d 'Zone of naive date-times in files (default: the format\'s own; CSV: America/New_York)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l stamp -d 'Whether file timestamps mark bar start or end (default: the format\'s own)' -r -f -a "start\t'The timestamp is the bucket start (the wire convention)'
end\t'The timestamp is the bucket end (NinjaTrader and many exports)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l symbol -d 'Symbol for files that name none' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l replay -d 'A recording to replay for SYMBOL: a file or folder in any format the file source reads (repeatable; env: comma-separated)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l ring -d 'Events kept for resume' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l ring-bytes -d 'Bytes of events the ring keeps at most (beside --ring events)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l client-queue -d 'Events one SSE client may have waiting before it is disconnected' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l client-queue-bytes -d 'Bytes one SSE client may have waiting before it is disconnected' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l max-connections -d 'Open connections at most (0: no limit but the open-file limit) [default: the open-file limit minus 64]' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l max-streams-per-addr -d 'Streams one client address may hold (0: no limit)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l sse-max-clients -d 'SSE streams at most (0: no limit but --max-connections)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l max-symbols -d 'Symbols the server holds at most (and a stream may name)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l header-timeout -d 'Time a request head may take to arrive (at least 1s)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l stall-timeout -d 'A stream whose peer takes none of what was sent this long is closed (at least 1s)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l stream-sndbuf -d 'Kernel send buffer per connection in bytes, what a stalled peer can pin (0: the kernel\'s autotuning)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l voice-resume-window -d 'Outbound voice messages kept for a resume (time; at most 512 KiB)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l voice-resume-ttl -d 'How long a dropped voice session can be resumed (0s: never)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l voice-idle -d 'A voice connection that sends nothing this long is closed (4408)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l voice-max-sessions -d 'Voice sessions at once (0: no limit); more wait in a first-come, first-served queue' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l voice-queue-max -d 'Voice connections waiting for a seat at most (beyond: `at_capacity`, close 1013)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l voice-upstream -d 'Relay voice audio to this WebSocket (ws://…) instead of echoing it' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l allowed-host -d 'Another name a loopback listener answers to (repeatable; DNS-rebinding defence)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l cors-origin -d 'An origin allowed cross-site, with credentials (repeatable), e.g. https://dash.example.com' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l trusted-proxy -d 'A proxy (CIDR or address) whose Forwarded / X-Forwarded-For is believed (repeatable)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l retain -d 'Final 1m bars kept per symbol for history' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l ingest-limit -d 'Largest ingest body, bytes' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l bus -d 'Share one market log with other instances through Redis (redis://HOST:PORT[/DB], rediss:// for TLS)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l role -d 'How this instance takes part: produce when the lease is free (auto, producer) or never (edge)' -r -f -a "auto\t'Produce while holding the lease, stand by otherwise'
producer\t'Always try to hold the lease'
edge\t'Never produce: serve what the log holds'"
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l bus-stall -d 'Not ready when nothing (not even the producer\'s heartbeat) came from the bus this long' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l bus-lease -d 'The producer lease\'s time: a standby takes over within it when the producer dies' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l polygon-ws-url -d 'The provider\'s stocks WebSocket (`--source polygon`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l polygon-rest-url -d 'The provider\'s REST base, for backfill (`--source polygon`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l source-stall -d 'Not ready when the live feed is down this long, or silent this long in US market hours' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l otlp-endpoint -d 'Export traces over OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l allow-open -d 'Allow listening on a non-loopback address with no PIN set'
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l tls-by-proxy -d 'A proxy in front terminates TLS: lets `--env prod` listen on a non-loopback address without --tls-cert'
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l private-diag -d 'Put `/api/diag` behind auth too'
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l source-stall-always -d 'Count the live feed\'s silence around the clock, not only in US market hours'
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand serve" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand diag" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand diag" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand diag" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand diag" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand diag" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand diag" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand diag" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand diag" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand diag" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand diag" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand diag" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -l filter -d 'Only metrics whose name contains this' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -l raw -d 'Print the exposition text as served (short for `--output raw`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand metrics" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -s t -l timeframe -d 'Timeframe' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -l history -d 'Bars of history to start from' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -l fps -d 'Most chart redraws per second' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -l log-file -d 'Write logs to this file (the screen belongs to the chart)' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -l plain -d 'One line per final bar instead of the chart (short for `--output plain`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand watch" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l speed -d 'Speed, × real time (0.25 … 1000)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l symbols -d 'Symbols (default: the server\'s recordings, else every symbol)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l from -d 'Window start: RFC 3339 or Unix ms' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l to -d 'Window end: RFC 3339 or Unix ms' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l follow -d 'Show progress until the replay ends (default on a terminal)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l no-follow -d 'Return as soon as the replay has started'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l stop-on-exit -d 'With --follow: stop the replay on Ctrl-C (default: leave it running)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -f -a "stop" -d 'Stop it; live data comes back'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -f -a "pause" -d 'Hold it'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -f -a "resume" -d 'Continue it'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -f -a "status" -d 'Show its state'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -f -a "speed" -d 'Change its speed (0.25 … 1000)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and not __fish_seen_subcommand_from stop pause resume status speed help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from stop" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from stop" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from stop" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from stop" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from stop" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from stop" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from stop" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from stop" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from stop" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from stop" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from stop" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from pause" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from pause" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from pause" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from pause" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from pause" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from pause" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from pause" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from pause" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from pause" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from pause" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from pause" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from resume" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from resume" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from resume" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from resume" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from resume" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from resume" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from resume" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from resume" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from resume" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from resume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from resume" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from status" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from status" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from status" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from status" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from status" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from status" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from status" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from speed" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from speed" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from speed" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from speed" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from speed" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from speed" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from speed" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from speed" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from speed" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from speed" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from speed" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from help" -f -a "stop" -d 'Stop it; live data comes back'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from help" -f -a "pause" -d 'Hold it'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from help" -f -a "resume" -d 'Continue it'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show its state'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from help" -f -a "speed" -d 'Change its speed (0.25 … 1000)'
complete -c spotlight -n "__fish_spotlight_using_subcommand replay; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -f -a "sse" -d 'Many SSE subscribers on one server: delivery, loss, latency, cost'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -f -a "voice" -d 'Many voice sessions echoing audio: round trip, throughput, loss, cost'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -f -a "chaos" -d 'Clients that cut and resume at random, checked against history: lost, duplicated, out of order'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -f -a "queue" -d 'A long voice queue: its memory, and how fast every waiter hears its new place'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and not __fish_seen_subcommand_from sse voice chaos queue help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l sub-url -d 'Stream URL; `{i}` becomes the subscriber\'s index. Default: `--url` + `/realtime/sse?timeframe=1m` (with `--ingest`: `?symbols=<--symbol>`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l clients -d 'Concurrent subscribers' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l http2-streams -d 'Over `https://`: this many subscribers\' streams share each HTTP/2 connection (0: one TLS connection per subscriber, HTTP/1.1)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l ramp -d 'Connections opened at once while ramping up' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l source-addrs -d 'Local addresses to spread connections over (e.g. 127.0.0.1,127.0.0.2)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l publish-url -d 'Publish by POSTing messages to this URL (e.g. an nchan publisher location)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l symbol -d 'Symbol of the ingested bars' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l rate -d 'Messages per second' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l messages -d 'Messages measured' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l warmup -d 'Messages published before the measured ones and not timed (their loss still counts)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l grid-offset -d 'Put message slots on the wall clock\'s grid (whole periods since the Unix epoch) shifted by this much. Two runs started together against two servers on one machine then take turns: `0ms` for one and `50ms` for the other at 10/s' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l payload-bytes -d 'Size of a `--publish-url` message, bytes' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l duration -d 'Without a publisher: how long to measure what the server streams' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l server-pid -d 'The server\'s pid, to sample its RSS and CPU from /proc' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l ingest -d 'Publish by POSTing one final 1m bar per message to `--url`\'s `/api/ingest`'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from sse" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l sessions -d 'Concurrent sessions' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l rate -d 'Frames per second per session' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l frame-bytes -d 'Bytes per frame (at least 16)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l duration -d 'How long to send' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l server-pid -d 'The server\'s pid, to sample its RSS and CPU from /proc' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l ws-url -d 'The WebSocket to load (default: the server\'s /voice/ws), e.g. another echo server' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l raw -d 'Plain WebSocket echo: no `hello`, no protocol (any echo server)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from voice" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l clients -d 'Concurrent clients' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l duration -d 'How long they run' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l symbols -d 'Symbols (default: every symbol; then seqs must be gap-free too)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l cut-min -d 'Shortest time between a client\'s cuts' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l cut-max -d 'Longest time between a client\'s cuts' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l restart-cmd -d 'A shell command that restarts the server, run halfway through' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l no-cuts -d 'No cuts: clients reconnect only when the server closes their stream (to measure a restart\'s comeback)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from chaos" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -l waiting -d 'Connections to queue' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -l rounds -d 'Seated sessions to end, one per round' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -l server-pid -d 'The server\'s pid, to read its RSS from /proc' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from queue" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "sse" -d 'Many SSE subscribers on one server: delivery, loss, latency, cost'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "voice" -d 'Many voice sessions echoing audio: round trip, throughput, loss, cost'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "chaos" -d 'Clients that cut and resume at random, checked against history: lost, duplicated, out of order'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "queue" -d 'A long voice queue: its memory, and how fast every waiter hears its new place'
complete -c spotlight -n "__fish_spotlight_using_subcommand bench; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -l connect-attempts -d 'Tries of the first connection before giving up (exit 3)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -f -a "voice" -d 'The voice WebSocket: hello, echo integrity, tools, drops with lossless resume'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -f -a "sse" -d 'The SSE stream: cuts and Last-Event-ID resumes with no gap and no duplicate'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and not __fish_seen_subcommand_from voice sse help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l drops -d 'Connections cut abruptly (no close frame) mid-stream' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l frames -d 'Audio frames streamed' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l frame-bytes -d 'Bytes per frame (640: 20 ms of 16 kHz 16-bit mono)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l frame-interval -d 'Time between frames (real-time pace)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l connect-attempts -d 'Tries of the first connection before giving up (exit 3)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l expect-restart -d 'Keep reconnecting across a server restart (pass if it comes back within the policy)'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from voice" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -l symbols -d 'Symbols (default: every symbol; then the seqs must be gap-free)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -l cuts -d 'Cuts at random moments' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -l duration -d 'How long to follow the stream' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -l connect-attempts -d 'Tries of the first connection before giving up (exit 3)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from sse" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from help" -f -a "voice" -d 'The voice WebSocket: hello, echo integrity, tools, drops with lossless resume'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from help" -f -a "sse" -d 'The SSE stream: cuts and Last-Event-ID resumes with no gap and no duplicate'
complete -c spotlight -n "__fish_spotlight_using_subcommand probe; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -l timeout -d 'How long `--wait` waits before giving up (exit 1)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -l wait -d 'Wait until no stream and no voice session is left (a progress bar on a terminal)'
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand drain" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l junit -d 'Also write the results as JUnit XML to this file' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l timeout -d 'Time each check may take' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l sample -d 'How long the stream checks watch the stream' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l only -d 'Run only these checks' -r -f -a "health\t'`/health`, `/api/healthz`, `/api/readyz`'
sse-open\t'The stream opens with the contract\'s headers, `retry:` and `hello` first'
sse-buffering\t'Updates arrive spread out as they were sent, not in bursts'
sse-continuity\t'Ids are `{epoch}:{seq}`, no gap and no repeat'
sse-resume\t'A cut and a `Last-Event-ID` resume lose and repeat nothing'
history\t'Rollups agree with the 1m bars; the handoff seq lines up with the stream'
metrics\t'The exposition parses, the required series are there, counters move'
diag\t'The snapshot\'s fields are there; its epoch is the stream\'s'
replay\t'Start, speed, stop, with their `reset` and `replay` events'
voice\t'`probe voice` in short: hello, echo, one drop, a lossless resume'"
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l skip -d 'Leave these checks out' -r -f -a "health\t'`/health`, `/api/healthz`, `/api/readyz`'
sse-open\t'The stream opens with the contract\'s headers, `retry:` and `hello` first'
sse-buffering\t'Updates arrive spread out as they were sent, not in bursts'
sse-continuity\t'Ids are `{epoch}:{seq}`, no gap and no repeat'
sse-resume\t'A cut and a `Last-Event-ID` resume lose and repeat nothing'
history\t'Rollups agree with the 1m bars; the handoff seq lines up with the stream'
metrics\t'The exposition parses, the required series are there, counters move'
diag\t'The snapshot\'s fields are there; its epoch is the stream\'s'
replay\t'Start, speed, stop, with their `reset` and `replay` events'
voice\t'`probe voice` in short: hello, echo, one drop, a lossless resume'"
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l connect-attempts -d 'Tries of the first connection before giving up (exit 3)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l spawn -d 'Start an in-process server (the embedded sim source, 127.0.0.1:0) and check it'
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand smoke" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -l out -d 'Write the script into this folder (under the shell\'s usual file name) instead of stdout' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand completions" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -l out -d 'Write every page (`spotlight.1`, `spotlight-serve.1`, …) into this folder' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -l url -d 'Server URL for client commands' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -l pin -d 'PIN: `serve` protects data with it; client commands exchange it for a session token' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -l cacert -d 'Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`' -r -F
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -l token -d 'Session token for client commands (from `POST /api/auth/pin`)' -r
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -l output -d 'Output format, where a command has several: table, json, raw (metrics), plain (watch, replay)' -r -f -a "table\t'Aligned columns for a person'
json\t'JSON (NDJSON for streams)'
raw\t'As the server sent it (`metrics`: the Prometheus exposition)'
plain\t'One line per item, no decoration (`watch`, `replay`)'"
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -l color -d 'When to use colour (NO_COLOR is honoured with `auto`)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set or TERM is dumb'
always\t'Always'
never\t'Never'"
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -l json -d 'Machine-readable output on stdout (short for `--output json`)'
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -s v -l verbose -d 'More log output (repeat for more)'
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -s q -l quiet -d 'Less log output'
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c spotlight -n "__fish_spotlight_using_subcommand man" -s V -l version -d 'Print version'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "serve" -d 'Run the streaming server'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "diag" -d 'Show the server\'s triage snapshot'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "metrics" -d 'Show the server\'s Prometheus metrics as a table'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "watch" -d 'Tail a symbol\'s bars (`--plain`: one line per final bar)'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "replay" -d 'Start a replay (`--speed 4`), or drive it: stop, pause, resume, status, speed N'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "bench" -d 'Benchmark a server (SSE fan-out, voice echo)'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "probe" -d 'Prove resume from outside: `probe voice` (WebSocket), `probe sse` (stream)'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "drain" -d 'Drain mode for deploys: on, off, status; `--wait` until the streams are gone'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "smoke" -d 'CI smoke check of a running (or `--spawn`ed) server: one line per check, JUnit XML'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "completions" -d 'Shell completions (bash, zsh, fish, powershell, elvish)'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "man" -d 'Man pages: one for spotlight and one per subcommand'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and not __fish_seen_subcommand_from serve diag metrics watch replay bench probe drain smoke completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and __fish_seen_subcommand_from replay" -f -a "stop" -d 'Stop it; live data comes back'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and __fish_seen_subcommand_from replay" -f -a "pause" -d 'Hold it'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and __fish_seen_subcommand_from replay" -f -a "resume" -d 'Continue it'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and __fish_seen_subcommand_from replay" -f -a "status" -d 'Show its state'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and __fish_seen_subcommand_from replay" -f -a "speed" -d 'Change its speed (0.25 … 1000)'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "sse" -d 'Many SSE subscribers on one server: delivery, loss, latency, cost'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "voice" -d 'Many voice sessions echoing audio: round trip, throughput, loss, cost'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "chaos" -d 'Clients that cut and resume at random, checked against history: lost, duplicated, out of order'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and __fish_seen_subcommand_from bench" -f -a "queue" -d 'A long voice queue: its memory, and how fast every waiter hears its new place'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and __fish_seen_subcommand_from probe" -f -a "voice" -d 'The voice WebSocket: hello, echo integrity, tools, drops with lossless resume'
complete -c spotlight -n "__fish_spotlight_using_subcommand help; and __fish_seen_subcommand_from probe" -f -a "sse" -d 'The SSE stream: cuts and Last-Event-ID resumes with no gap and no duplicate'
