//! The binary: reads the configuration once, starts tracing, builds the store and the token
//! source once, and serves the router locally or as a Lambda function.

use std::sync::Arc;

use anyhow::Context;
use aws_config::{BehaviorVersion, SdkConfig};
use axum::Router;
use clap::Parser;
use scim_lambda::admin::{CheckOutcome, check_endpoint, rotate_token};
use scim_lambda::auth::TokenDigest;
use scim_lambda::auth::liveness::AllTenantsActive;
use scim_lambda::auth::signing::SigningKeys;
use scim_lambda::auth::{SecretsManagerToken, StaticToken, generate_token};
use scim_lambda::config::{Cli, Command, ServeArgs, StoreKind, TokenCommand};
use scim_lambda::http::app_with;
use scim_lambda::http::oauth::routes as oauth_routes;
use scim_lambda::oauth::access::Lifetime;
use scim_lambda::oauth::clock::{SystemWallClock, WallClock};
use scim_lambda::oauth_server::AuthServer;
use scim_lambda::oauth_server::admin::AdminError;
use scim_lambda::oauth_server::cli::Target;
use scim_lambda::oauth_server::settings::{Wiring, wire};
use scim_lambda::scim::cursor::CursorKey;
use scim_lambda::service::Service;
use scim_lambda::store::Store;
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::store::dynamo::oauth::DynamoOAuthStore;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::memory_oauth::MemoryOAuthStore;
use scim_lambda::store::oauth::OAuthStore;
use scim_lambda::{AppState, Tokens};
use secrecy::{ExposeSecret, SecretString};

/// Where the process runs, decided once from `AWS_LAMBDA_RUNTIME_API`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A Lambda function: data must outlive the instance, credentials come from AWS.
    Lambda,
    /// A local server on `--listen`.
    Local,
}

/// Where the bearer token comes from.
enum TokenSetting {
    /// A Secrets Manager secret (its `AWSCURRENT` and `AWSPREVIOUS` versions).
    SecretsManager(String),
    /// A fixed token (local runs).
    Static(SecretString),
}

/// The configuration, resolved once: every later step reads this, never the environment.
struct Settings {
    mode: Mode,
    store: StoreKind,
    token: TokenSetting,
    cursor_key: Option<SecretString>,
    args: ServeArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mode = if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        Mode::Lambda
    } else {
        Mode::Local
    };
    init_tracing(mode);
    match cli.command {
        Some(Command::Serve(args)) => serve(resolve(args, mode)?).await,
        Some(Command::Token(command)) => token(command).await,
        Some(Command::Client(command)) => {
            let target = command.target().clone();
            oauth_admin(&target, |server| async move { command.run(&server).await }).await
        }
        Some(Command::Federated(command)) => {
            let target = command.target().clone();
            oauth_admin(&target, |server| async move { command.run(&server).await }).await
        }
        None => serve(resolve(serve_args_from_env(), mode)?).await,
    }
}

/// `scim-lambda` alone means `scim-lambda serve`, still honouring the environment.
fn serve_args_from_env() -> ServeArgs {
    #[derive(clap::Parser)]
    struct Only {
        #[command(flatten)]
        args: ServeArgs,
    }
    Only::parse_from(["scim-lambda"]).args
}

fn resolve(args: ServeArgs, mode: Mode) -> anyhow::Result<Settings> {
    // In Lambda the data must outlive the instance: the store is always DynamoDB.
    let store = match mode {
        Mode::Lambda => StoreKind::Dynamodb,
        Mode::Local => args.store,
    };
    let token = match (&args.token_secret_id, mode) {
        (Some(id), _) => TokenSetting::SecretsManager(id.clone()),
        // Fail closed: a deployed function without a secret would have no credential at all.
        (None, Mode::Lambda) => {
            anyhow::bail!("SCIM_TOKEN_SECRET_ID must name the token secret in Lambda")
        }
        (None, Mode::Local) => TokenSetting::Static(match &args.token {
            Some(t) => t.clone(),
            None => {
                let t = generate_token().context("generating a token")?;
                // Printed to the terminal on purpose, once, like an admin console's "Generate".
                println!(
                    "SCIM bearer token (set SCIM_TOKEN to choose your own): {}",
                    t.expose_secret()
                );
                t
            }
        }),
    };
    if args.cursor_key.is_none() && mode == Mode::Lambda {
        tracing::warn!("SCIM_CURSOR_KEY is not set: cursors will not work across instances");
    }
    Ok(Settings {
        mode,
        store,
        token,
        cursor_key: args.cursor_key.clone(),
        args,
    })
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let needs_aws = settings.store == StoreKind::Dynamodb
        || matches!(settings.token, TokenSetting::SecretsManager(_))
        || settings.args.oauth.signing_key_secret_id.is_some();
    // Built once, before serving, so warm invocations reuse the clients and their connections.
    let aws = if needs_aws {
        Some(aws_config::defaults(BehaviorVersion::latest()).load().await)
    } else {
        None
    };
    let keys = signing_keys(&settings, aws.as_ref()).await?;
    let tokens = match (&settings.token, &aws) {
        (TokenSetting::SecretsManager(id), Some(config)) => Tokens::SecretsManager {
            source: SecretsManagerToken::new(aws_sdk_secretsmanager::Client::new(config), id),
            tenant: settings.args.tenant.clone(),
        },
        (TokenSetting::Static(token), _) => {
            Tokens::Static(StaticToken::new(token).for_tenant(settings.args.tenant.clone()))
        }
        (TokenSetting::SecretsManager(_), None) => {
            anyhow::bail!("the AWS configuration was not loaded for the token secret")
        }
    };
    match settings.store {
        StoreKind::Dynamodb => {
            let config = aws_config_for_store(aws.as_ref())?;
            let dynamo = DynamoStore::new(
                aws_sdk_dynamodb::Client::new(config),
                settings.args.table.clone(),
            );
            if settings.args.create_table {
                dynamo
                    .create_table_if_missing()
                    .await
                    .context("creating the DynamoDB table")?;
            }
            let oauth_store = DynamoOAuthStore::new(
                aws_sdk_dynamodb::Client::new(config),
                settings.args.table.clone(),
            );
            serve_with(dynamo, oauth_store, tokens, keys, &settings).await
        }
        StoreKind::Memory => {
            serve_with(
                MemoryStore::new(),
                MemoryOAuthStore::new(),
                tokens,
                keys,
                &settings,
            )
            .await
        }
    }
}

/// The signing keys, or `None` when OAuth is off (in Lambda without a signing-key secret).
async fn signing_keys(
    settings: &Settings,
    aws: Option<&SdkConfig>,
) -> anyhow::Result<Option<Arc<SigningKeys>>> {
    let oauth = &settings.args.oauth;
    let keys = match (&oauth.signing_key_secret_id, settings.mode) {
        (Some(id), _) => {
            let config = aws.context("the AWS configuration was not loaded for the signing key")?;
            let client = aws_sdk_secretsmanager::Client::new(config);
            SigningKeys::from_secrets_manager(client, id, SystemWallClock.now())
                .await
                .context("loading the access-token signing keys")?
        }
        (None, Mode::Lambda) => return Ok(None),
        (None, Mode::Local) => SigningKeys::local(oauth.local_seed().as_deref())
            .context("creating a local signing key")?,
    };
    Ok(Some(Arc::new(keys)))
}

async fn serve_with<S: Store, O: OAuthStore>(
    store: S,
    oauth_store: O,
    tokens: Tokens,
    keys: Option<Arc<SigningKeys>>,
    settings: &Settings,
) -> anyhow::Result<()> {
    let mut state = state(store, tokens, settings);
    let mut extra = Router::new();
    if let Some(keys) = keys {
        let oauth = &settings.args.oauth;
        let lifetime =
            Lifetime::new(oauth.access_token_lifetime).context("SCIM_ACCESS_TOKEN_LIFETIME")?;
        let wired = wire(Wiring {
            store: Arc::new(oauth_store),
            keys,
            clock: Arc::new(SystemWallClock),
            tenants: Arc::new(AllTenantsActive),
            lifetime,
            issuer: oauth.oauth_issuer.clone(),
            base_path: settings.args.base_path.clone(),
            allow_loopback_http: settings.mode == Mode::Local,
        })
        .context("setting up OAuth")?;
        state = state.with_access_tokens(wired.access);
        let admin = oauth.admin_token.as_ref().and_then(TokenDigest::of_secret);
        extra = oauth_routes::<S, O>(wired.server, admin.as_ref());
    }
    run(state, extra, settings).await
}

fn aws_config_for_store(aws: Option<&SdkConfig>) -> anyhow::Result<&SdkConfig> {
    aws.context("the AWS configuration was not loaded for the DynamoDB store")
}

fn state<S: Store>(store: S, tokens: Tokens, settings: &Settings) -> AppState<S> {
    let mut service = Service::new(store);
    if let Some(key) = &settings.cursor_key {
        service = service.with_cursor_key(CursorKey::derive(key.expose_secret().as_bytes()));
    }
    let args = &settings.args;
    AppState::new(service, tokens, &args.base_path)
        .with_public_url(args.public_url.as_deref())
        .with_trusted_forwarding(args.trust_forwarded_headers)
        .with_metrics(settings.mode == Mode::Lambda)
}

/// Runs an OAuth admin command on the DynamoDB table with the operator's AWS credentials.
async fn oauth_admin<F, Fut>(target: &Target, run: F) -> anyhow::Result<()>
where
    F: FnOnce(Arc<AuthServer<DynamoOAuthStore>>) -> Fut,
    Fut: std::future::Future<Output = Result<String, AdminError>>,
{
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let store = DynamoOAuthStore::new(aws_sdk_dynamodb::Client::new(&config), target.table.clone());
    let wired = wire(Wiring {
        store: Arc::new(store),
        // Admin commands never sign: a throwaway key satisfies the wiring.
        keys: Arc::new(SigningKeys::local(None).context("creating a key")?),
        clock: Arc::new(SystemWallClock),
        tenants: Arc::new(AllTenantsActive),
        lifetime: Lifetime::default(),
        issuer: None,
        base_path: "/scim/v2".into(),
        allow_loopback_http: false,
    })
    .context("setting up OAuth")?;
    let out = run(wired.server).await.map_err(|e| anyhow::anyhow!(e))?;
    println!("{out}");
    Ok(())
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Rotate { secret_id } => {
            let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
            let client = aws_sdk_secretsmanager::Client::new(&config);
            let token = rotate_token(&client, &secret_id).await?;
            // Shown once, for the admin to paste into Entra as the Secret Token.
            println!("{}", token.expose_secret());
            eprintln!(
                "New token stored as AWSCURRENT; the previous one stays valid until the next rotation."
            );
            Ok(())
        }
        TokenCommand::Check { url, token } => match check_endpoint(&url, &token).await {
            CheckOutcome::Ok => {
                println!(
                    "OK: {url} answered Entra's Test Connection probe with an empty ListResponse."
                );
                Ok(())
            }
            CheckOutcome::Problem(why) => anyhow::bail!(why),
        },
    }
}

async fn run<S: Store>(
    state: AppState<S>,
    extra: Router<AppState<S>>,
    settings: &Settings,
) -> anyhow::Result<()> {
    let state_has_oauth = state.access.is_some();
    let app = app_with(state, extra);
    if settings.mode == Mode::Lambda {
        return lambda_http::run(app).await.map_err(|e| anyhow::anyhow!(e));
    }
    let args = &settings.args;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!(
        "SCIM endpoint (Tenant URL): http://{addr}{}",
        args.base_path.trim_end_matches('/')
    );
    if state_has_oauth {
        println!("OAuth token endpoint: http://{addr}/oauth2/token");
    }
    let service = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
    axum::serve(listener, service)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
}

fn init_tracing(mode: Mode) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a terminal: in a pipe or CloudWatch they are noise and cost time.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match mode {
        Mode::Lambda => builder.json().with_current_span(false).init(),
        Mode::Local => builder.compact().init(),
    }
}
