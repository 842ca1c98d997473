//! The production store: one DynamoDB table (on-demand), every key tenant-prefixed.
//!
//! The data model, the cost of each operation and the emulator used by the tests are described
//! in `docs/dynamodb.md`; the key formats live in [`keys`]. This file owns the client, the
//! translation of SDK errors into [`StoreError`] (nowhere else looks at SDK errors) and the
//! transaction runner that retries `TransactionConflict` cancellations.
//!
//! Split by concern: [`items`] maps records to items, `actions` builds conditions and
//! transaction actions, `write` creates, updates and deletes, `membership` plans member changes
//! and reads member lists, `pending` holds the protocol of member changes larger than one
//! transaction, `query` answers lookups, `table` creates the table.

mod actions;
mod feed;
pub mod items;
pub mod keys;
mod membership;
pub mod oauth;
mod pending;
mod query;
mod registry;
pub mod stream;
mod table;
mod webhooks;
mod write;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::change::UpdateKind;
use crate::scim::schema::ResourceKind;
use crate::store::checkpoints::Checkpoints;
use crate::store::limits;
use crate::store::{
    Call, Calls, Deleted, MemberChange, Members, Page, Query, Record, Store, StoreError,
    StoreResult, TenantId,
};

/// Most items a query may read to answer one request (filter or sort over a listing). Past it
/// the request is refused with `TooMany` instead of running for seconds and costing thousands
/// of read units; Entra and Okta only ever send indexed `eq` lookups.
pub const SCAN_BUDGET: usize = 10_000;

/// Most actions DynamoDB accepts in one `TransactWriteItems`.
const MAX_TRANSACTION_ACTIONS: usize = 100;

/// Attempts of one transaction that is cancelled by `TransactionConflict` (another transaction
/// touching the same items), which the SDK does not retry by itself. Member changes of one
/// group all touch the group item, so concurrent ones conflict on real DynamoDB; with the
/// jittered backoff the last attempt starts about 2.5 s after the first.
const CONFLICT_ATTEMPTS: u32 = 8;

/// Connect timeout: a connection that takes longer is a network problem, not a slow table.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Whole-operation timeout, SDK retries included: every request ends well inside a Lambda
/// timeout (and inside API Gateway's 30 s), so the client gets a 503 rather than a 504.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// The DynamoDB store. Cheap to share behind an `Arc`; the SDK client is itself a handle.
#[derive(Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    calls: Calls,
    /// Where recently served index pages began (see [`Checkpoints`]): per instance.
    checkpoints: Checkpoints,
}

impl DynamoStore {
    /// A store on `table`, using `client` with its timeouts replaced by this store's (connect
    /// 1 s, operation 5 s), so no configuration can make a request outlive the Lambda.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let config = client
            .config()
            .to_builder()
            .timeout_config(timeouts)
            .build();
        DynamoStore {
            client: Client::from_conf(config),
            table: table.into(),
            calls: Calls::default(),
            checkpoints: Checkpoints::default(),
        }
    }

    /// The same store with a longer (or shorter) whole-operation timeout. Production keeps
    /// the 5 s bound; the test suites give the single-threaded emulator on a busy machine more
    /// room, so a slow emulator is not mistaken for a failed write.
    #[must_use]
    pub fn with_operation_timeout(self, timeout: Duration) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_timeout(timeout)
            .build();
        let config = self
            .client
            .config()
            .to_builder()
            .timeout_config(timeouts)
            .build();
        DynamoStore {
            client: Client::from_conf(config),
            ..self
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The page checkpoints this instance holds (tests read how many).
    pub fn checkpoints(&self) -> &Checkpoints {
        &self.checkpoints
    }

    /// Runs one transaction, retrying it (jittered, bounded) while DynamoDB cancels it for a
    /// `TransactionConflict` only. A failed condition is never retried: it is an answer.
    ///
    /// # Errors
    /// `TxError::Conditions` with the indexes of the actions whose condition failed; otherwise
    /// the translated SDK error.
    ///
    /// Each attempt carries a fresh `ClientRequestToken`: when the SDK re-sends an attempt
    /// whose answer was lost (a timeout after DynamoDB committed), DynamoDB recognises the
    /// token and answers success instead of evaluating the conditions against its own write.
    async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<(), TxError> {
        let mut attempt = 0;
        loop {
            self.calls.record(Call::TransactWriteItems);
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .client_request_token(uuid::Uuid::new_v4().to_string())
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let reasons: Vec<Option<String>> = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().map(str::to_string))
                    .collect(),
                _ => return Err(TxError::Store(translate(err))),
            };
            let failed: Vec<usize> = reasons
                .iter()
                .enumerate()
                .filter(|(_, code)| code.as_deref() == Some("ConditionalCheckFailed"))
                .map(|(i, _)| i)
                .collect();
            if !failed.is_empty() {
                return Err(TxError::Conditions(failed));
            }
            let has = |c: &str| reasons.iter().any(|r| r.as_deref() == Some(c));
            if has("ThrottlingError") {
                return Err(TxError::Store(throttled(err)));
            }
            if !has("TransactionConflict") {
                return Err(TxError::Store(translate(err)));
            }
            attempt += 1;
            if attempt >= CONFLICT_ATTEMPTS {
                tracing::warn!("transaction still conflicting after {attempt} attempts");
                return Err(TxError::Store(StoreError::Contention));
            }
            backoff(attempt).await;
        }
    }
}

/// Why a transaction did not commit.
#[derive(Debug)]
enum TxError {
    /// These action indexes failed their condition (`CancellationReasons`).
    Conditions(Vec<usize>),
    /// Anything else, already translated.
    Store(StoreError),
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

/// Sleeps a random time in `[0, 20 ms * 2^attempt)` ("full jitter"), so conflicting writers
/// spread out instead of colliding again in lockstep.
async fn backoff(attempt: u32) {
    let cap_ms = 20u64 << attempt.min(6);
    // A failing OS random source only loses the jitter, not the retry.
    let r = getrandom::u64().unwrap_or(cap_ms / 2);
    tokio::time::sleep(Duration::from_millis(r % cap_ms)).await;
}

/// Error codes DynamoDB uses when it throttles; the SDK has already retried them.
const THROTTLING_CODES: [&str; 4] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

/// Translates an SDK error: throttling that outlasted the SDK's retries is `Throttled`,
/// timeouts, connection failures and 5xx are `Unavailable`, the rest (validation errors: bugs)
/// is `Internal`. The typed source is kept and logged.
fn translate<E>(err: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(ctx) => {
            if ctx
                .err()
                .code()
                .is_some_and(|c| THROTTLING_CODES.contains(&c))
            {
                return throttled(err);
            }
            ctx.raw().status().is_server_error()
        }
        _ => false,
    };
    if unavailable {
        tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err), "DynamoDB unavailable");
        StoreError::Unavailable(Box::new(err))
    } else {
        tracing::error!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err), "DynamoDB request failed");
        StoreError::Internal(Box::new(err))
    }
}

/// `Throttled`, after logging what was throttled.
fn throttled<E>(err: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err), "DynamoDB throttled after retries");
    StoreError::Throttled {
        retry_after_secs: 1,
    }
}

/// An SDK builder refused a request we built: a bug in this module.
fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Internal(Box::new(e))
}

impl Store for DynamoStore {
    async fn create(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: &Record,
        members: &[String],
    ) -> StoreResult<()> {
        if kind.has_members() {
            limits::check_members(members.len(), &MemberChange::default())?;
        }
        let created = self.create_resource(tenant, kind, record, members).await;
        // Forgotten on any outcome: a failed transaction may still have committed (timeout).
        self.checkpoints.forget(tenant, kind);
        created
    }

    async fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<Record>> {
        self.get_record(tenant, kind, id).await
    }

    async fn update_as(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: &Record,
        expected_version: u64,
        members: &MemberChange,
        write: UpdateKind,
    ) -> StoreResult<()> {
        if kind.has_members() {
            limits::check_members(members.add.len(), members)?;
        }
        self.update_resource(
            tenant,
            kind,
            record,
            expected_version,
            members,
            write.into(),
        )
        .await
    }

    async fn update_members_as(
        &self,
        tenant: &TenantId,
        group_id: &str,
        members: &MemberChange,
        expected_version: Option<u64>,
        modified: &str,
        write: UpdateKind,
    ) -> StoreResult<Record> {
        self.change_members(
            tenant,
            group_id,
            members,
            expected_version,
            modified,
            write.into(),
        )
        .await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<u64>,
    ) -> StoreResult<Deleted> {
        let deleted = self
            .delete_resource(tenant, kind, id, expected_version)
            .await;
        self.checkpoints.forget(tenant, kind);
        deleted
    }

    async fn query(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &Query,
    ) -> StoreResult<Page> {
        self.run_query(tenant, kind, query).await
    }

    async fn members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        limit: usize,
    ) -> StoreResult<Members> {
        self.member_ids(tenant, group_id, limit).await
    }

    async fn groups_of(
        &self,
        tenant: &TenantId,
        user_id: &str,
        limit: usize,
    ) -> StoreResult<Members> {
        self.group_ids(tenant, user_id, limit).await
    }

    fn calls(&self) -> &Calls {
        &self.calls
    }
}
