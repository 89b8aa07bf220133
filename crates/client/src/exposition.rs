//! A strict reader of the Prometheus text exposition (0.0.4): enough to
//! tell a whole scrape from a truncated or mangled one, and to read a
//! series' value.

use std::collections::BTreeMap;

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (with `_total`, `_bucket`… as written).
    pub name: String,
    /// Labels in order of appearance.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

/// Parses a whole exposition; the first line that does not parse is the error.
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the exposition does not end with a newline (truncated?)".into());
    }
    let mut samples = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split(' ');
                let (Some(name), Some(kind), None) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(format!("line {}: bad TYPE line {line:?}", i + 1));
                };
                if !is_name(name)
                    || !matches!(
                        kind,
                        "counter" | "gauge" | "histogram" | "summary" | "untyped"
                    )
                {
                    return Err(format!("line {}: bad TYPE line {line:?}", i + 1));
                }
            }
            continue;
        }
        samples.push(sample(line).map_err(|e| {
            format!(
                "line {}: {e}: {:?}",
                i + 1,
                spotlight_wire::text::shorten(line, 80)
            )
        })?);
    }
    Ok(samples)
}

/// The sum of a metric's samples over all label sets (`None`: absent).
pub fn total(samples: &[Sample], name: &str) -> Option<f64> {
    let mut found = false;
    let sum = samples
        .iter()
        .filter(|s| s.name == name)
        .inspect(|_| found = true)
        .map(|s| s.value)
        .sum();
    found.then_some(sum)
}

/// Metric names present, each once.
pub fn names(samples: &[Sample]) -> BTreeMap<&str, usize> {
    let mut out = BTreeMap::new();
    for s in samples {
        *out.entry(s.name.as_str()).or_insert(0) += 1;
    }
    out
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn sample(line: &str) -> Result<Sample, &'static str> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !is_name(name) {
        return Err("bad metric name");
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        let mut label = String::new();
        loop {
            let Some((i, c)) = chars.next() else {
                return Err("unclosed label set");
            };
            match c {
                '}' if label.is_empty() => {
                    rest = &body[i + 1..];
                    break;
                }
                ',' if label.is_empty() => {}
                '=' => {
                    if !is_name(&label) {
                        return Err("bad label name");
                    }
                    if chars.next().map(|(_, c)| c) != Some('"') {
                        return Err("label value not quoted");
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next().map(|(_, c)| c) {
                            None => return Err("unclosed label value"),
                            Some('"') => break,
                            Some('\\') => match chars.next().map(|(_, c)| c) {
                                Some('n') => value.push('\n'),
                                Some(c @ ('\\' | '"')) => value.push(c),
                                _ => return Err("bad escape in label value"),
                            },
                            Some(c) => value.push(c),
                        }
                    }
                    labels.push((std::mem::take(&mut label), value));
                }
                c => label.push(c),
            }
        }
    }
    let mut fields = rest.split_ascii_whitespace();
    let value = fields.next().ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|_| "value is not a number")?,
    };
    if let Some(ts) = fields.next() {
        ts.parse::<i64>().map_err(|_| "bad timestamp")?;
    }
    if fields.next().is_some() {
        return Err("trailing fields");
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_whole_exposition() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total{route=\"/x\",s=\"2\\\"00\"} 3\na_total{route=\"/y\"} 4\nb 1.5e3 1700000000000\nc +Inf\n";
        let samples = parse(text).unwrap();
        assert_eq!(samples.len(), 4);
        assert_eq!(samples[0].labels[1], ("s".into(), "2\"00".into()));
        assert_eq!(total(&samples, "a_total"), Some(7.0));
        assert_eq!(total(&samples, "b"), Some(1500.0));
        assert_eq!(total(&samples, "missing"), None);
    }

    #[test]
    fn refuses_what_a_truncation_leaves() {
        for bad in [
            "a_total 3",
            "a_total{route=\"/x\n",
            "a_total{route=\"/x\"} \n",
            "a_total{route=\"/x\"\n",
            "a_total{route} 1\n",
            "a_total 3 4 5\n",
            "9a 1\n",
            "# TYPE a_total\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
