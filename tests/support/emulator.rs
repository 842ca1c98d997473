//! The switch for tests that need the local AWS emulator: `scripts/with-emulator.sh` sets
//! `SCIM_TEST_DYNAMODB` and points the SDK at the emulator; without it those tests say once
//! that they skipped and pass.

use std::io::Write;
use std::sync::Once;

/// The whole-operation timeout the suites give stores on the emulator: it serves one request at
/// a time (so conditional writes stay atomic), and racing writers on a busy machine can queue
/// behind each other for longer than production's 5 s. `tests/faults` keeps 5 s on purpose.
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether the emulator is configured; says once per binary that `what` skipped when not.
pub fn enabled(what: &str) -> bool {
    if std::env::var_os("SCIM_TEST_DYNAMODB").is_some() {
        return true;
    }
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Straight to stderr: the harness captures `eprintln!` of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: the {what} tests need the emulator (scripts/with-emulator.sh)"
        );
    });
    false
}

/// The SDK configuration from the environment the emulator script set.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// A DynamoDB store on a fresh table named `<prefix>-<uuid>` of the emulator.
pub async fn dynamo_store(prefix: &str) -> scim_lambda::store::dynamo::DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let store = scim_lambda::store::dynamo::DynamoStore::new(
        client,
        format!("{prefix}-{}", uuid::Uuid::new_v4()),
    )
    .with_operation_timeout(OPERATION_TIMEOUT);
    store
        .create_table_if_missing()
        .await
        .unwrap_or_else(|e| panic!("create table: {e}"));
    store
}
