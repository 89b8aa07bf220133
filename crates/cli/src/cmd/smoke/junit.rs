//! JUnit XML as GitLab, Jenkins and the GitHub reporters read it: a
//! `<testsuites>` wrapper, one `<testsuite>`, one `<testcase>` per check.

use super::{SmokeReport, Status};

/// The report as a JUnit XML document.
pub fn render(report: &SmokeReport) -> String {
    let count = |s: Status| report.checks.iter().filter(|c| c.status == s).count();
    let (tests, failures, errors, skipped) = (
        report.checks.len(),
        count(Status::Fail),
        count(Status::Error),
        count(Status::Skipped),
    );
    let time = seconds(report.seconds);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"spotlight smoke\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time}\">\n"
    ));
    out.push_str(&format!(
        "  <testsuite name=\"spotlight.smoke\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time}\">\n    <properties>\n      <property name=\"url\" value=\"{}\"/>\n    </properties>\n",
        escape(&report.url)
    ));
    for c in &report.checks {
        let open = format!(
            "    <testcase classname=\"spotlight.smoke\" name=\"{}\" time=\"{}\"",
            c.name.name(),
            seconds(c.seconds)
        );
        let message = escape(&c.message);
        match c.status {
            Status::Pass => out.push_str(&format!("{open}/>\n")),
            Status::Fail => out.push_str(&format!(
                "{open}>\n      <failure message=\"{message}\">{message}</failure>\n    </testcase>\n"
            )),
            Status::Error => out.push_str(&format!(
                "{open}>\n      <error message=\"{message}\">{message}</error>\n    </testcase>\n"
            )),
            Status::Skipped => out.push_str(&format!(
                "{open}>\n      <skipped message=\"{message}\"/>\n    </testcase>\n"
            )),
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Seconds with at most 3 decimals.
fn seconds(s: f64) -> String {
    let text = format!("{s:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() {
        "0".into()
    } else {
        text.into()
    }
}

/// Text safe in an attribute or element; control characters XML 1.0
/// cannot carry are replaced.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{Check, CheckResult};
    use super::*;

    #[test]
    fn one_testcase_per_check_with_its_outcome() {
        let report = SmokeReport {
            url: "http://127.0.0.1:5000".into(),
            passed: false,
            seconds: 2.5,
            checks: vec![
                CheckResult {
                    name: Check::Health,
                    status: Status::Pass,
                    seconds: 0.0123,
                    message: "ok".into(),
                },
                CheckResult {
                    name: Check::Metrics,
                    status: Status::Fail,
                    seconds: 0.5,
                    message: "line 3: \"a<b\" & more".into(),
                },
                CheckResult {
                    name: Check::Voice,
                    status: Status::Error,
                    seconds: 10.0,
                    message: "did not finish".into(),
                },
                CheckResult {
                    name: Check::Replay,
                    status: Status::Skipped,
                    seconds: 0.0,
                    message: "needs admin".into(),
                },
            ],
        };
        insta::assert_snapshot!(render(&report));
    }

    #[test]
    fn times_carry_at_most_three_decimals() {
        assert_eq!(seconds(0.0123), "0.012");
        assert_eq!(seconds(2.0), "2");
        assert_eq!(seconds(0.0001), "0");
        assert_eq!(seconds(1.2344), "1.234");
    }
}
