//! CloudWatch Embedded Metric Format: one JSON line per request on stdout, which CloudWatch
//! Logs turns into metrics without any API call (and so without latency or IAM permissions).
//!
//! Dimensions are the deployment (`Stack`), the route template and the status, never ids or
//! names, so the number of metrics is bounded by the routes and statuses. Each metric and
//! dimension combination seen in an hour is billed as a custom metric for that hour, so
//! `SCIM_METRICS` chooses how much is extracted:
//!
//! - `full`: `Requests`, `Latency`, `DynamoDBCalls`, `AuthFailures`, `Unavailable`,
//!   `Contention` by (`Stack`, `Operation`, `Status`) and by (`Stack`, `Status`), and
//!   `Requests` by (`Stack`, `Tenant`): one more custom metric per active tenant, never one per
//!   tenant and route;
//! - `status` (the template's default): `Requests` and `Latency` by (`Stack`, `Status`) only;
//! - `off`: no metric at all.
//!
//! In every mode the line itself is written, with `Stack`, `Operation` and `Status`: the 401
//! alarm's metric filter counts it, and unlike the request log line it does not depend on the
//! log level.

use super::error::ErrorClass;

/// The metric namespace in CloudWatch.
pub const NAMESPACE: &str = "ScimLambda";

/// How much of the line CloudWatch turns into metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every metric, per operation and status, and per status.
    Full,
    /// Request count and latency per status only.
    Status,
    /// No metrics; the line still carries the status.
    Off,
}

/// The metric settings of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// What is extracted.
    pub mode: Mode,
    /// The `Stack` dimension: keeps the metrics of several stacks in one account apart.
    pub stack: String,
}

impl Settings {
    /// From the values of `SCIM_METRICS` and `SCIM_METRICS_STACK`, falling back to the
    /// function's name (`AWS_LAMBDA_FUNCTION_NAME`) for the stack. An unknown mode is kept as
    /// `full` and reported in the second value, so the caller can warn about it once.
    pub fn from_values(
        mode: Option<&str>,
        stack: Option<&str>,
        function: Option<&str>,
    ) -> (Self, Option<String>) {
        let (mode, unknown) = match mode.map(str::trim).filter(|m| !m.is_empty()) {
            None => (Mode::Full, None),
            Some(m) if m.eq_ignore_ascii_case("full") => (Mode::Full, None),
            Some(m) if m.eq_ignore_ascii_case("status") => (Mode::Status, None),
            Some(m) if m.eq_ignore_ascii_case("off") => (Mode::Off, None),
            Some(other) => (Mode::Full, Some(other.to_string())),
        };
        let stack = [stack, function]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|s| !s.is_empty())
            .unwrap_or("local")
            .to_string();
        (Settings { mode, stack }, unknown)
    }
}

/// What one request measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMetrics<'a> {
    /// The HTTP method; with the route, the `Operation` dimension (`METHOD /route/{template}`).
    pub method: &'a str,
    /// The route template.
    pub route: &'a str,
    /// HTTP status.
    pub status: u16,
    /// Milliseconds from the request's arrival to its response.
    pub latency_ms: f64,
    /// Store calls made while serving it (exact in Lambda, which serves one request at a time).
    pub store_calls: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u128,
    /// The class of a failed request (a lost write race apart from an outage).
    pub class: Option<ErrorClass>,
    /// The caller's tenant id (`-` when unauthenticated): an opaque id, never a name.
    pub tenant: &'a str,
}

/// The metrics a mode declares, in the order their values follow, and their units.
fn declared(mode: Mode) -> &'static [(&'static str, &'static str)] {
    match mode {
        Mode::Full => &[
            ("Requests", "Count"),
            ("Latency", "Milliseconds"),
            ("DynamoDBCalls", "Count"),
            ("AuthFailures", "Count"),
            ("Unavailable", "Count"),
            ("Contention", "Count"),
        ],
        Mode::Status => &[("Requests", "Count"), ("Latency", "Milliseconds")],
        Mode::Off => &[],
    }
}

/// The `CloudWatchMetrics` directives of a mode: fixed text, so a request pays nothing to
/// build them. The tests check them against [`declared`] and the dimensions on the line.
fn directives(mode: Mode) -> &'static str {
    match mode {
        Mode::Full => concat!(
            r#"[{"Namespace":"ScimLambda","Dimensions":[["Stack","Operation","Status"],["Stack","Status"]],"#,
            r#""Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"},"#,
            r#"{"Name":"DynamoDBCalls","Unit":"Count"},{"Name":"AuthFailures","Unit":"Count"},"#,
            r#"{"Name":"Unavailable","Unit":"Count"},{"Name":"Contention","Unit":"Count"}]},"#,
            r#"{"Namespace":"ScimLambda","Dimensions":[["Stack","Tenant"]],"#,
            r#""Metrics":[{"Name":"Requests","Unit":"Count"}]}]"#
        ),
        Mode::Status => concat!(
            r#"[{"Namespace":"ScimLambda","Dimensions":[["Stack","Status"]],"#,
            r#""Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"}]}]"#
        ),
        Mode::Off => "[]",
    }
}

/// Appends the line for one request under `settings` (one JSON object and a newline) to
/// `out`. Written straight into the buffer, without building a `serde_json::Value` (which
/// cost a few microseconds of allocation per request, `benches/log.rs`); strings go through
/// serde_json's escaping.
pub fn write_emf(m: &RequestMetrics<'_>, settings: &Settings, out: &mut Vec<u8>) {
    let metrics = declared(settings.mode);
    out.push(b'{');
    if !metrics.is_empty() {
        out.extend_from_slice(br#""_aws":{"Timestamp":"#);
        json(out, &m.timestamp_ms);
        out.extend_from_slice(br#","CloudWatchMetrics":"#);
        out.extend_from_slice(directives(settings.mode).as_bytes());
        out.extend_from_slice(b"},");
    }
    out.extend_from_slice(br#""Stack":"#);
    json(out, &settings.stack.as_str());
    out.extend_from_slice(br#","Tenant":"#);
    json(out, &m.tenant);
    out.extend_from_slice(br#","Operation":"#);
    json(out, &format_args!("{} {}", m.method, m.route));
    out.extend_from_slice(br#","Status":""#);
    json(out, &m.status);
    out.push(b'"');
    for (name, _) in metrics {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        match *name {
            "Requests" => out.push(b'1'),
            "Latency" => json(out, &m.latency_ms),
            "DynamoDBCalls" => json(out, &m.store_calls),
            "AuthFailures" => json(out, &u8::from(m.status == 401)),
            // 503s because concurrent writers kept winning: retried by the client, and a sign
            // of two syncs fighting over one resource rather than of an outage.
            "Contention" => json(out, &u8::from(m.class == Some(ErrorClass::Contention))),
            // 503s: the store throttled after the SDK's retries, or a dependency was down.
            _ => json(out, &u8::from(m.class == Some(ErrorClass::Unavailable))),
        }
    }
    out.extend_from_slice(b"}\n");
}

/// A string or number as serde_json writes it (its escaping and number formatting, the same a
/// `Value` would print). Writing to a `Vec` cannot fail, nor can serialising these.
fn json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let _ = serde_json::to_writer(out, value);
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// The line, parsed back.
    fn emf(m: &RequestMetrics<'_>, settings: &Settings) -> Value {
        let mut out = Vec::new();
        write_emf(m, settings, &mut out);
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1, "one line");
        assert!(out.ends_with(b"\n"));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn strings_are_escaped_and_numbers_print_as_json() {
        let m = RequestMetrics {
            tenant: "t_\"q\\\n",
            route: "/x\"y",
            latency_ms: 0.25,
            ..sample()
        };
        let s = Settings {
            mode: Mode::Status,
            stack: "a\"b".into(),
        };
        let v = emf(&m, &s);
        assert_eq!(v["Tenant"], "t_\"q\\\n");
        assert_eq!(v["Stack"], "a\"b");
        assert_eq!(v["Operation"], "PATCH /x\"y");
        assert_eq!(v["Latency"], 0.25);
        assert_eq!(v["Requests"], 1);
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }

    fn sample() -> RequestMetrics<'static> {
        RequestMetrics {
            method: "PATCH",
            route: "/scim/v2/Users/{id}",
            status: 401,
            latency_ms: 1.5,
            store_calls: 0,
            timestamp_ms: 1_700_000_000_000,
            class: Some(ErrorClass::Unauthenticated),
            tenant: "t_abc",
        }
    }

    fn settings(mode: Mode) -> Settings {
        Settings {
            mode,
            stack: "acme-scim".into(),
        }
    }

    #[test]
    fn every_mode_declares_only_metrics_it_carries_and_always_carries_the_status() {
        // (mode, declared metric names, dimension sets)
        let rows: &[(Mode, &[&str], usize)] = &[
            (
                Mode::Full,
                &[
                    "Requests",
                    "Latency",
                    "DynamoDBCalls",
                    "AuthFailures",
                    "Unavailable",
                    "Contention",
                ],
                2,
            ),
            (Mode::Status, &["Requests", "Latency"], 1),
            (Mode::Off, &[], 0),
        ];
        for (mode, names, sets) in rows {
            let v = emf(&sample(), &settings(*mode));
            assert_eq!(v["Status"], "401", "{mode:?}");
            assert_eq!(v["Stack"], "acme-scim", "{mode:?}");
            assert_eq!(v["Operation"], "PATCH /scim/v2/Users/{id}", "{mode:?}");
            let directive = &v["_aws"]["CloudWatchMetrics"][0];
            if names.is_empty() {
                assert!(v.get("_aws").is_none(), "{mode:?}: {v}");
                continue;
            }
            assert_eq!(directive["Namespace"], NAMESPACE);
            let declared: Vec<&str> = directive["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["Name"].as_str().unwrap())
                .collect();
            assert_eq!(&declared, names, "{mode:?}");
            for name in &declared {
                assert!(v.get(name).is_some(), "{mode:?}: no value for {name}");
            }
            let dims = directive["Dimensions"].as_array().unwrap();
            assert_eq!(dims.len(), *sets, "{mode:?}");
            for set in dims {
                assert_eq!(set[0], "Stack", "every set starts with the stack: {set}");
                for d in set.as_array().unwrap() {
                    assert!(v.get(d.as_str().unwrap()).is_some(), "{mode:?}: {d}");
                }
            }
        }
        let full = emf(&sample(), &settings(Mode::Full));
        assert_eq!(
            (full["AuthFailures"].as_u64(), full["Unavailable"].as_u64()),
            (Some(1), Some(0))
        );
        // The tenant is on every line, and a dimension of the request count in `full` only.
        assert_eq!(full["Tenant"], "t_abc");
        assert_eq!(
            full["_aws"]["CloudWatchMetrics"][1]["Dimensions"],
            json!([["Stack", "Tenant"]])
        );
        let status = emf(&sample(), &settings(Mode::Status));
        assert_eq!(status["Tenant"], "t_abc");
        assert_eq!(
            status["_aws"]["CloudWatchMetrics"].as_array().map(Vec::len),
            Some(1)
        );
        // A lost write race and an outage are both 503s, counted apart.
        for (class, contention, unavailable) in [
            (ErrorClass::Contention, 1, 0),
            (ErrorClass::Unavailable, 0, 1),
        ] {
            let m = RequestMetrics {
                status: 503,
                class: Some(class),
                ..sample()
            };
            let line = emf(&m, &settings(Mode::Full));
            assert_eq!(line["Contention"], contention, "{class:?}");
            assert_eq!(line["Unavailable"], unavailable, "{class:?}");
        }
    }

    #[test]
    fn the_template_counts_401s_from_this_line_in_every_mode() {
        // Unauthorized401Filter matches the line's string `Status`; if either side changes,
        // the 401 alarm would silently stop counting.
        let template = include_str!("../../template.yaml");
        assert!(
            template.contains(r#"FilterPattern: '{ $.Status = "401" }'"#),
            "template.yaml's 401 filter no longer matches the metrics line"
        );
        for mode in [Mode::Full, Mode::Status, Mode::Off] {
            assert_eq!(emf(&sample(), &settings(mode))["Status"], "401", "{mode:?}");
        }
    }

    #[test]
    fn settings_come_from_the_environment_values() {
        // (SCIM_METRICS, SCIM_METRICS_STACK, AWS_LAMBDA_FUNCTION_NAME) -> (mode, stack, unknown)
        type Row<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Mode,
            &'a str,
            bool,
        );
        let rows: &[Row<'_>] = &[
            (None, None, None, Mode::Full, "local", false),
            (
                Some("status"),
                Some("acme"),
                Some("acme-scim"),
                Mode::Status,
                "acme",
                false,
            ),
            (
                Some("OFF"),
                None,
                Some("acme-scim"),
                Mode::Off,
                "acme-scim",
                false,
            ),
            (
                Some(" full "),
                Some(""),
                Some("fn"),
                Mode::Full,
                "fn",
                false,
            ),
            (Some("verbose"), Some("s"), None, Mode::Full, "s", true),
        ];
        for (mode, stack, function, want_mode, want_stack, unknown) in rows {
            let (s, bad) = Settings::from_values(*mode, *stack, *function);
            assert_eq!(
                (s.mode, s.stack.as_str(), bad.is_some()),
                (*want_mode, *want_stack, *unknown),
                "{mode:?} {stack:?} {function:?}"
            );
        }
    }
}
