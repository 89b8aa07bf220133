//! `spotlight metrics`: the Prometheus exposition, parsed into a table.

use crate::cmd::out;
use clap::Args;
use prometheus_parse::{HistogramCount, Scrape, Value};
use serde::Serialize;

use super::{connect, Exit, GlobalArgs};

/// Options of `spotlight metrics`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight metrics
  spotlight metrics --raw | promtool check metrics")]
pub struct MetricsArgs {
    /// Only metrics whose name contains this.
    #[arg(long, env = "SPOTLIGHT_FILTER")]
    pub filter: Option<String>,
    /// Print the exposition text as served (short for `--output raw`).
    #[arg(long, env = "SPOTLIGHT_RAW", conflicts_with_all = ["json", "output"])]
    pub raw: bool,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Metric name.
    pub name: String,
    /// `k="v"` pairs, sorted.
    pub labels: String,
    /// Counter or gauge value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Histogram observations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<f64>,
    /// Histogram median, estimated from buckets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    /// Histogram 99th percentile, estimated from buckets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
}

/// Fetches, parses and prints.
pub async fn run(args: MetricsArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let client = connect::client(global).await?;
    let text = client
        .get_text("/api/metrics")
        .await
        .map_err(connect::failure)?;
    if args.raw || global.output == Some(super::Output::Raw) {
        out::text(&text)?;
        return Ok(Exit::Ok);
    }
    let rows = parse(&text, args.filter.as_deref())?;
    if global.json {
        out::json(&rows)?;
    } else {
        out::text(&table(&rows))?;
    }
    Ok(Exit::Ok)
}

/// Parses the exposition into rows, histograms summarized.
pub fn parse(text: &str, filter: Option<&str>) -> anyhow::Result<Vec<Row>> {
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string())))?;
    let histograms: std::collections::HashSet<&str> = scrape
        .samples
        .iter()
        .filter(|s| matches!(s.value, Value::Histogram(_)))
        .map(|s| s.metric.as_str())
        .collect();
    let mut rows: Vec<Row> = scrape
        .samples
        .iter()
        .filter(|s| filter.is_none_or(|f| s.metric.contains(f)))
        .filter(|s| {
            let base = s
                .metric
                .strip_suffix("_sum")
                .or(s.metric.strip_suffix("_count"));
            !base.is_some_and(|b| histograms.contains(b))
        })
        .map(|s| {
            let mut row = Row {
                name: s.metric.clone(),
                labels: s.labels.to_string(),
                value: None,
                count: None,
                p50: None,
                p99: None,
            };
            match &s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => row.value = Some(*v),
                Value::Histogram(buckets) => {
                    row.count = buckets
                        .iter()
                        .map(|b| b.count)
                        .fold(None, |a: Option<f64>, c| Some(a.map_or(c, |a| a.max(c))));
                    row.p50 = quantile(buckets, 0.5);
                    row.p99 = quantile(buckets, 0.99);
                }
                Value::Summary(_) => {}
            }
            row
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.labels.cmp(&b.labels)));
    Ok(rows)
}

/// Estimates a quantile from cumulative buckets by linear interpolation
/// inside the bucket that holds it (as PromQL's `histogram_quantile`).
pub fn quantile(buckets: &[HistogramCount], q: f64) -> Option<f64> {
    let mut sorted: Vec<&HistogramCount> = buckets.iter().collect();
    sorted.sort_by(|a, b| a.less_than.total_cmp(&b.less_than));
    let total = sorted.last()?.count;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for b in sorted {
        if b.count >= rank {
            if b.less_than.is_infinite() {
                return Some(lower);
            }
            let inside = b.count - below;
            let frac = if inside > 0.0 {
                (rank - below) / inside
            } else {
                1.0
            };
            return Some(lower + (b.less_than - lower) * frac);
        }
        lower = b.less_than;
        below = b.count;
    }
    Some(lower)
}

/// The aligned table.
pub fn table(rows: &[Row]) -> String {
    let name_w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let label_w = rows
        .iter()
        .map(|r| r.labels.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = format!("{:<name_w$}  {:<label_w$}  VALUE\n", "NAME", "LABELS");
    for r in rows {
        let value = match (r.value, r.count) {
            (Some(v), _) => format_value(v),
            (None, Some(c)) => format!(
                "count {}  p50 {}  p99 {}",
                format_value(c),
                r.p50.map_or("-".into(), format_value),
                r.p99.map_or("-".into(), format_value)
            ),
            (None, None) => "-".into(),
        };
        out.push_str(&format!(
            "{:<name_w$}  {:<label_w$}  {value}\n",
            r.name, r.labels
        ));
    }
    out
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.6}").trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP req_total Requests\n# TYPE req_total counter\nreq_total{route=\"/a\",status=\"200\"} 3\n# HELP lat Latency\n# TYPE lat histogram\nlat_bucket{le=\"0.1\"} 50\nlat_bucket{le=\"1\"} 90\nlat_bucket{le=\"+Inf\"} 100\nlat_sum 30\nlat_count 100\n# HELP up Up\n# TYPE up gauge\nup 1\n";

    #[test]
    fn histograms_become_count_and_quantiles() {
        let rows = parse(TEXT, None).unwrap();
        assert_eq!(
            rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            vec!["lat", "req_total", "up"]
        );
        let lat = &rows[0];
        assert_eq!(lat.count, Some(100.0));
        assert!((lat.p50.unwrap() - 0.1).abs() < 1e-9);
        // The 99th is in the +Inf bucket: the last finite bound.
        assert_eq!(lat.p99, Some(1.0));
        assert_eq!(rows[1].labels, "route=\"/a\",status=\"200\"");
        assert_eq!(parse(TEXT, Some("req")).unwrap().len(), 1);
    }

    #[test]
    fn quantiles_interpolate_inside_a_bucket() {
        let b = |less_than, count| HistogramCount { less_than, count };
        let buckets = [b(1.0, 0.0), b(2.0, 100.0), b(f64::INFINITY, 100.0)];
        assert_eq!(quantile(&buckets, 0.5), Some(1.5));
        assert_eq!(quantile(&[b(f64::INFINITY, 0.0)], 0.5), None);
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&parse(TEXT, None).unwrap());
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("NAME"));
        let col = lines[0].find("VALUE").unwrap();
        assert!(lines.iter().skip(1).all(|l| l.len() > col));
        assert!(t.contains("count 100  p50 0.1  p99 1"));
    }
}
