//! `scim-lambda token check`: sends exactly what Entra's *Test Connection* sends, a lookup of a
//! random userName with only an `Authorization` header, and explains the answer.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// 200 with an empty ListResponse: Entra's Test Connection would pass.
    Ok,
    /// Anything else, with an explanation for the admin.
    Problem(String),
}

/// Asks `tenant_url` (e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/scim/v2`) what
/// Entra asks first, with `token`. A query string on the Tenant URL (Entra's
/// `?aadOptscim062020` flag) is dropped, as Entra itself does before appending a path.
pub async fn check_endpoint(tenant_url: &str, token: &SecretString) -> CheckOutcome {
    let probe = format!(
        "{}/Users?filter=userName%20eq%20%22{}%22",
        base_of(tenant_url),
        uuid::Uuid::new_v4()
    );
    match get(&probe, token).await {
        Ok((status, body)) => explain(status, &body),
        Err(e) => CheckOutcome::Problem(format!(
            "could not reach {tenant_url}: {e}. Check the Tenant URL (the stack output TenantUrl)."
        )),
    }
}

/// The Tenant URL without its query string, fragment or trailing slash.
fn base_of(tenant_url: &str) -> &str {
    let end = tenant_url.find(['?', '#']).unwrap_or(tenant_url.len());
    tenant_url[..end].trim_end_matches('/')
}

async fn get(url: &str, token: &SecretString) -> Result<(u16, Bytes), String> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| format!("no TLS root certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let request = Request::get(url)
        .header("authorization", format!("Bearer {}", token.expose_secret()))
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .map_err(|_| "no answer within 30 s".to_string())?
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// Turns the probe's answer into advice.
pub fn explain(status: u16, body: &[u8]) -> CheckOutcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let is_list = json.as_ref().and_then(|j| j["schemas"][0].as_str())
        == Some("urn:ietf:params:scim:api:messages:2.0:ListResponse");
    match status {
        200 if is_list => CheckOutcome::Ok,
        200 => CheckOutcome::Problem(
            "the URL answered 200 but not with a SCIM ListResponse: is it the Tenant URL, ending in /scim/v2?".into(),
        ),
        401 | 403 => CheckOutcome::Problem(format!(
            "the token was refused ({status}). Use the current value of the token secret \
             (stack output GetTokenCommand); after a rotation the previous token stays valid \
             only until the next one."
        )),
        404 => CheckOutcome::Problem(
            "404: the path is wrong. The Tenant URL must end with the base path, /scim/v2.".into(),
        ),
        503 => CheckOutcome::Problem(
            "503: the endpoint is up but a dependency (DynamoDB or Secrets Manager) is unavailable; \
             see the function's logs."
                .into(),
        ),
        s => CheckOutcome::Problem(format!(
            "unexpected status {s}: {}",
            json.map_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect(), |j| j["detail"].to_string())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenant_url_loses_its_flag_and_trailing_slash() {
        let base = "https://abc.execute-api.eu-west-1.amazonaws.com/scim/v2";
        for url in [
            base.to_string(),
            format!("{base}/"),
            format!("{base}?aadOptscim062020"),
            format!("{base}/?aadOptscim062020"),
            format!("{base}#x"),
        ] {
            assert_eq!(base_of(&url), base, "{url}");
        }
    }

    #[test]
    fn answers_are_explained() {
        let list = br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0}"#;
        assert_eq!(explain(200, list), CheckOutcome::Ok);
        let rows: &[(&str, u16, &[u8], &str)] = &[
            ("not_scim", 200, b"<html>", "not with a SCIM ListResponse"),
            ("bad_token", 401, b"{}", "token was refused"),
            ("wrong_path", 404, b"{}", "/scim/v2"),
            ("dependency_down", 503, b"{}", "DynamoDB or Secrets Manager"),
            ("other", 500, br#"{"detail":"boom"}"#, "boom"),
        ];
        for (name, status, body, needle) in rows {
            match explain(*status, body) {
                CheckOutcome::Problem(text) => assert!(text.contains(needle), "{name}: {text}"),
                CheckOutcome::Ok => panic!("{name}: expected a problem"),
            }
        }
    }
}
