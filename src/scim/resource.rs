//! PLACEHOLDER replaced by the real module on merge.
use crate::scim::error::Result;
use crate::scim::schema::ResourceKind;
use serde_json::Value;
/// Prepared input.
pub struct Prepared {
    /// doc
    pub doc: Value,
    /// members
    pub members: Option<Vec<String>>,
}
/// Placeholder.
pub fn prepare(_kind: ResourceKind, body: &Value) -> Result<Prepared> {
    let mut doc = body.clone();
    let members = doc
        .as_object_mut()
        .and_then(|o| o.remove("members"))
        .and_then(|m| {
            m.as_array().map(|a| {
                a.iter()
                    .filter_map(|i| i.get("value").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
        });
    if let Some(o) = doc.as_object_mut() {
        o.remove("id");
        o.remove("meta");
    }
    Ok(Prepared { doc, members })
}
