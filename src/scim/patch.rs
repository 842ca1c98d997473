//! PLACEHOLDER replaced by the real module on merge.
use crate::scim::error::{Error, Result};
use crate::scim::schema::ResourceKind;
use serde_json::Value;
/// d
pub struct PatchRequest;
/// d
#[derive(Default)]
pub struct MemberDelta {
    /// d
    pub clear: bool,
    /// d
    pub add: Vec<String>,
    /// d
    pub remove: Vec<String>,
}
impl PatchRequest {
    /// d
    pub fn parse(_b: &Value) -> Result<Self> {
        Ok(PatchRequest)
    }
    /// d
    pub fn apply(&self, _k: ResourceKind, _d: &mut Value) -> Result<MemberDelta> {
        Err(Error::invalid_syntax("placeholder"))
    }
}
