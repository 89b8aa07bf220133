//! A real `redis-server` per test, on a free loopback port, with no
//! persistence, stopped by PID when dropped.

use tokio::process::{Child, Command};

use super::{eventually, process::free_port};

/// A running `redis-server`.
pub struct Redis {
    child: Child,
    /// `redis://127.0.0.1:PORT`.
    pub url: String,
}

impl Redis {
    /// Starts one and waits until it answers `PING`. A missing program is
    /// a failure that says what to install.
    pub async fn start() -> Redis {
        Redis::start_on(free_port()).await
    }

    /// Stops it and starts an empty one on the same port (a restart
    /// without persistence).
    #[allow(dead_code)]
    pub async fn restart_empty(self) -> Redis {
        let port: u16 = self.url.rsplit_once(':').unwrap().1.parse().unwrap();
        self.stop().await;
        Redis::start_on(port).await
    }

    async fn start_on(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run redis-server ({e}): install the Debian package redis-server (scripts/test does)")
            });
        let url = format!("redis://127.0.0.1:{port}");
        let redis = Redis { child, url };
        eventually("redis-server to answer PING", || async {
            match redis.connection().await {
                Some(mut con) => redis::cmd("PING")
                    .query_async::<String>(&mut con)
                    .await
                    .is_ok(),
                None => false,
            }
        })
        .await;
        redis
    }

    /// A new multiplexed connection, if it can be had.
    pub async fn connection(&self) -> Option<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(self.url.as_str()).ok()?;
        client.get_multiplexed_async_connection().await.ok()
    }

    /// Its process id (to pause it with SIGSTOP).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id().expect("redis-server is running")
    }

    /// Stops it now.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
