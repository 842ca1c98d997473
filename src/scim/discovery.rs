//! Discovery documents (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`,
//! generated from the same static schema definitions that drive validation.

use serde_json::{Map, Value, json};

use crate::scim::cursor::CURSOR_TIMEOUT_SECS;
use crate::scim::list::{DEFAULT_COUNT, ListResponse, MAX_COUNT};
use crate::scim::schema::{AttrType, Attribute, ResourceKind, Schema};
use crate::scim::urn;

/// Most group members one request may add and remove together (POST, PUT or PATCH of a
/// group): a change up to this size is applied all-or-nothing; a larger one is refused up
/// front with 400 `invalidValue`, never split. Advertised in `/Schemas`, in the description of
/// the Group's `members` attribute: RFC 7643 §5 has no ServiceProviderConfig member for it,
/// and strict clients refuse one with members of its own (scim2-tester's model refused
/// `patch.maxMembersPerRequest`).
pub const MAX_MEMBERS_PER_REQUEST: usize = 1000;

/// The RFC 9967 event URIs (§2.4) of the changes this server reports: the change feed keys
/// each event's `events` claim by them, and `securityEvents.eventUris` lists them.
pub mod event_uri {
    /// A resource was created.
    pub const CREATE: &str = "urn:ietf:params:scim:event:prov:create:full";
    /// A resource was modified by PATCH.
    pub const PATCH: &str = "urn:ietf:params:scim:event:prov:patch:full";
    /// A resource was replaced by PUT.
    pub const PUT: &str = "urn:ietf:params:scim:event:prov:put:full";
    /// A resource was deleted.
    pub const DELETE: &str = "urn:ietf:params:scim:event:prov:delete";
    /// A user was activated.
    pub const ACTIVATE: &str = "urn:ietf:params:scim:event:prov:activate";
    /// A user was deactivated.
    pub const DEACTIVATE: &str = "urn:ietf:params:scim:event:prov:deactivate";

    /// Every one of them, as advertised.
    pub const ALL: [&str; 6] = [CREATE, PATCH, PUT, DELETE, ACTIVATE, DEACTIVATE];
}

/// The ServiceProviderConfig (RFC 7643 §5), with the RFC 9865 `pagination` member and the
/// RFC 9967 §4 `securityEvents` member: the events the change feed generates, and no
/// asynchronous SCIM requests (every request completes before it is answered).
pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": [urn::SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": DEFAULT_COUNT,
            "maxPageSize": MAX_COUNT,
            "cursorTimeout": CURSOR_TIMEOUT_SECS,
        },
        "securityEvents": {
            "asyncRequest": "none",
            "eventUris": event_uri::ALL,
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a long-lived bearer token (the 'Secret Token').",
            "specUri": "https://datatracker.ietf.org/doc/html/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        },
    })
}

/// One ResourceType (RFC 7643 §6).
pub fn resource_type(kind: ResourceKind, base_url: &str) -> Value {
    let extensions: Vec<Value> = kind
        .extensions()
        .iter()
        .map(|s| json!({"schema": s.id, "required": false}))
        .collect();
    json!({
        "schemas": [urn::RESOURCE_TYPE],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": format!("/{}", kind.endpoint()),
        "description": kind.schema().description,
        "schema": kind.schema().id,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base_url}/ResourceTypes/{}", kind.name()),
        },
    })
}

/// `GET /ResourceTypes`: a ListResponse of every resource type.
pub fn resource_types(base_url: &str) -> ListResponse {
    let all: Vec<Value> = ResourceKind::ALL
        .iter()
        .map(|k| resource_type(*k, base_url))
        .collect();
    ListResponse::new(all.len() as u64, std::num::NonZeroU64::MIN, all)
}

/// The resource type with this name (case-insensitive).
pub fn find_resource_type(name: &str, base_url: &str) -> Option<Value> {
    ResourceKind::from_name(name).map(|k| resource_type(k, base_url))
}

/// Every schema this server serves.
pub fn all_schemas() -> Vec<&'static Schema> {
    let mut out = Vec::new();
    for kind in ResourceKind::ALL {
        out.push(kind.schema());
        out.extend(kind.extensions().iter().copied());
    }
    out
}

/// `GET /Schemas`: a ListResponse of schema representations (Entra rejects a bare array).
pub fn schemas(base_url: &str) -> ListResponse {
    let all: Vec<Value> = all_schemas()
        .into_iter()
        .map(|s| schema(s, base_url))
        .collect();
    ListResponse::new(all.len() as u64, std::num::NonZeroU64::MIN, all)
}

/// The schema with this URN (case-insensitive).
pub fn find_schema(id: &str, base_url: &str) -> Option<Value> {
    all_schemas()
        .into_iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| schema(s, base_url))
}

/// One schema representation (RFC 7643 §7).
pub fn schema(schema: &Schema, base_url: &str) -> Value {
    json!({
        "schemas": [urn::SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attribute).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base_url}/Schemas/{}", schema.id),
        },
    })
}

fn attribute(a: &Attribute) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), a.name.into());
    m.insert("type".into(), a.ty.as_str().into());
    m.insert("multiValued".into(), a.multi_valued.into());
    m.insert("description".into(), a.description.into());
    m.insert("required".into(), a.required.into());
    if a.ty == AttrType::Complex {
        let subs: Vec<Value> = a.sub_attributes.iter().map(attribute).collect();
        m.insert("subAttributes".into(), subs.into());
    } else {
        m.insert("caseExact".into(), a.case_exact.into());
    }
    if !a.canonical_values.is_empty() {
        m.insert("canonicalValues".into(), a.canonical_values.into());
    }
    if a.ty == AttrType::Reference {
        m.insert("referenceTypes".into(), a.reference_types.into());
    }
    m.insert("mutability".into(), a.mutability.as_str().into());
    m.insert("returned".into(), a.returned.as_str().into());
    m.insert("uniqueness".into(), a.uniqueness.as_str().into());
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_a_list_response_with_user_group_and_enterprise() {
        let list = serde_json::to_value(schemas("https://x/scim/v2")).unwrap();
        assert_eq!(list["schemas"][0], urn::LIST_RESPONSE);
        let ids: Vec<&str> = list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [urn::USER, urn::ENTERPRISE_USER, urn::GROUP]);
        assert_eq!(list["totalResults"], 3);
    }

    #[test]
    fn attribute_characteristics_are_camel_case_and_without_nulls() {
        let user = find_schema(urn::USER, "https://x").unwrap();
        let text = user.to_string();
        assert!(!text.contains("null"));
        let user_name = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "userName")
            .unwrap();
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["mutability"], "readWrite");
        assert_eq!(user_name["required"], true);
        let password = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "password")
            .unwrap();
        assert_eq!(password["returned"], "never");
        assert_eq!(password["mutability"], "writeOnly");
    }

    /// Microsoft's gallery validation looks each attribute Entra's default mappings write up by
    /// name in `/Schemas`; one missing name fails the submission.
    #[test]
    fn every_attribute_entra_maps_is_listed() {
        let names = |urn: &str| -> Vec<String> {
            let schema = find_schema(urn, "https://x").unwrap();
            let mut out = Vec::new();
            for a in schema["attributes"].as_array().unwrap() {
                let name = a["name"].as_str().unwrap();
                out.push(name.to_string());
                for sub in a["subAttributes"].as_array().into_iter().flatten() {
                    out.push(format!("{name}.{}", sub["name"].as_str().unwrap()));
                }
            }
            out
        };
        let rows: [(&str, &[&str]); 3] = [
            (
                urn::USER,
                &[
                    "userName",
                    "externalId",
                    "active",
                    "displayName",
                    "name.givenName",
                    "name.familyName",
                    "name.formatted",
                    "title",
                    "emails.value",
                    "emails.type",
                    "emails.primary",
                    "phoneNumbers.value",
                    "phoneNumbers.type",
                    "addresses.streetAddress",
                    "addresses.postalCode",
                    "addresses.formatted",
                    "addresses.type",
                    "preferredLanguage",
                    "nickName",
                    "roles.value",
                ],
            ),
            (
                urn::ENTERPRISE_USER,
                &["employeeNumber", "department", "manager.value"],
            ),
            (urn::GROUP, &["displayName", "externalId", "members.value"]),
        ];
        for (urn, wanted) in rows {
            let listed = names(urn);
            for w in wanted {
                assert!(listed.iter().any(|l| l == w), "{urn} lacks {w}");
            }
        }
    }

    #[test]
    fn service_provider_config_advertises_patch_filter_and_caps() {
        let spc = service_provider_config("https://x/scim/v2");
        assert_eq!(spc["patch"]["supported"], true);
        assert_eq!(spc["filter"]["maxResults"], MAX_COUNT);
        let members = crate::scim::schema::GROUP_SCHEMA
            .attributes
            .iter()
            .find(|a| a.name == "members")
            .map(|a| a.description);
        assert!(
            members.is_some_and(|d| d.contains(&format!(" {MAX_MEMBERS_PER_REQUEST} "))),
            "the members description states the limit: {members:?}"
        );
        assert_eq!(spc["bulk"]["supported"], false);
        assert_eq!(
            spc["securityEvents"],
            json!({"asyncRequest": "none", "eventUris": [
                "urn:ietf:params:scim:event:prov:create:full",
                "urn:ietf:params:scim:event:prov:patch:full",
                "urn:ietf:params:scim:event:prov:put:full",
                "urn:ietf:params:scim:event:prov:delete",
                "urn:ietf:params:scim:event:prov:activate",
                "urn:ietf:params:scim:event:prov:deactivate",
            ]})
        );
        let pagination = &spc["pagination"];
        assert_eq!(pagination["cursor"], true);
        assert_eq!(pagination["index"], true);
        assert_eq!(pagination["defaultPaginationMethod"], "index");
        assert_eq!(pagination["cursorTimeout"], CURSOR_TIMEOUT_SECS);
        assert_eq!(
            spc["meta"]["location"],
            "https://x/scim/v2/ServiceProviderConfig"
        );
    }

    #[test]
    fn resource_types_point_at_endpoints() {
        let rt = serde_json::to_value(resource_types("https://x")).unwrap();
        assert_eq!(rt["Resources"][0]["endpoint"], "/Users");
        assert_eq!(
            rt["Resources"][0]["schemaExtensions"][0]["schema"],
            urn::ENTERPRISE_USER
        );
        assert_eq!(rt["Resources"][1]["endpoint"], "/Groups");
        assert!(find_resource_type("group", "https://x").is_some());
    }
}
