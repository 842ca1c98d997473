//! Every recorded request body in `tests/fixtures` replayed through the router as its client
//! sent it: the request line and the answer's status are in `tests/fixtures/requests.txt`, one
//! line per body. (The unit tests next to `scim::patch` check what each does to a document.)

use std::collections::BTreeSet;

use axum::http::Method;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::support::{fixture, fixtures};

/// One line of `requests.txt`: the body's file, its request line and the status it gets.
struct Recorded {
    file: String,
    method: Method,
    path: String,
    status: u16,
}

fn recorded() -> Vec<Recorded> {
    fixtures::text("tests/fixtures/requests.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [file, method, path, status] = fields[..] else {
                panic!("requests.txt: expected `file METHOD path status`: {line}");
            };
            Recorded {
                file: file.to_string(),
                method: method
                    .parse()
                    .unwrap_or_else(|_| panic!("method in {line}")),
                path: path.to_string(),
                status: status
                    .parse()
                    .unwrap_or_else(|_| panic!("status in {line}")),
            }
        })
        .collect()
}

/// Replaces the placeholder ids of the fixtures (`u-1`, `mgr-1`, `g-1`) by real ones.
async fn bind_ids(app: &TestApp, body: Value, group: &str) -> Value {
    let mut text = body.to_string();
    for placeholder in ["u-1", "u-2", "u-3", "u-4", "mgr-1", "mgr-2"] {
        let quoted = format!("\"{placeholder}\"");
        if text.contains(&quoted) || text.contains(&format!("\\\"{placeholder}\\\"")) {
            let id = app
                .user(&format!("{placeholder}-{}@fixtures", uuid::Uuid::new_v4()))
                .await;
            text = text.replace(placeholder, &id);
        }
    }
    text = text.replace("\"g-1\"", &format!("\"{group}\""));
    serde_json::from_str(&text).expect("fixture stays JSON")
}

/// Sends one recorded body with its request line; returns the status.
async fn replay(app: &TestApp, r: &Recorded) -> u16 {
    let mut body = fixture(&r.file);
    let is_group = r.path.starts_with("/Groups");
    let path = if r.path.ends_with("/{id}") {
        let name = r.file.replace('/', "-");
        let target = if is_group {
            app.group(&format!("fixture {name}")).await
        } else {
            app.user(&format!("target-{name}@fixtures")).await
        };
        body = bind_ids(app, body, &target).await;
        r.path.replace("{id}", &target)
    } else {
        // Creates share a userName (or displayName) across fixtures; make each one unique.
        for key in ["userName", "UserName", "displayName"] {
            if let Some(v) = body
                .get_mut(key)
                .filter(|_| key != "displayName" || is_group)
            {
                *v = Value::from(format!("{}-{}", v.as_str().unwrap_or("x"), r.file));
            }
        }
        r.path.clone()
    };
    app.send(r.method.clone(), &path, Some(&body))
        .await
        .status
        .as_u16()
}

pub async fn every_recorded_entra_and_okta_request_gets_its_status(app: &TestApp) {
    let recorded = recorded();
    for r in &recorded {
        let status = replay(app, r).await;
        assert_eq!(
            status, r.status,
            "{} {} {} answered {status}",
            r.file, r.method, r.path
        );
    }
    // Every body on disk has its line, and every line its body.
    let listed: BTreeSet<String> = recorded.iter().map(|r| r.file.clone()).collect();
    let mut on_disk = BTreeSet::new();
    for client in ["entra", "okta"] {
        for file in fixtures::files(&format!("tests/fixtures/{client}")) {
            if file.extension().is_some_and(|e| e == "json") {
                let name = file.file_name().unwrap_or_default().to_string_lossy();
                on_disk.insert(format!("{client}/{name}"));
            }
        }
    }
    assert_eq!(listed, on_disk, "requests.txt lists every recorded body");
    assert_eq!(listed.len(), recorded.len(), "one line per body");
    let entra = listed.iter().filter(|f| f.starts_with("entra/")).count();
    assert!(
        entra >= 40 && listed.len() - entra >= 5,
        "fixtures found: entra {entra}, okta {}",
        listed.len() - entra
    );
}

crate::on_every_store!(every_recorded_entra_and_okta_request_gets_its_status);
