//! Replays every API Gateway HTTP API (payload 2.0) event in `events/` (and, in `rest`, the
//! REST API payload 1.0 events in `events/rest/`) through `lambda_http`'s own event parser and
//! the real router, in file-name order, and checks each answer.
//!
//! This proves the events that `sam local invoke` and `cargo lambda invoke` are pointed at are
//! well formed, and that what API Gateway hands the function (absolute URI built from `host`,
//! raw query string, stage in `requestContext`) routes the same as a local request does.
//!
//! Ids are issued by the server, so the events carry placeholder UUIDs: after a create, the
//! returned id replaces its placeholder in every later event (path and body alike).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod rest;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use scim_lambda::auth::StaticToken;
use scim_lambda::http::admin::AdminAuth;
use scim_lambda::scim::urn::{ERROR, LIST_RESPONSE};
use scim_lambda::service::Service;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::{App, AppState, Tokens, app};
use secrecy::SecretString;
use serde_json::Value;

use support::Reply;

/// The token the events carry (and `SCIM_TOKEN` for `cargo lambda watch`).
const TOKEN: &str = "local-dev-token";
/// Placeholder for the first user's id (alice).
const USER: &str = "00000000-0000-4000-8000-000000000001";
/// Placeholder for the group's id.
const GROUP: &str = "00000000-0000-4000-8000-000000000002";
/// Placeholder for the second user's id (bob).
const USER2: &str = "00000000-0000-4000-8000-000000000003";

/// The ids issued so far, by placeholder.
type Ids = Vec<(&'static str, String)>;

/// One event: its file, the expected status, the placeholder its answer's id fills (creates),
/// and the checks on the answer.
struct Step {
    file: &'static str,
    status: u16,
    issues: Option<&'static str>,
    check: fn(&Reply, &Ids),
}

fn id_of(ids: &Ids, placeholder: &str) -> String {
    ids.iter()
        .find(|(p, _)| *p == placeholder)
        .map(|(_, id)| id.clone())
        .unwrap_or_else(|| panic!("no id issued yet for {placeholder}"))
}

fn work_email(user: &Value) -> Option<&str> {
    user["emails"]
        .as_array()?
        .iter()
        .find(|e| e["type"] == "work")?["value"]
        .as_str()
}

const STEPS: &[Step] = &[
    Step {
        file: "01-discovery-service-provider-config.json",
        status: 200,
        issues: None,
        check: |r, _| {
            assert_eq!(r.body["patch"]["supported"], true, "{}", r.body);
            assert_eq!(r.body["filter"]["supported"], true, "{}", r.body);
            assert_eq!(r.body["bulk"]["supported"], false, "{}", r.body);
        },
    },
    Step {
        file: "02-discovery-schemas.json",
        status: 200,
        issues: None,
        check: |r, _| {
            // Entra rejects a bare array: it must be a ListResponse of the three schemas.
            assert_eq!(r.body["schemas"][0], LIST_RESPONSE, "{}", r.body);
            let ids: BTreeSet<&str> = r.body["Resources"]
                .as_array()
                .expect("Resources")
                .iter()
                .filter_map(|s| s["id"].as_str())
                .collect();
            for urn in [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:core:2.0:Group",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            ] {
                assert!(ids.contains(urn), "{urn} missing from {ids:?}");
            }
        },
    },
    Step {
        file: "03-entra-test-connection.json",
        status: 200,
        issues: None,
        check: |r, _| {
            // No Accept, no User-Agent, a random GUID: an empty list, never 404/400.
            assert_eq!(r.body["schemas"][0], LIST_RESPONSE, "{}", r.body);
            assert_eq!(r.body["totalResults"], 0, "{}", r.body);
            assert_eq!(r.body["Resources"], serde_json::json!([]), "{}", r.body);
            assert_eq!(r.header("content-type"), Some("application/scim+json"));
        },
    },
    Step {
        file: "04-users-create.json",
        status: 201,
        issues: Some(USER),
        check: |r, _| {
            assert_eq!(r.body["userName"], "alice@contoso.com", "{}", r.body);
            assert_eq!(
                r.body["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7e1e3e2c9a11",
                "{}",
                r.body
            );
            assert_eq!(r.body["active"], true, "{}", r.body);
            let location = r.header("location").expect("Location header");
            let id = r.body["id"].as_str().expect("id");
            // The absolute URI lambda_http builds from `host` is what Location is based on.
            assert_eq!(
                location,
                format!(
                    "https://abc123defg.execute-api.us-east-1.amazonaws.com/scim/v2/Users/{id}"
                )
            );
        },
    },
    Step {
        file: "05-users-create-second.json",
        status: 201,
        issues: Some(USER2),
        check: |r, _| assert_eq!(r.body["userName"], "bob@contoso.com", "{}", r.body),
    },
    Step {
        file: "06-users-get.json",
        status: 200,
        issues: None,
        check: |r, ids| {
            assert_eq!(r.body["id"], id_of(ids, USER), "{}", r.body);
            assert_eq!(r.body["name"]["familyName"], "Smith", "{}", r.body);
            assert!(
                r.header("etag").is_some_and(|e| e.starts_with("W/\"")),
                "weak ETag"
            );
        },
    },
    Step {
        file: "07-users-filter-username.json",
        status: 200,
        issues: None,
        check: |r, ids| {
            // userName is caseExact: false, and `@` arrives percent-encoded.
            assert_eq!(r.body["totalResults"], 1, "{}", r.body);
            assert_eq!(r.body["Resources"][0]["id"], id_of(ids, USER), "{}", r.body);
        },
    },
    Step {
        file: "08-users-patch-legacy.json",
        status: 200,
        issues: None,
        check: |r, _| {
            assert_eq!(
                work_email(&r.body),
                Some("alice.jones@contoso.com"),
                "{}",
                r.body
            );
            assert_eq!(r.body["name"]["familyName"], "Jones", "{}", r.body);
            assert_eq!(r.body["name"]["givenName"], "Alice", "{}", r.body);
        },
    },
    Step {
        file: "09-users-patch-compliant.json",
        status: 200,
        issues: None,
        check: |r, _| {
            // Path-less replace whose keys are paths: set the sub-attribute, keep its siblings.
            assert_eq!(r.body["name"]["givenName"], "Alicia", "{}", r.body);
            assert_eq!(r.body["name"]["familyName"], "Jones", "{}", r.body);
            assert_eq!(r.body["displayName"], "Alice Jones", "{}", r.body);
            assert_eq!(
                r.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
                "E2",
                "{}",
                r.body
            );
            assert!(r.body.get("name.givenName").is_none(), "{}", r.body);
        },
    },
    Step {
        file: "10-users-disable.json",
        status: 200,
        issues: None,
        check: |r, _| {
            // The string "False" is stored as the boolean.
            assert_eq!(r.body["active"], false, "{}", r.body);
        },
    },
    Step {
        file: "11-groups-create.json",
        status: 201,
        issues: Some(GROUP),
        check: |r, _| {
            assert_eq!(r.body["displayName"], "Sales", "{}", r.body);
            assert_eq!(
                r.body["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "{}",
                r.body
            );
        },
    },
    Step {
        file: "12-groups-add-members.json",
        status: 204,
        issues: None,
        check: |r, _| assert_eq!(r.body, Value::Null, "204 has no body"),
    },
    Step {
        file: "13-groups-remove-member.json",
        status: 204,
        issues: None,
        check: |r, _| assert_eq!(r.body, Value::Null, "204 has no body"),
    },
    Step {
        file: "14-groups-get.json",
        status: 200,
        issues: None,
        check: |r, ids| {
            // The legacy value-list removal took out bob only; alice is still a member.
            let members: Vec<&str> = r.body["members"]
                .as_array()
                .expect("members")
                .iter()
                .filter_map(|m| m["value"].as_str())
                .collect();
            assert_eq!(members, vec![id_of(ids, USER).as_str()], "{}", r.body);
        },
    },
    Step {
        file: "15-groups-filter-displayname.json",
        status: 200,
        issues: None,
        check: |r, ids| {
            assert_eq!(r.body["totalResults"], 1, "{}", r.body);
            let group = &r.body["Resources"][0];
            assert_eq!(group["id"], id_of(ids, GROUP), "{}", r.body);
            assert!(group.get("members").is_none(), "members excluded: {group}");
        },
    },
    Step {
        file: "16-users-delete.json",
        status: 204,
        issues: None,
        check: |r, _| assert_eq!(r.body, Value::Null, "204 has no body"),
    },
    Step {
        file: "17-users-get-deleted.json",
        status: 404,
        issues: None,
        check: |r, _| {
            assert_eq!(r.body["schemas"][0], ERROR, "{}", r.body);
            assert_eq!(r.body["status"], "404", "{}", r.body);
        },
    },
    Step {
        file: "18-stage-prefix.json",
        status: 200,
        issues: None,
        check: |r, ids| {
            // `/prod/scim/v2/Users` routes like `/scim/v2/Users`: only bob is left.
            assert_eq!(r.body["schemas"][0], LIST_RESPONSE, "{}", r.body);
            assert_eq!(r.body["totalResults"], 1, "{}", r.body);
            assert_eq!(
                r.body["Resources"][0]["id"],
                id_of(ids, USER2),
                "{}",
                r.body
            );
        },
    },
    Step {
        file: "19-wrong-token.json",
        status: 401,
        issues: None,
        check: |r, _| {
            assert_eq!(r.body["schemas"][0], ERROR, "{}", r.body);
            assert_eq!(r.body["status"], "401", "{}", r.body);
            assert!(
                r.header("www-authenticate")
                    .is_some_and(|h| h.starts_with("Bearer")),
                "WWW-Authenticate: Bearer"
            );
            assert!(
                !r.body.to_string().contains("not-the-token"),
                "token echoed"
            );
        },
    },
    Step {
        file: "20-admin-create-tenant.json",
        status: 201,
        issues: None,
        check: |r, _| {
            // API Gateway verified the SigV4 signature; the context names the IAM caller.
            let id = r.body["id"].as_str().expect("a tenant id");
            assert!(id.starts_with("t_"), "{}", r.body);
            assert_eq!(
                r.body["tenantUrl"],
                format!(
                    "https://abc123defg.execute-api.us-east-1.amazonaws.com/tenants/{id}/scim/v2"
                ),
                "{}",
                r.body
            );
            assert_eq!(r.header("content-type"), Some("application/json"));
        },
    },
    Step {
        file: "21-admin-without-iam.json",
        status: 401,
        issues: None,
        check: |r, _| {
            // A route left without IAM authorization stays closed: no IAM caller, no admin.
            assert_eq!(r.body["error"], "unauthorized", "{}", r.body);
            assert!(r.body.get("schemas").is_none(), "{}", r.body);
        },
    },
];

fn events_dir() -> PathBuf {
    support::fixtures::path("events")
}

fn test_app() -> App {
    let service = Arc::new(Service::new(MemoryStore::new()));
    let tokens = Tokens::Static(StaticToken::new(&SecretString::from(TOKEN)));
    // As in Lambda: the admin API opens only to a request context naming an IAM caller.
    app(AppState::new_shared(service, tokens, "/scim/v2").with_admin(AdminAuth::Iam))
}

/// Parses the event exactly as the Lambda runtime would and sends it through the router.
async fn invoke(app: &App, event: &str) -> Reply {
    let request = lambda_http::request::from_str(event).expect("a valid HTTP API v2 event");
    invoke_request(app, request).await
}

/// Sends a request `lambda_http` parsed from an event through the router.
async fn invoke_request(app: &App, request: lambda_http::Request) -> Reply {
    let (parts, body) = request.into_parts();
    let request = axum::http::Request::from_parts(parts, Body::from(body.to_vec()));
    let reply = support::send(app, request).await;
    assert!(!reply.body.is_string(), "a JSON body: {}", reply.body);
    reply
}

#[test]
fn every_event_file_has_a_step() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(events_dir())
        .expect("events/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    let covered: BTreeSet<String> = STEPS.iter().map(|s| s.file.to_string()).collect();
    assert_eq!(
        on_disk, covered,
        "every event in events/ is replayed and checked"
    );
}

#[test]
fn every_event_is_a_well_formed_http_api_v2_event() {
    for step in STEPS {
        let text = std::fs::read_to_string(events_dir().join(step.file)).expect("readable");
        let event: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(event["version"], "2.0", "{}", step.file);
        assert_eq!(event["isBase64Encoded"], false, "{}", step.file);
        assert_eq!(
            event["rawPath"], event["requestContext"]["http"]["path"],
            "{}",
            step.file
        );
        if let Some(body) = event["body"].as_str() {
            let parsed: Value = serde_json::from_str(body).expect("body is JSON");
            assert_eq!(
                event["headers"]["content-length"],
                body.len().to_string(),
                "{}: {parsed}",
                step.file
            );
        }
    }
}

#[tokio::test]
async fn events_replay_through_lambda_http_and_the_router() {
    let app = test_app();
    let mut ids: Ids = Vec::new();
    for step in STEPS {
        let mut event =
            std::fs::read_to_string(events_dir().join(step.file)).expect("readable event");
        for (placeholder, id) in &ids {
            event = event.replace(placeholder, id);
        }
        let reply = invoke(&app, &event).await;
        assert_eq!(
            reply.status.as_u16(),
            step.status,
            "{}: unexpected status; body: {}",
            step.file,
            reply.body
        );
        (step.check)(&reply, &ids);
        if let Some(placeholder) = step.issues {
            let id = reply.body["id"]
                .as_str()
                .expect("a created resource has an id");
            assert!(!id.is_empty() && id != placeholder, "{}", step.file);
            ids.push((placeholder, id.to_string()));
        }
    }
    assert_eq!(ids.len(), 3, "two users and a group were created");
}
