//! The AWS SDK configuration, loaded once per process: region and credentials from the usual
//! chain (the function's role in Lambda, the operator's profile on a machine, `AWS_ENDPOINT_URL`
//! for the emulator), and the timeouts every client built from it inherits.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// A connection that takes longer is a network problem, not a slow service.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Whole operation, SDK retries included: every call (DynamoDB, EventBridge, SQS, the stream)
/// ends well inside a Lambda timeout and API Gateway's 30 s.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// The configuration every AWS client of the process is built from.
pub async fn aws_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .load()
        .await
}
