//! CloudWatch Embedded Metric Format: one JSON line per request on stdout, which CloudWatch
//! Logs turns into metrics without any API call (and so without latency or IAM permissions).
//!
//! Dimensions are the route template and the status, never ids or names; the tenant id is a
//! dimension of the request count alone (one custom metric per tenant, not five).

use serde_json::{Value, json};

/// The metric namespace in CloudWatch.
pub const NAMESPACE: &str = "ScimLambda";

/// What one request measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMetrics<'a> {
    /// `METHOD /route/{template}`.
    pub operation: &'a str,
    /// HTTP status.
    pub status: u16,
    /// Milliseconds from the request's arrival to its response.
    pub latency_ms: f64,
    /// Store calls made while serving it (exact in Lambda, which serves one request at a time).
    pub store_calls: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u128,
    /// The caller's tenant (`-` when unauthenticated).
    pub tenant: &'a str,
}

/// The EMF document for one request.
pub fn emf(m: &RequestMetrics<'_>) -> Value {
    json!({
        "_aws": {
            "Timestamp": m.timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Operation", "Status"], ["Status"]],
                "Metrics": [
                    {"Name": "Requests", "Unit": "Count"},
                    {"Name": "Latency", "Unit": "Milliseconds"},
                    {"Name": "DynamoDBCalls", "Unit": "Count"},
                    {"Name": "AuthFailures", "Unit": "Count"},
                    {"Name": "Unavailable", "Unit": "Count"},
                ],
            }, {
                "Namespace": NAMESPACE,
                "Dimensions": [["Tenant"]],
                "Metrics": [{"Name": "Requests", "Unit": "Count"}],
            }],
        },
        "Operation": m.operation,
        "Tenant": m.tenant,
        "Status": m.status.to_string(),
        "Requests": 1,
        "Latency": m.latency_ms,
        "DynamoDBCalls": m.store_calls,
        "AuthFailures": u8::from(m.status == 401),
        // 503s: the store throttled after the SDK's retries, or a dependency was down.
        "Unavailable": u8::from(m.status == 503),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_line_carries_dimensions_and_values() {
        let m = RequestMetrics {
            operation: "PATCH /scim/v2/Users/{id}",
            status: 401,
            latency_ms: 1.5,
            store_calls: 0,
            timestamp_ms: 1_700_000_000_000,
            tenant: "t_abc",
        };
        let v = emf(&m);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(v["Operation"], "PATCH /scim/v2/Users/{id}");
        assert_eq!(v["Status"], "401");
        assert_eq!(v["Tenant"], "t_abc");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][1]["Dimensions"][0][0],
            "Tenant"
        );
        assert_eq!(
            (v["AuthFailures"].as_u64(), v["Unavailable"].as_u64()),
            (Some(1), Some(0))
        );
        let names: Vec<&str> = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in &names {
            assert!(
                v.get(name).is_some(),
                "every declared metric has a value: {name}"
            );
        }
    }
}
