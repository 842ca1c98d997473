//! Table-driven tests of POST/PUT body normalisation.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::scim::error::ScimType;

use crate::scim::urn::{ENTERPRISE_USER as E, GROUP, USER};

/// A client-defined extension, as Entra's custom attributes use (case N6).
const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomApp:2.0:User";

type Expected = Result<(Value, Option<Vec<&'static str>>), ScimType>;

/// (name, kind, body, expected doc and members, or expected scimType).
fn rows() -> Vec<(&'static str, ResourceKind, Value, Expected)> {
    use ResourceKind::{Group, User};
    vec![
        (
            "b6_create_user",
            User,
            fixture!("entra", "b6_create_user"),
            Ok((
                json!({
            "schemas":[USER],"externalId":"0a21f0f2-8d2a-4f8e-bf98-7e1e3e2c9a11","userName":"alice@contoso.com",
            "active":true,"emails":[{"primary":true,"type":"work","value":"alice@contoso.com"}],
            "name":{"formatted":"Alice Smith","familyName":"Smith","givenName":"Alice"}}),
                None,
            )),
        ),
        (
            "b6e_create_enterprise_user",
            User,
            fixture!("entra", "b6e_create_enterprise_user"),
            Ok((
                json!({
            "schemas":[USER,E],"userName":"eve@contoso.com","active":true,
            E:{"employeeNumber":"E1","department":"Sales"}}),
                None,
            )),
        ),
        (
            "b6n_nulls_and_mistyped_urn",
            User,
            fixture!("entra", "b6n_create_with_nulls"),
            Ok((
                json!({
            "schemas":[USER],"userName":"Test_User_00aa00aa@contoso.com","active":true,"displayName":"Test User",
            "emails":[{"type":"work","value":"Test_User_00aa00aa@contoso.com","primary":true}],
            "name":{"familyName":"User","givenName":"Test"}}),
                None,
            )),
        ),
        (
            "postman_capitalised_names_string_bools_and_readonly",
            User,
            fixture!("entra", "b6_postman_capitalised_garbage"),
            Ok((
                json!({
            "schemas":[USER],"userName":"olivia@contoso.com","active":true,
            "emails":[{"primary":true,"type":"work","value":"olivia@contoso.com"}]}),
                None,
            )),
        ),
        (
            "c2_create_group_with_ms_schema",
            Group,
            fixture!("entra", "c2_create_group"),
            Ok((
                json!({
            "schemas":[GROUP],"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Sales"}),
                None,
            )),
        ),
        (
            "group_members_are_split_out",
            Group,
            json!({"displayName":"G","members":[{"value":"u-1","display":"x"},"u-2",{"value":"u-1"}]}),
            Ok((
                json!({"schemas":[GROUP],"displayName":"G"}),
                Some(vec!["u-1", "u-2"]),
            )),
        ),
        (
            "group_empty_members_is_explicit",
            Group,
            json!({"displayName":"G","members":[]}),
            Ok((json!({"schemas":[GROUP],"displayName":"G"}), Some(vec![]))),
        ),
        (
            "group_null_members_is_absent",
            Group,
            json!({"displayName":"G","members":null}),
            Ok((json!({"schemas":[GROUP],"displayName":"G"}), None)),
        ),
        (
            "custom_extension_kept_without_schemas_entry",
            User,
            json!({"userName":"c",CUSTOM:{"costCode":"42"}}),
            Ok((
                json!({"schemas":[USER,CUSTOM],"userName":"c",CUSTOM:{"costCode":"42"}}),
                None,
            )),
        ),
        (
            "urn_qualified_keys",
            User,
            json!({"urn:ietf:params:scim:schemas:core:2.0:User:userName":"q",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"D"}),
            Ok((
                json!({"schemas":[USER,E],"userName":"q",E:{"department":"D"}}),
                None,
            )),
        ),
        (
            "unqualified_manager_goes_to_enterprise",
            User,
            json!({"userName":"m","manager":"mgr-1"}),
            Ok((
                json!({"schemas":[USER,E],"userName":"m",E:{"manager":{"value":"mgr-1"}}}),
                None,
            )),
        ),
        (
            "unknown_attributes_dropped",
            User,
            json!({"userName":"u","shoeSize":44,"urn:example:thing":{"a":1}}),
            Ok((json!({"schemas":[USER],"userName":"u"}), None)),
        ),
        (
            "values_kept_exactly",
            User,
            json!({"userName":" Alice ","phoneNumbers":[{"value":"(555) 0100"}]}),
            Ok((
                json!({"schemas":[USER],"userName":" Alice ","phoneNumbers":[{"value":"(555) 0100"}]}),
                None,
            )),
        ),
        (
            "second_primary_demoted",
            User,
            json!({"userName":"p","emails":[{"value":"a","primary":true},{"value":"b","primary":"True"}]}),
            Ok((
                json!({"schemas":[USER],"userName":"p","emails":[{"value":"a","primary":true},{"value":"b","primary":false}]}),
                None,
            )),
        ),
        (
            "not_an_object",
            User,
            json!("x"),
            Err(ScimType::InvalidSyntax),
        ),
        (
            "missing_username",
            User,
            json!({"displayName":"x"}),
            Err(ScimType::InvalidValue),
        ),
        (
            "empty_username",
            User,
            json!({"userName":""}),
            Err(ScimType::InvalidValue),
        ),
        (
            "number_username",
            User,
            json!({"userName":5}),
            Err(ScimType::InvalidValue),
        ),
        (
            "active_maybe",
            User,
            json!({"userName":"u","active":"maybe"}),
            Err(ScimType::InvalidValue),
        ),
        (
            "string_for_complex",
            User,
            json!({"userName":"u","name":"Alice"}),
            Err(ScimType::InvalidValue),
        ),
        (
            "object_for_string",
            User,
            json!({"userName":"u","title":{"a":1}}),
            Err(ScimType::InvalidValue),
        ),
        (
            "extension_not_object",
            User,
            json!({"userName":"u",E:"x"}),
            Err(ScimType::InvalidValue),
        ),
        (
            "member_without_id",
            Group,
            json!({"displayName":"G","members":[{"value":""}]}),
            Err(ScimType::InvalidValue),
        ),
        (
            "group_without_display_name",
            Group,
            json!({"externalId":"x"}),
            Err(ScimType::InvalidValue),
        ),
    ]
}

#[test]
fn prepare_table() {
    for (name, kind, mut body, expected) in rows() {
        // These rows are about normalisation; `schemas` has its own table below.
        if let Some(o) = body.as_object_mut() {
            o.entry("schemas")
                .or_insert_with(|| json!([kind.schema().id]));
        }
        match (prepare(kind, &body), expected) {
            (Ok(got), Ok((doc, members))) => {
                assert_eq!(got.doc, doc, "{name}");
                let members = members.map(|m| m.iter().map(|s| s.to_string()).collect::<Vec<_>>());
                assert_eq!(got.members, members, "{name}");
            }
            (Err(e), Err(t)) => assert_eq!(e.scim_type, Some(t), "{name}: {e}"),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn missing_required_names_the_attribute() {
    let err = prepare(ResourceKind::User, &json!({"schemas": [USER]})).unwrap_err();
    assert_eq!(err.detail, "userName is required");
}

#[test]
fn schemas_must_name_the_resource_schema() {
    use ResourceKind::{Group, User};
    let rows: &[(&str, ResourceKind, Value, Option<ScimType>)] = &[
        ("core", User, json!({"schemas":[USER],"userName":"u"}), None),
        (
            "core and extension",
            User,
            json!({"schemas":[USER,E],"userName":"u"}),
            None,
        ),
        (
            "urn in another case",
            User,
            json!({"schemas":[USER.to_uppercase()],"userName":"u"}),
            None,
        ),
        (
            "key in another case",
            User,
            json!({"Schemas":[USER],"userName":"u"}),
            None,
        ),
        (
            "missing",
            User,
            json!({"userName":"u"}),
            Some(ScimType::InvalidValue),
        ),
        (
            "another resource's",
            User,
            json!({"schemas":[GROUP],"userName":"u"}),
            Some(ScimType::InvalidValue),
        ),
        (
            "only an unknown urn",
            Group,
            json!({"schemas":["urn:x:y"],"displayName":"g"}),
            Some(ScimType::InvalidValue),
        ),
        (
            "empty",
            Group,
            json!({"schemas":[],"displayName":"g"}),
            Some(ScimType::InvalidValue),
        ),
        (
            "not an array",
            User,
            json!({"schemas":USER,"userName":"u"}),
            Some(ScimType::InvalidSyntax),
        ),
        (
            "not strings",
            User,
            json!({"schemas":[USER, 1],"userName":"u"}),
            Some(ScimType::InvalidSyntax),
        ),
    ];
    for (name, kind, body, want) in rows {
        let got = prepare(*kind, body).err().and_then(|e| e.scim_type);
        assert_eq!(got, *want, "{name}");
    }
}

#[test]
fn schemas_listed_first() {
    let got = prepare(
        ResourceKind::User,
        &json!({"userName":"u","schemas":[USER]}),
    )
    .unwrap();
    let first = got.doc.as_object().unwrap().keys().next().cloned();
    assert_eq!(first.as_deref(), Some("schemas"));
}

#[test]
fn refresh_schemas_prunes_empty_extensions() {
    let mut doc = json!({"schemas":[USER,E],"userName":"u",E:{}});
    refresh_schemas(ResourceKind::User, &mut doc);
    assert_eq!(doc, json!({"schemas":[USER],"userName":"u"}));
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop::sample::select(vec!["userName", "True", "", "work", E, "members"])
            .prop_map(|s| json!(s)),
        "[ -~]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "userName",
                        "UserName",
                        "displayName",
                        "name",
                        "emails",
                        "members",
                        "active",
                        "value",
                        "primary",
                        "givenName",
                        "manager",
                        "id",
                        "meta",
                        E,
                        CUSTOM,
                        "x.y",
                    ]),
                    inner
                ),
                0..5,
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #[test]
    fn prepare_never_panics(body in any_json()) {
        for kind in ResourceKind::ALL {
            match prepare(kind, &body) {
                Ok(p) => {
                    prop_assert!(p.doc.get("id").is_none() && p.doc.get("meta").is_none());
                    prop_assert_eq!(&p.doc["schemas"][0], &json!(kind.schema().id));
                }
                Err(e) => prop_assert_eq!(e.status, 400),
            }
        }
    }
}
