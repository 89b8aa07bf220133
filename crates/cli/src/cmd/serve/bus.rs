//! `serve --bus`: this instance on the shared log (see `spotlight_bus::join`),
//! with the source `serve` was given producing while it holds the lease.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{load_recordings, run_source, start_source, ServeArgs};
use spotlight_bus::join::{self, Joined, Joining, Source};
use spotlight_bus::{BusConfig, Keys};
use spotlight_market::{Hub, HubConfig};
use spotlight_provider::polygon::Polygon;

/// The source of `serve`'s flags, run by the bus on a producer's hub.
struct ServeSource {
    args: ServeArgs,
    feed: Option<Arc<Polygon>>,
}

impl Source for ServeSource {
    fn start(&self, config: HubConfig) -> anyhow::Result<(Arc<Hub>, i64)> {
        start_source(&self.args, config)
    }

    fn run(&self, hub: &Arc<Hub>, origin: i64, stop: CancellationToken) {
        run_source(&self.args, hub, origin, stop, self.feed.as_ref());
    }
}

/// Joins the bus at `url` as `serve`'s flags say.
pub async fn join(
    args: &ServeArgs,
    url: &str,
    config: HubConfig,
    source_name: String,
    feed: Option<Arc<Polygon>>,
    stop: CancellationToken,
) -> anyhow::Result<Joined> {
    redis::Client::open(url).map_err(|e| super::CliError::usage(format!("--bus {url}: {e}")))?;
    let bus = BusConfig {
        url: url.to_string(),
        role: args.bus_role,
        lease_ttl: args.bus_lease,
        max_len: args.ring as usize,
        retain: args.retain as usize,
        keys: Keys::default(),
    };
    let joining = Joining {
        config,
        source_name,
        source: Arc::new(ServeSource {
            args: args.clone(),
            feed,
        }),
        recordings: load_recordings(args)?,
    };
    join::join(&bus, joining, stop).await
}
