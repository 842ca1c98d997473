//! `scim-lambda tenant ...` and `scim-lambda token create|list|revoke`, the real binary against
//! the emulator's DynamoDB, and the token it mints accepted by a server over the same table.

use std::process::Command;
use std::sync::Arc;

use axum::http::Method;
use scim_lambda::auth::StaticToken;
use scim_lambda::service::Service;
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::{AppState, Tokens, app};
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::Reply;

struct Cli {
    table: String,
}

impl Cli {
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_scim-lambda"))
            .args(args)
            .args([
                "--table",
                &self.table,
                "--public-url",
                "https://scim.example.com/scim/v2",
            ])
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .output()
            .expect("run the binary");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[track_caller]
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let (ok, stdout, stderr) = self.run(&all);
        assert!(ok, "{args:?} failed: {stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_cli_manages_tenants_and_tokens_on_the_table() {
    if !crate::support::emulator::enabled("CLI") {
        return;
    }
    let config = crate::support::emulator::sdk_config().await;
    let table = format!("scim-cli-{}", uuid::Uuid::new_v4());
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table.clone());
    store.create_table_if_missing().await.unwrap();
    let cli = Cli { table };

    let t = cli.json(&["tenant", "create", "--name", "Contoso"]);
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(
        t["tenantUrl"],
        format!("https://scim.example.com/tenants/{id}/scim/v2")
    );
    assert_eq!(t["status"], "active");
    let (ok, _, stderr) = cli.run(&["tenant", "create", "--name", "contoso"]);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");

    let created = cli.json(&["token", "create", "--tenant", &id, "--description", "Entra"]);
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("scim_"));
    // Text output prints the token alone on stdout, for scripts.
    let (ok, stdout, _) = cli.run(&["token", "create", "--tenant", &id]);
    assert!(ok && stdout.trim().starts_with("scim_"), "{stdout}");

    // A server over the same table accepts the minted token for that tenant.
    let tokens = Tokens::Static(StaticToken::new(&SecretString::from("unused-default")));
    let server = app(AppState::new_shared(
        Arc::new(Service::new(store)),
        tokens,
        "/scim/v2",
    ));
    let probe = |token: String, path: String| {
        let server = server.clone();
        async move {
            let r = axum::http::Request::builder()
                .method(Method::GET)
                .uri(path)
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let r: Reply = crate::helpers::send(&server, r).await;
            r.status.as_u16()
        }
    };
    assert_eq!(
        probe(token.clone(), format!("/tenants/{id}/scim/v2/Users")).await,
        200
    );

    let listed = cli.json(&["tenant", "list"]);
    assert_eq!(listed["tenants"][0]["id"], id.as_str());
    let shown = cli.json(&["tenant", "show", &id]);
    assert_eq!(
        (shown["users"].as_u64(), shown["groups"].as_u64()),
        (Some(0), Some(0))
    );
    let tokens = cli.json(&["token", "list", "--tenant", &id]);
    assert_eq!(tokens["tokens"].as_array().unwrap().len(), 2);
    assert!(!tokens.to_string().contains(&token[26..]), "never a secret");

    assert_eq!(cli.json(&["tenant", "disable", &id])["status"], "disabled");
    assert_eq!(cli.json(&["tenant", "enable", &id])["status"], "active");
    let token_id = created["id"].as_str().unwrap();
    let (ok, _, stderr) = cli.run(&["token", "revoke", "--tenant", &id, token_id]);
    assert!(ok, "{stderr}");
    let (ok, _, _) = cli.run(&["token", "revoke", "--tenant", &id, token_id]);
    assert!(!ok, "revoking twice is an error");
    // A fresh server (no cache) refuses the revoked token.
    let tokens = Tokens::Static(StaticToken::new(&SecretString::from("unused-default")));
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let fresh = app(AppState::new(
        Service::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&config),
            cli.table.clone(),
        )),
        tokens,
        "/scim/v2",
    ));
    let r = axum::http::Request::builder()
        .uri("/scim/v2/Users")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(crate::helpers::send(&fresh, r).await.status.as_u16(), 401);

    let (ok, _, stderr) = cli.run(&["tenant", "delete", &id]);
    assert!(ok, "{stderr}");
    let (ok, stdout, _) = cli.run(&["tenant", "purge", "--grace-seconds", "0"]);
    assert!(ok && stdout.contains("purged 1"), "{stdout}");
    let (ok, _, stderr) = cli.run(&["tenant", "show", &id]);
    assert!(!ok && stderr.contains("not found"), "{stderr}");
    // The name is free again.
    cli.json(&["tenant", "create", "--name", "Contoso"]);
}
