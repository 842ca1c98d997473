//! Index values of a resource, computed with the schema's normalisation (one rule for filter,
//! guards and indexes: `fold_case` for `caseExact: false` attributes).

use serde_json::Value;

use crate::scim::schema::{ResourceKind, fold_case};
use crate::store::IndexKeys;

/// The unique name (folded), `externalId` (exact) and first work email (folded) of `doc`.
pub fn index_keys(kind: ResourceKind, doc: &Value) -> IndexKeys {
    let text = |key: &str| {
        doc.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    IndexKeys {
        unique: text(kind.unique_attribute()).map(fold_case),
        external_id: text("externalId").map(str::to_string),
        work_emails: if kind.descriptor().work_email_index {
            work_emails(doc)
        } else {
            Vec::new()
        },
    }
}

/// Every work email, folded, sorted, without duplicates: each one finds the user.
fn work_emails(doc: &Value) -> Vec<String> {
    let mut out: Vec<String> = doc
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| {
            e.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("work"))
        })
        .filter_map(|e| e.get("value").and_then(Value::as_str))
        .filter(|v| !v.is_empty())
        .map(fold_case)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_fold_case_insensitive_values_only() {
        let doc = json!({
            "userName": "Alice@Contoso.com",
            "externalId": "AbC",
            "emails": [{"type": "home", "value": "h@x"}, {"type": "Work", "value": "A@X.com"}]
        });
        let keys = index_keys(ResourceKind::User, &doc);
        assert_eq!(keys.unique.as_deref(), Some("alice@contoso.com"));
        assert_eq!(keys.external_id.as_deref(), Some("AbC"));
        assert_eq!(keys.work_emails, ["a@x.com"]);
        let group = index_keys(ResourceKind::Group, &json!({"displayName": "Sales"}));
        assert_eq!(group.unique.as_deref(), Some("sales"));
        assert!(group.work_emails.is_empty());
    }
}
