//! Every recorded request body in `tests/fixtures` replayed through the router: each one must
//! be accepted exactly as the client sends it. (The unit tests next to `scim::patch` check
//! what each does to a document.)

use serde_json::Value;

use crate::helpers::{TestApp, fixture};

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

async fn replay_dir(app: &TestApp, dir: &str) -> usize {
    let path = format!("{}/tests/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    for name in &names {
        let body = fixture(&format!("{dir}/{name}"));
        let is_create = body.get("Operations").is_none();
        let is_group = name.starts_with('c') && dir == "entra" || name.starts_with("group");
        let endpoint = if is_group { "Groups" } else { "Users" };
        let status = if is_create {
            let mut body = body;
            // Creates share a userName across fixtures; make each one unique.
            for key in ["userName", "UserName"] {
                if let Some(u) = body.get_mut(key) {
                    *u = Value::from(format!("{}-{name}", u.as_str().unwrap_or("u")));
                }
            }
            if let Some(d) = body.get_mut("displayName").filter(|_| is_group) {
                *d = Value::from(format!("{}-{name}", d.as_str().unwrap_or("g")));
            }
            app.post(&format!("/{endpoint}"), &body)
                .await
                .status
                .as_u16()
        } else {
            let target = if is_group {
                app.group(&format!("fixture {name}")).await
            } else {
                app.user(&format!("target-{name}@fixtures")).await
            };
            let body = bind_ids(app, body, &target).await;
            app.patch(&format!("/{endpoint}/{target}"), &body)
                .await
                .status
                .as_u16()
        };
        assert!(
            matches!(status, 200 | 201 | 204),
            "{dir}/{name} answered {status}"
        );
    }
    names.len()
}

pub async fn every_recorded_entra_and_okta_request_is_accepted(app: &TestApp) {
    let entra = replay_dir(app, "entra").await;
    let okta = replay_dir(app, "okta").await;
    assert!(
        entra >= 40 && okta >= 5,
        "fixtures found: entra {entra}, okta {okta}"
    );
}

crate::on_every_store!(every_recorded_entra_and_okta_request_is_accepted);
