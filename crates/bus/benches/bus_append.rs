//! The producer's append rate through the bus's Lua step (lease check,
//! INCR, XADD with the seq as id, `MAXLEN ~`), against a `redis-server`
//! this benchmark starts on a free loopback port (no persistence), with
//! SSE-sized events (≈ 200 bytes). Batches of several events per call, and
//! several calls in flight on one multiplexed connection (pipelined).
//! Run: `cargo bench --bench bus_append` (medians of 5 runs and the range).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use spotlight_bus::lease::Lease;
use spotlight_bus::log::{Log, Outgoing};
use spotlight_bus::snapshot::Snapshot;
use spotlight_bus::Keys;

const EVENTS: usize = 200_000;

fn main() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut server = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (Debian package redis-server)");
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
        let mut con = loop {
            match client.get_multiplexed_async_connection().await {
                Ok(c) => break c,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        let keys = Keys::default();
        let lease = Lease::new(&keys.lease, "bench", Duration::from_secs(600));
        assert!(lease.acquire(&mut con).await.unwrap());
        let log = Log::new(keys, 100_000);
        let start = Snapshot {
            epoch: "benchep1".into(),
            head: 0,
            source: "bench".into(),
            origin: 0,
            bars: Vec::new(),
            replay: None,
        };
        log.init(&mut con, "bench", &start).await.unwrap();
        let epoch = start.epoch;
        let body = format!(
            "id: benchep1:1\nevent: bar\ndata: {}\n\n",
            r#"{"symbol":"SPY","tf":"1m","t":1700000040000,"o":450.12,"h":450.5,"l":449.9,"c":450.33,"v":120034,"final":false,"seq":1,"ts":1700000041234}"#
        );
        println!("events/s appended ({EVENTS} events of {} bytes per run; median of 5, range)", body.len());
        for (batch, in_flight) in [(1, 1), (1, 16), (16, 8), (64, 8), (256, 4)] {
            let mut rates = Vec::new();
            for _ in 0..5 {
                let event = Outgoing {
                    key: "SPY",
                    bytes: body.as_bytes(),
                    finals: "",
                };
                let events = vec![event; batch];
                let calls = EVENTS / batch;
                let t = Instant::now();
                let mut done = 0;
                while done < calls {
                    let n = in_flight.min(calls - done);
                    let appends = (0..n).map(|_| {
                        let mut con = con.clone();
                        let log = log.clone();
                        let (epoch, events) = (epoch.clone(), events.clone());
                        async move {
                            log.append_events(&mut con, "bench", &epoch, 0, &events)
                                .await
                                .map(|_| ())
                        }
                    });
                    for r in futures::future::join_all(appends).await {
                        r.unwrap();
                    }
                    done += n;
                }
                rates.push((calls * batch) as f64 / t.elapsed().as_secs_f64());
            }
            rates.sort_by(f64::total_cmp);
            println!(
                "batch {batch:>3}, {in_flight:>2} in flight: {:>9.0}  ({:.0}–{:.0})",
                rates[2], rates[0], rates[4]
            );
        }
    });
    let _ = server.kill();
    let _ = server.wait();
}
