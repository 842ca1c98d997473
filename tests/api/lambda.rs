//! A subset of the Entra and Okta replays as real HTTP to the binary in Lambda mode, under
//! `cargo lambda watch` (its function URL), against the emulator's DynamoDB table created as
//! template.yaml defines it and a token in Secrets Manager. `scripts/lambda-watch.sh` starts
//! all of that and sets `SCIM_LAMBDA_URL` and `SCIM_LAMBDA_TOKEN`; without them these tests
//! report that they skipped.

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::helpers::enc;
use crate::support::fixture;

/// The function URL and the token, when the script runs these tests.
fn target() -> Option<(String, String)> {
    match (
        std::env::var("SCIM_LAMBDA_URL"),
        std::env::var("SCIM_LAMBDA_TOKEN"),
    ) {
        (Ok(url), Ok(token)) => Some((url, token)),
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: the Lambda-mode replays run under scripts/lambda-watch.sh"
            );
            None
        }
    }
}

struct Remote {
    host: String,
    prefix: String,
    token: String,
}

impl Remote {
    fn new((url, token): (String, String)) -> Self {
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        Remote {
            host: host.to_string(),
            prefix: format!("/{path}/scim/v2"),
            token,
        }
    }

    /// One request over a new connection: status and JSON body (`Null` when empty).
    async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let stream = tokio::net::TcpStream::connect(&self.host).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.prefix))
            .header("host", &self.host)
            .header("authorization", format!("Bearer {}", self.token));
        if body.is_some() {
            request = request.header("content-type", "application/scim+json");
        }
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let response = sender
            .send_request(request.body(Full::new(bytes::Bytes::from(bytes))).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()))
        };
        (status, json)
    }
}

/// `value` with every string equal to a key of `ids` replaced by its id.
fn substitute(value: &Value, ids: &[(&str, &str)]) -> Value {
    match value {
        Value::String(s) => ids
            .iter()
            .find(|(k, _)| k == s)
            .map_or_else(|| value.clone(), |(_, v)| Value::String(v.to_string())),
        Value::Array(a) => Value::Array(a.iter().map(|v| substitute(v, ids)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), substitute(v, ids)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[tokio::test]
async fn entra_and_okta_replays_in_lambda_mode() {
    let Some(target) = target() else { return };
    let api = Remote::new(target);

    // Entra's Test Connection: a probe for a name that does not exist.
    let probe = enc("userName eq \"7c1d-probe\"");
    let (status, body) = api
        .send("GET", &format!("/Users?filter={probe}"), None)
        .await;
    assert_eq!(
        (status, body["totalResults"].clone()),
        (200, json!(0)),
        "{body}"
    );
    // A wrong token is a SCIM 401.
    let bad = Remote {
        host: api.host.clone(),
        prefix: api.prefix.clone(),
        token: "wrong".into(),
    };
    assert_eq!(bad.send("GET", "/Users", None).await.0, 401);

    // Entra creates a user, finds it by every lookup it uses, disables it with "False".
    let (status, user) = api
        .send(
            "POST",
            "/Users",
            Some(&fixture("entra/b6_create_user.json")),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let alice = user["id"].as_str().unwrap().to_string();
    for filter in [
        "userName eq \"ALICE@contoso.com\"",
        "externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7e1e3e2c9a11\"",
        "emails[type eq \"work\"].value eq \"alice@contoso.com\"",
    ] {
        let (status, body) = api
            .send("GET", &format!("/Users?filter={}", enc(filter)), None)
            .await;
        assert_eq!(
            (status, body["totalResults"].clone()),
            (200, json!(1)),
            "{filter}: {body}"
        );
    }
    let (status, body) = api
        .send(
            "PATCH",
            &format!("/Users/{alice}"),
            Some(&fixture("entra/b12_disable_string_false.json")),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    let (status, _) = api
        .send("POST", "/Users", Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Alice@Contoso.com"})))
        .await;
    assert_eq!(status, 409);
    let (status, bob) = api
        .send("POST", "/Users", Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bob@contoso.com"})))
        .await;
    assert_eq!(status, 201);
    let bob = bob["id"].as_str().unwrap().to_string();

    // Entra's group flow: create, add members, remove one by filter, remove all.
    let (status, group) = api
        .send(
            "POST",
            "/Groups",
            Some(&fixture("entra/c2_create_group.json")),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let g = group["id"].as_str().unwrap().to_string();
    let ids = [("u-1", alice.as_str()), ("u-2", bob.as_str())];
    let add = substitute(&fixture("entra/c7_compliant_add_members.json"), &ids);
    assert_eq!(
        api.send("PATCH", &format!("/Groups/{g}"), Some(&add))
            .await
            .0,
        204
    );
    let (_, got) = api.send("GET", &format!("/Groups/{g}"), None).await;
    assert_eq!(got["members"].as_array().map(Vec::len), Some(2), "{got}");
    let member = enc(&format!("members.value eq \"{alice}\""));
    let (_, found) = api
        .send(
            "GET",
            &format!("/Groups?filter={member}&excludedAttributes=members"),
            None,
        )
        .await;
    assert_eq!(found["totalResults"], 1, "{found}");
    let remove_all = fixture("entra/c8_remove_all_members.json");
    assert_eq!(
        api.send("PATCH", &format!("/Groups/{g}"), Some(&remove_all))
            .await
            .0,
        204
    );
    let (_, got) = api.send("GET", &format!("/Groups/{g}"), None).await;
    assert!(got["members"].as_array().is_none_or(Vec::is_empty), "{got}");

    // Okta replaces the member list, then renames the group with its id in the value.
    let replace = substitute(
        &fixture("okta/group_replace_members.json"),
        &[("u-4", bob.as_str())],
    );
    let (status, _) = api
        .send("PATCH", &format!("/Groups/{g}"), Some(&replace))
        .await;
    assert!(matches!(status, 200 | 204), "{status}");
    let rename = substitute(
        &fixture("okta/group_rename_with_id.json"),
        &[("abf4dd94-a4c0-4f67-89c9-76b03340cb9b", g.as_str())],
    );
    let (status, _) = api
        .send("PATCH", &format!("/Groups/{g}"), Some(&rename))
        .await;
    assert!(matches!(status, 200 | 204), "{status}");
    let (_, got) = api.send("GET", &format!("/Groups/{g}"), None).await;
    assert_eq!(got["displayName"], "Test SCIMv2", "{got}");
    assert_eq!(got["members"][0]["value"], json!(bob), "{got}");

    // Rejections keep the SCIM error format through the Lambda adapter.
    let (status, err) = api.send("GET", "/Users/%FF%FE", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        err["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    let (status, err) = api
        .send("POST", "/Users", Some(&json!({"userName": "noschemas"})))
        .await;
    assert_eq!(
        (status, err["scimType"].clone()),
        (400, json!("invalidValue"))
    );

    // Deletes cascade: the group no longer lists a deleted user.
    assert_eq!(
        api.send("DELETE", &format!("/Users/{bob}"), None).await.0,
        204
    );
    let (_, got) = api.send("GET", &format!("/Groups/{g}"), None).await;
    assert!(got["members"].as_array().is_none_or(Vec::is_empty), "{got}");
    assert_eq!(
        api.send("DELETE", &format!("/Groups/{g}"), None).await.0,
        204
    );
    assert_eq!(
        api.send("DELETE", &format!("/Users/{alice}"), None).await.0,
        204
    );
}
