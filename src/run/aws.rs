//! The AWS SDK configuration, loaded once per process: region and credentials from the usual
//! chain (the function's role in Lambda, the operator's profile on a machine, `AWS_ENDPOINT_URL`
//! for the emulator).

use aws_config::{BehaviorVersion, SdkConfig};

/// The configuration every AWS client of the process is built from.
pub async fn aws_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
