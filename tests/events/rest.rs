//! REST API (payload 1.0) events in `events/rest/`: the front to use when WAF or usage plans are
//! needed, since both exist only on REST APIs. Each is parsed by `lambda_http` as the Lambda
//! runtime would (an `ApiGatewayV1` request context, decoded query parameters, the stage in
//! the path) and replayed through the same router, in file-name order.

use std::collections::BTreeSet;

use lambda_http::request::RequestContext;
use serde_json::Value;

use super::{ERROR, LIST_RESPONSE, Reply, USER, events_dir, invoke_request, test_app};

/// The events, their expected status, and the checks on the answer.
const REST_STEPS: &[(&str, u16, fn(&Reply))] = &[
    ("01-entra-test-connection.json", 200, |r| {
        assert_eq!(r.body["schemas"][0], LIST_RESPONSE, "{}", r.body);
        assert_eq!(r.body["totalResults"], 0, "{}", r.body);
    }),
    ("02-users-create.json", 201, |r| {
        assert_eq!(r.body["userName"], "carol@contoso.com", "{}", r.body);
        let id = r.body["id"].as_str().expect("id");
        // A REST API's URL carries the stage: Location keeps it, so it can be followed.
        assert_eq!(
            r.header("location"),
            Some(
                format!(
                    "https://x7k2m9q4zb.execute-api.eu-west-1.amazonaws.com/prod/scim/v2/Users/{id}"
                )
                .as_str()
            )
        );
    }),
    ("03-users-filter-username.json", 200, |r| {
        // The filter arrives decoded in queryStringParameters and is re-encoded into the URI.
        assert_eq!(r.body["totalResults"], 1, "{}", r.body);
        assert_eq!(r.body["Resources"][0]["userName"], "carol@contoso.com");
    }),
    ("04-users-patch.json", 200, |r| {
        assert_eq!(r.body["active"], false, "{}", r.body);
        assert_eq!(r.body["name"]["familyName"], "Diaz-Ruiz", "{}", r.body);
    }),
    ("05-users-delete.json", 204, |r| {
        assert_eq!(r.body, Value::Null, "204 has no body");
    }),
    ("06-users-get-deleted.json", 404, |r| {
        assert_eq!(r.body["schemas"][0], ERROR, "{}", r.body);
    }),
    ("07-wrong-token.json", 401, |r| {
        assert_eq!(r.body["status"], "401", "{}", r.body);
        assert!(
            !r.body.to_string().contains("not-the-token"),
            "token echoed"
        );
    }),
];

fn rest_dir() -> std::path::PathBuf {
    events_dir().join("rest")
}

#[test]
fn every_rest_event_file_has_a_step() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(rest_dir())
        .expect("events/rest/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    let covered: BTreeSet<String> = REST_STEPS.iter().map(|(f, ..)| f.to_string()).collect();
    assert_eq!(on_disk, covered);
}

#[tokio::test]
async fn rest_events_replay_through_lambda_http_and_the_router() {
    let app = test_app();
    let mut user: Option<String> = None;
    for (file, status, check) in REST_STEPS {
        let mut event = std::fs::read_to_string(rest_dir().join(file)).expect("readable event");
        if let Some(id) = &user {
            event = event.replace(USER, id);
        }
        let request = lambda_http::request::from_str(&event)
            .unwrap_or_else(|e| panic!("{file}: not a REST API event: {e}"));
        assert!(
            matches!(
                lambda_http::RequestExt::request_context_ref(&request),
                Some(RequestContext::ApiGatewayV1(_))
            ),
            "{file}: parsed as payload 1.0"
        );
        let reply = invoke_request(&app, request).await;
        assert_eq!(reply.status.as_u16(), *status, "{file}: {}", reply.body);
        check(&reply);
        if *status == 201 {
            user = reply.body["id"].as_str().map(str::to_string);
        }
    }
    assert!(user.is_some(), "the create issued an id");
}
