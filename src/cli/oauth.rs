//! `scim-lambda client ...` and `scim-lambda federated ...`: the admin API's OAuth use cases
//! (`crate::oauth_server::admin`) for operators, on the store directly with the operator's AWS
//! credentials. `--output json` prints the same objects as the API.

use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::Output;
use crate::auth::liveness::AllTenantsActive;
use crate::auth::signing::SigningKeys;
use crate::clock::SystemClock;
use crate::oauth::access::Lifetime;
use crate::oauth::clock::parse_rfc3339;
use crate::oauth_server::AuthServer;
use crate::oauth_server::admin::{
    AdminError, FederatedInput, client_json, federated_json, secret_json,
};
use crate::oauth_server::settings::{Wiring, wire};
use crate::store::TenantId;
use crate::store::dynamo::oauth::DynamoOAuthStore;
use crate::store::oauth::OAuthStore;

/// Where the records live (shared by every OAuth subcommand).
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The DynamoDB table (the stack output TableName).
    #[arg(long, env = "SCIM_TABLE")]
    pub table: String,
    /// The tenant.
    #[arg(long, value_parser = crate::config::tenant_id)]
    pub tenant: TenantId,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

fn timestamp(s: &str) -> Result<i64, String> {
    parse_rfc3339(s)
        .ok_or_else(|| "expected an RFC 3339 timestamp, e.g. 2028-12-01T00:00:00Z".into())
}

/// `scim-lambda client ...`.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create an OAuth client with one secret, printed once.
    Create {
        #[command(flatten)]
        target: Target,
        /// What the client is for.
        #[arg(long, default_value = "")]
        description: String,
        /// Expiry of the secret (RFC 3339).
        #[arg(long, value_parser = timestamp)]
        expires_at: Option<i64>,
    },
    /// List the tenant's clients (never their secrets).
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Add a secret to a client, printed once.
    AddSecret {
        #[command(flatten)]
        target: Target,
        /// The client.
        client_id: String,
        /// Expiry of the secret (RFC 3339).
        #[arg(long, value_parser = timestamp)]
        expires_at: Option<i64>,
    },
    /// Revoke one secret of a client.
    RevokeSecret {
        #[command(flatten)]
        target: Target,
        /// The client.
        client_id: String,
        /// The secret's id (`s_...`).
        secret_id: String,
    },
    /// Revoke a client: its tokens are refused within 60 s.
    Revoke {
        #[command(flatten)]
        target: Target,
        /// The client.
        client_id: String,
    },
}

/// `scim-lambda federated ...`.
#[derive(Debug, Subcommand)]
pub enum FederatedCommand {
    /// Let assertions of `issuer` about `subject` for `audience` act for the tenant.
    Create {
        #[command(flatten)]
        target: Target,
        /// Exact `iss`.
        #[arg(long)]
        issuer: String,
        /// Exact `sub`.
        #[arg(long)]
        subject: String,
        /// Exact `aud`.
        #[arg(long)]
        audience: String,
        /// JWKS URL instead of the issuer's OpenID configuration.
        #[arg(long)]
        jwks_uri: Option<String>,
    },
    /// List the tenant's federated credentials.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Delete a federated credential.
    Delete {
        #[command(flatten)]
        target: Target,
        /// Its id (`f_...`).
        id: String,
    },
}

impl ClientCommand {
    /// The target of the command.
    pub fn target(&self) -> &Target {
        match self {
            ClientCommand::Create { target, .. }
            | ClientCommand::List { target }
            | ClientCommand::AddSecret { target, .. }
            | ClientCommand::RevokeSecret { target, .. }
            | ClientCommand::Revoke { target, .. } => target,
        }
    }

    /// Runs the command and returns what to print.
    ///
    /// # Errors
    /// The use case's error.
    pub async fn run<O: OAuthStore>(&self, server: &AuthServer<O>) -> Result<String, AdminError> {
        let t = self.target();
        let (value, text) = match self {
            ClientCommand::Create {
                description,
                expires_at,
                ..
            } => {
                let new = server
                    .create_client(&t.tenant, description, *expires_at)
                    .await?;
                let mut v = client_json(&new.client);
                v["clientSecret"] = new.secret.expose_secret().into();
                let text = format!(
                    "client id:     {}\nclient secret: {} (shown once)",
                    new.client.id,
                    new.secret.expose_secret()
                );
                (v, text)
            }
            ClientCommand::List { .. } => {
                let clients = server.list_clients(&t.tenant).await?;
                let text = clients
                    .iter()
                    .map(|c| {
                        let status = if c.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        format!(
                            "{}  {status}  {} secret(s)  {}",
                            c.id,
                            c.secrets.len(),
                            c.description
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                let list: Vec<Value> = clients.iter().map(client_json).collect();
                (json!({ "clients": list }), text)
            }
            ClientCommand::AddSecret {
                client_id,
                expires_at,
                ..
            } => {
                let new = server.add_secret(&t.tenant, client_id, *expires_at).await?;
                let mut v = secret_json(&new.record);
                v["clientSecret"] = new.secret.expose_secret().into();
                let text = format!(
                    "secret id:     {}\nclient secret: {} (shown once)",
                    new.record.id,
                    new.secret.expose_secret()
                );
                (v, text)
            }
            ClientCommand::RevokeSecret {
                client_id,
                secret_id,
                ..
            } => {
                server
                    .revoke_secret(&t.tenant, client_id, secret_id)
                    .await?;
                (json!({}), format!("secret {secret_id} revoked"))
            }
            ClientCommand::Revoke { client_id, .. } => {
                server.revoke_client(&t.tenant, client_id).await?;
                (
                    json!({}),
                    format!("client {client_id} revoked; its tokens are refused within 60 s"),
                )
            }
        };
        Ok(render(t.output, &value, text))
    }
}

impl FederatedCommand {
    /// The target of the command.
    pub fn target(&self) -> &Target {
        match self {
            FederatedCommand::Create { target, .. }
            | FederatedCommand::List { target }
            | FederatedCommand::Delete { target, .. } => target,
        }
    }

    /// Runs the command and returns what to print.
    ///
    /// # Errors
    /// The use case's error.
    pub async fn run<O: OAuthStore>(&self, server: &AuthServer<O>) -> Result<String, AdminError> {
        let t = self.target();
        let (value, text) = match self {
            FederatedCommand::Create {
                issuer,
                subject,
                audience,
                jwks_uri,
                ..
            } => {
                let input = FederatedInput {
                    issuer: issuer.clone(),
                    subject: subject.clone(),
                    audience: audience.clone(),
                    jwks_uri: jwks_uri.clone(),
                };
                let f = server.create_federated(&t.tenant, input).await?;
                (federated_json(&f), format!("federated credential {}", f.id))
            }
            FederatedCommand::List { .. } => {
                let all = server.list_federated(&t.tenant).await?;
                let text = all
                    .iter()
                    .map(|f| {
                        format!(
                            "{}  iss={}  sub={}  aud={}",
                            f.id, f.issuer, f.subject, f.audience
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                let list: Vec<Value> = all.iter().map(federated_json).collect();
                (json!({ "federatedCredentials": list }), text)
            }
            FederatedCommand::Delete { id, .. } => {
                server.delete_federated(&t.tenant, id).await?;
                (json!({}), format!("federated credential {id} deleted"))
            }
        };
        Ok(render(t.output, &value, text))
    }
}

/// Runs an OAuth admin command on the DynamoDB table with the operator's AWS credentials and
/// prints what it returns.
///
/// # Errors
/// The use case's error.
pub(super) async fn run<F, Fut>(target: &Target, command: F) -> anyhow::Result<()>
where
    F: FnOnce(Arc<AuthServer<DynamoOAuthStore>>) -> Fut,
    Fut: std::future::Future<Output = Result<String, AdminError>>,
{
    let config = crate::run::aws_config().await;
    let store = DynamoOAuthStore::new(aws_sdk_dynamodb::Client::new(&config), target.table.clone());
    let wired = wire(Wiring {
        store: Arc::new(store),
        // Admin commands never sign: a throwaway key satisfies the wiring.
        keys: Arc::new(SigningKeys::local(None).context("creating a key")?),
        clock: Arc::new(SystemClock),
        // Admin commands issue no access token, so no tenant status is consulted.
        tenants: Arc::new(AllTenantsActive),
        lifetime: Lifetime::default(),
        issuer: None,
        base_path: "/scim/v2".into(),
        allow_loopback_http: false,
    });
    let out = command(wired.server)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    println!("{out}");
    Ok(())
}

fn render(output: Output, value: &Value, text: String) -> String {
    match output {
        Output::Json => value.to_string(),
        Output::Text => text,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::clock::SystemClock;
    use crate::store::memory_oauth::MemoryOAuthStore;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: ClientCommand,
    }

    #[tokio::test]
    async fn commands_print_the_api_objects() {
        let wired = wire(Wiring {
            store: Arc::new(MemoryOAuthStore::new()),
            keys: Arc::new(SigningKeys::local(None).unwrap()),
            clock: Arc::new(SystemClock),
            tenants: Arc::new(AllTenantsActive),
            lifetime: Lifetime::default(),
            issuer: None,
            base_path: "/scim/v2".into(),
            allow_loopback_http: false,
        });
        let args = [
            "x", "create", "--table", "t", "--tenant", "acme", "--output", "json",
        ];
        let created: Value = serde_json::from_str(
            &Cli::parse_from(args)
                .command
                .run(&wired.server)
                .await
                .unwrap(),
        )
        .unwrap();
        let id = created["clientId"].as_str().unwrap();
        assert!(
            created["clientSecret"]
                .as_str()
                .unwrap()
                .starts_with("scimcs_")
        );
        let list = Cli::parse_from(["x", "list", "--table", "t", "--tenant", "acme"])
            .command
            .run(&wired.server)
            .await
            .unwrap();
        assert!(list.contains(id) && list.contains("active"), "{list}");
        assert!(!list.contains("scimcs_"));
        let revoke = ["x", "revoke", "--table", "t", "--tenant", "acme", id];
        Cli::parse_from(revoke)
            .command
            .run(&wired.server)
            .await
            .unwrap();
        let again = Cli::parse_from(revoke).command.run(&wired.server).await;
        assert!(again.is_ok(), "revoking twice is idempotent");
        let missing = ["x", "revoke", "--table", "t", "--tenant", "globex", id];
        assert!(matches!(
            Cli::parse_from(missing).command.run(&wired.server).await,
            Err(AdminError::NotFound(_))
        ));
    }
}
