//! Table-driven tests of PATCH parsing and application, replaying the recorded Entra and Okta
//! bodies under `tests/fixtures/`, plus property tests of its invariants.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::scim::error::ScimType;

use crate::scim::urn::{ENTERPRISE_USER as E, GROUP, USER};

fn meta() -> Value {
    json!({"resourceType":"User","created":"2024-01-01T00:00:00Z",
           "lastModified":"2024-01-01T00:00:00Z","version":"W/\"1\""})
}

/// A stored user as the service keeps it.
fn user() -> Value {
    json!({"schemas":[USER],"id":"u-1","userName":"alice@contoso.com",
           "name":{"givenName":"Alice","familyName":"Smith"},
           "emails":[{"type":"work","value":"alice@contoso.com","primary":true}],
           "active":true,"meta":meta()})
}

fn user_with(extra: Value) -> Value {
    let mut doc = user();
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc
}

fn user_with_manager() -> Value {
    user_with(json!({"schemas":[USER,E],E:{"manager":{"value":"mgr-1","$ref":"../Users/mgr-1"}}}))
}

fn del(doc: &mut Value, key: &str) {
    doc.as_object_mut().unwrap().shift_remove(key);
}

fn ops(ops: Value) -> Value {
    json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":ops})
}

type Edit = fn(&mut Value);

/// (name, starting doc, body, expected edit of the starting doc or expected scimType).
fn user_rows() -> Vec<(&'static str, Value, Value, Result<Edit, ScimType>)> {
    vec![
        (
            "b10_legacy_replace_work_email",
            user(),
            fixture!("entra", "b10_legacy_replace_work_email"),
            Ok(|d| {
                d["emails"][0]["value"] = json!("new@contoso.com");
                d["name"]["familyName"] = json!("Jones");
            }),
        ),
        (
            "b10_creates_missing_work_email",
            {
                let mut u = user();
                del(&mut u, "emails");
                u
            },
            fixture!("entra", "b10_legacy_replace_work_email"),
            Ok(|d| {
                d["emails"] = json!([{"type":"work","value":"new@contoso.com"}]);
                d["name"]["familyName"] = json!("Jones");
            }),
        ),
        (
            "b11_legacy_rename",
            user(),
            fixture!("entra", "b11_legacy_rename"),
            Ok(|d| d["userName"] = json!("alice2@contoso.com")),
        ),
        (
            "b12_disable_string_false",
            user(),
            fixture!("entra", "b12_disable_string_false"),
            Ok(|d| d["active"] = json!(false)),
        ),
        (
            "b12_restore_string_true",
            user_with(json!({"active":false})),
            fixture!("entra", "b12_restore_string_true"),
            Ok(|d| d["active"] = json!(true)),
        ),
        (
            "b12_compliant_disable_bool",
            user(),
            fixture!("entra", "b12_compliant_disable_bool"),
            Ok(|d| d["active"] = json!(false)),
        ),
        (
            "b13_legacy_add_nickname",
            user(),
            fixture!("entra", "b13_legacy_add_nickname"),
            Ok(|d| d["nickName"] = json!("Babs")),
        ),
        (
            "b13_compliant_add_nickname",
            user(),
            fixture!("entra", "b13_compliant_add_nickname"),
            Ok(|d| d["nickName"] = json!("Babs")),
        ),
        (
            "b14_legacy_replace_several",
            user(),
            fixture!("entra", "b14_legacy_replace_several"),
            Ok(|d| {
                d["displayName"] = json!("Alice Jones");
                d["emails"][0]["value"] = json!("alice.jones@contoso.com");
                d["name"] = json!({"givenName":"Alice","familyName":"Jones"});
                d["externalId"] = json!("ajones");
                d[E] = json!({"employeeNumber":"E2"});
                d["schemas"] = json!([USER, E]);
            }),
        ),
        (
            "b14_compliant_pathless_dotted_keys",
            user(),
            fixture!("entra", "b14_compliant_pathless_dotted_keys"),
            Ok(|d| {
                d["displayName"] = json!("Alice Jones");
                d["emails"][0]["value"] = json!("alice.jones@contoso.com");
                d["name"] = json!({"givenName":"Alice","familyName":"Jones"});
                d[E] = json!({"employeeNumber":"E2"});
                d["schemas"] = json!([USER, E]);
            }),
        ),
        (
            "b15_validator_pathless_username",
            user(),
            fixture!("entra", "b15_validator_pathless_username"),
            Ok(|d| d["userName"] = json!("bob@x")),
        ),
        (
            "b15_validator_pathless_several",
            user_with(json!({"active":false})),
            fixture!("entra", "b15_validator_pathless_several"),
            Ok(|d| {
                d["active"] = json!(true);
                d["displayName"] = json!("Bob");
                d["name"]["givenName"] = json!("Bob");
            }),
        ),
        (
            "b16_validator_replace_typed_elements",
            user(),
            fixture!("entra", "b16_validator_replace_typed_elements"),
            Ok(|d| {
                d["emails"][0]["value"] = json!("v@contoso.com");
                d["phoneNumbers"] = json!([{"type":"work","value":"+1 555 0100"}]);
                d["addresses"] =
                    json!([{"type":"work","streetAddress":"1 Main St","locality":"Springfield"}]);
            }),
        ),
        (
            "b17_validator_add_attributes",
            user(),
            fixture!("entra", "b17_validator_add_attributes"),
            Ok(|d| {
                d["name"] = json!({"givenName":"Vera","familyName":"Lind"});
                d["emails"][0]["value"] = json!("vera@contoso.com");
            }),
        ),
        (
            "b18_manager_bare_string",
            user(),
            fixture!("entra", "b18_manager_bare_string"),
            Ok(|d| {
                d[E] = json!({"manager":{"value":"mgr-1"}});
                d["schemas"] = json!([USER, E]);
            }),
        ),
        (
            "b18_manager_object_value",
            user(),
            fixture!("entra", "b18_manager_object_value"),
            Ok(|d| {
                d[E] = json!({"manager":{"value":"mgr-1"}});
                d["schemas"] = json!([USER, E]);
            }),
        ),
        (
            "b18_manager_legacy_array",
            user(),
            fixture!("entra", "b18_manager_legacy_array"),
            Ok(|d| {
                // The `$ref` is kept exactly as sent (read from the fixture, not retyped here).
                let sent = fixture!("entra", "b18_manager_legacy_array");
                let reference = sent["Operations"][0]["value"][0]["$ref"].clone();
                d[E] = json!({"manager":{"$ref":reference,"value":"mgr-1"}});
                d["schemas"] = json!([USER, E]);
            }),
        ),
        (
            "b19_manager_change_drops_old_ref",
            user_with_manager(),
            fixture!("entra", "b19_manager_change"),
            Ok(|d| d[E] = json!({"manager":{"value":"mgr-2"}})),
        ),
        (
            "b20_manager_remove_empty_string",
            user_with_manager(),
            fixture!("entra", "b20_manager_remove_empty_string"),
            Ok(|d| {
                del(d, E);
                d["schemas"] = json!([USER]);
            }),
        ),
        (
            "b20_manager_remove_null",
            user_with_manager(),
            fixture!("entra", "b20_manager_remove_null"),
            Ok(|d| {
                del(d, E);
                d["schemas"] = json!([USER]);
            }),
        ),
        (
            "b20_manager_remove",
            user_with_manager(),
            fixture!("entra", "b20_manager_remove"),
            Ok(|d| {
                del(d, E);
                d["schemas"] = json!([USER]);
            }),
        ),
        (
            "b20_manager_remove_filter",
            user_with_manager(),
            fixture!("entra", "b20_manager_remove_filter"),
            Ok(|d| {
                del(d, E);
                d["schemas"] = json!([USER]);
            }),
        ),
        (
            "b20_manager_remove_filter_other_id_is_noop",
            user_with_manager(),
            ops(json!([{"op":"remove","path":"manager[value eq \"someone-else\"]"}])),
            Ok(|_| {}),
        ),
        (
            "b21_null_update",
            user_with(
                json!({"displayName":"A","title":"T","schemas":[USER,E],E:{"department":"D"}}),
            ),
            fixture!("entra", "b21_null_update"),
            Ok(|d| {
                for k in ["displayName", "title", E] {
                    del(d, k);
                }
                d["name"] = json!({"familyName":"Smith"});
                d["emails"] = json!([{"type":"work","primary":true}]);
                d["schemas"] = json!([USER]);
            }),
        ),
        (
            "b21_null_update_null",
            user_with(
                json!({"displayName":"A","title":"T","schemas":[USER,E],E:{"department":"D"}}),
            ),
            fixture!("entra", "b21_null_update_null"),
            Ok(|d| {
                for k in ["displayName", "title", E] {
                    del(d, k);
                }
                d["name"] = json!({"familyName":"Smith"});
                d["schemas"] = json!([USER]);
            }),
        ),
        (
            "b21_pathless_null_update",
            user_with(
                json!({"displayName":"A","title":"T","schemas":[USER,E],E:{"department":"D"}}),
            ),
            fixture!("entra", "b21_pathless_null_update"),
            Ok(|d| {
                for k in ["displayName", "title", E] {
                    del(d, k);
                }
                d["name"] = json!({"familyName":"Smith"});
                d["schemas"] = json!([USER]);
            }),
        ),
        (
            "b22_empty_operations",
            user(),
            fixture!("entra", "b22_empty_operations"),
            Ok(|_| {}),
        ),
        (
            "b23_legacy_add_roles_stringified",
            user(),
            fixture!("entra", "b23_legacy_add_roles_stringified"),
            Ok(
                |d| d["roles"] = json!([{"value":"{\"id\":\"06b07648-ecfe-589f-9d2f-6f5e0b2a9f0b\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}]),
            ),
        ),
        (
            "b23_replace_roles_string_primary_becomes_bool",
            user(),
            fixture!("entra", "b23_replace_roles_complex"),
            Ok(|d| {
                d["roles"] = json!([
             {"primary":false,"type":"WindowsAzureActiveDirectoryRole","value":"User"},
             {"primary":true,"type":"WindowsAzureActiveDirectoryRole","value":"Admin"}])
            }),
        ),
        (
            "okta_user_deactivate_pathless",
            user(),
            fixture!("okta", "user_deactivate_pathless"),
            Ok(|d| d["active"] = json!(false)),
        ),
        (
            "pathless_id_and_meta_are_ignored",
            user(),
            ops(
                json!([{"op":"replace","value":{"id":"evil","meta":{"created":"1999-01-01T00:00:00Z"},"title":"CTO"}}]),
            ),
            Ok(|d| d["title"] = json!("CTO")),
        ),
        (
            "unknown_attribute_is_ignored",
            user(),
            ops(
                json!([{"op":"replace","path":"favouriteColour","value":"blue"},{"op":"add","value":{"shoeSize":"44"}}]),
            ),
            Ok(|_| {}),
        ),
        (
            "password_is_never_stored",
            user(),
            ops(json!([{"op":"replace","path":"password","value":"hunter2"}])),
            Ok(|_| {}),
        ),
        (
            "attribute_names_are_case_insensitive",
            user(),
            ops(
                json!([{"op":"replace","path":"UserName","value":"x@y"},{"op":"replace","path":"emails[Type eq \"work\"].Value","value":"w@y"}]),
            ),
            Ok(|d| {
                d["userName"] = json!("x@y");
                d["emails"][0]["value"] = json!("w@y");
            }),
        ),
        (
            "core_urn_qualified_path",
            user(),
            ops(
                json!([{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:userName","value":"q@y"}]),
            ),
            Ok(|d| d["userName"] = json!("q@y")),
        ),
        (
            "add_primary_email_demotes_the_old_one",
            user(),
            ops(
                json!([{"op":"add","path":"emails","value":[{"type":"home","value":"h@x","primary":"True"}]}]),
            ),
            Ok(
                |d| d["emails"] = json!([{"type":"work","value":"alice@contoso.com","primary":false},{"type":"home","value":"h@x","primary":true}]),
            ),
        ),
        (
            "add_existing_email_is_skipped",
            user(),
            ops(
                json!([{"op":"add","path":"emails","value":[{"type":"work","value":"alice@contoso.com","primary":true}]}]),
            ),
            Ok(|_| {}),
        ),
        (
            "replace_multi_valued_replaces_all",
            user(),
            ops(json!([{"op":"replace","path":"emails","value":[{"type":"home","value":"h@x"}]}])),
            Ok(|d| d["emails"] = json!([{"type":"home","value":"h@x"}])),
        ),
        (
            "replace_filtered_element_merges_object",
            user(),
            ops(
                json!([{"op":"replace","path":"emails[type eq \"work\"]","value":{"value":"z@x"}}]),
            ),
            Ok(|d| d["emails"][0]["value"] = json!("z@x")),
        ),
        (
            "add_complex_merges",
            user(),
            ops(json!([{"op":"add","path":"name","value":{"middleName":"M"}}])),
            Ok(|d| d["name"]["middleName"] = json!("M")),
        ),
        (
            "remove_filtered_elements",
            user(),
            ops(json!([{"op":"remove","path":"emails[type eq \"work\"]"}])),
            Ok(|d| del(d, "emails")),
        ),
        (
            "remove_sub_attribute",
            user(),
            ops(json!([{"op":"remove","path":"name.givenName"}])),
            Ok(|d| d["name"] = json!({"familyName":"Smith"})),
        ),
        (
            "remove_absent_is_noop",
            user(),
            ops(json!([{"op":"remove","path":"title"}])),
            Ok(|_| {}),
        ),
        (
            "remove_listed_emails_only",
            user_with(
                json!({"emails":[{"type":"work","value":"a@x"},{"type":"home","value":"b@x"}]}),
            ),
            ops(json!([{"op":"Remove","path":"emails","value":[{"value":"a@x"}]}])),
            Ok(|d| d["emails"] = json!([{"type":"home","value":"b@x"}])),
        ),
        (
            "custom_extension_path",
            user(),
            ops(
                json!([{"op":"add","path":"urn:ietf:params:scim:schemas:extension:CustomApp:2.0:User:costCode","value":"42"}]),
            ),
            Ok(|d| {
                d["urn:ietf:params:scim:schemas:extension:CustomApp:2.0:User"] =
                    json!({"costCode":"42"});
                d["schemas"] = json!([
                    USER,
                    "urn:ietf:params:scim:schemas:extension:CustomApp:2.0:User"
                ]);
            }),
        ),
        (
            "pathless_extension_object_merges",
            user_with(json!({"schemas":[USER,E],E:{"department":"D","employeeNumber":"1"}})),
            ops(json!([{"op":"replace","value":{E:{"department":"X"}}}])),
            Ok(|d| d[E]["department"] = json!("X")),
        ),
        (
            "remove_extension_urn",
            user_with(json!({"schemas":[USER,E],E:{"department":"D"}})),
            ops(json!([{"op":"remove","path":E}])),
            Ok(|d| {
                del(d, E);
                d["schemas"] = json!([USER]);
            }),
        ),
        (
            "explicit_path_to_id_is_mutability",
            user(),
            ops(json!([{"op":"replace","path":"id","value":"x"}])),
            Err(ScimType::Mutability),
        ),
        (
            "explicit_path_to_meta_created_is_mutability",
            user(),
            ops(json!([{"op":"replace","path":"meta.created","value":"2000-01-01T00:00:00Z"}])),
            Err(ScimType::Mutability),
        ),
        (
            "remove_groups_is_mutability",
            user(),
            ops(json!([{"op":"remove","path":"groups"}])),
            Err(ScimType::Mutability),
        ),
        (
            "removing_username_is_invalid_value",
            user(),
            ops(json!([{"op":"remove","path":"userName"}])),
            Err(ScimType::InvalidValue),
        ),
        (
            "active_maybe_is_invalid_value",
            user(),
            ops(json!([{"op":"replace","path":"active","value":"maybe"}])),
            Err(ScimType::InvalidValue),
        ),
        (
            "object_for_string_is_invalid_value",
            user(),
            ops(json!([{"op":"replace","path":"title","value":{"a":1}}])),
            Err(ScimType::InvalidValue),
        ),
        (
            "pathless_scalar_is_invalid_value",
            user(),
            ops(json!([{"op":"replace","value":"x"}])),
            Err(ScimType::InvalidValue),
        ),
        (
            "complex_filter_without_match_is_no_target",
            user(),
            ops(json!([{"op":"replace","path":"emails[value sw \"zzz\"].value","value":"a@b"}])),
            Err(ScimType::NoTarget),
        ),
        (
            "failing_later_op_keeps_earlier_ones_out",
            user(),
            ops(
                json!([{"op":"replace","path":"title","value":"CTO"},{"op":"replace","path":"id","value":"x"}]),
            ),
            Err(ScimType::Mutability),
        ),
    ]
}

#[test]
fn user_patch_table() {
    for (name, start, body, expected) in user_rows() {
        let result =
            PatchRequest::parse(&body).and_then(|p| p.apply(ResourceKind::User, start.clone()));
        match expected {
            Ok(edit) => {
                let patched = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(
                    patched.members.is_empty(),
                    "{name}: users have no member delta"
                );
                assert_eq!(patched.changed, patched.doc != start, "{name}: changed");
                let mut want = start.clone();
                edit(&mut want);
                assert_eq!(patched.doc, want, "{name}");
            }
            Err(scim_type) => {
                let err = result.expect_err(name);
                assert_eq!(err.scim_type, Some(scim_type), "{name}: {err}");
            }
        }
    }
}

fn group() -> Value {
    json!({"schemas":[GROUP],"id":"g-1","displayName":"Sales","externalId":"8aa1",
           "meta":{"resourceType":"Group","created":"2024-01-01T00:00:00Z"}})
}

fn delta(clear: bool, add: &[&str], remove: &[&str]) -> MemberDelta {
    let owned = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect();
    MemberDelta {
        clear,
        add: owned(add),
        remove: owned(remove),
    }
}

/// (name, body, expected delta and edit of the group, or expected scimType).
type GroupRow = (&'static str, Value, Result<(MemberDelta, Edit), ScimType>);

fn group_rows() -> Vec<GroupRow> {
    vec![
        (
            "c6_legacy_rename_group",
            fixture!("entra", "c6_legacy_rename_group"),
            Ok((delta(false, &[], &[]), |d| {
                d["displayName"] = json!("Sales EU")
            })),
        ),
        (
            "c6_validator_pathless_displayname",
            fixture!("entra", "c6_validator_pathless_displayname"),
            Ok((delta(false, &[], &[]), |d| d["displayName"] = json!("X"))),
        ),
        (
            "c6_validator_pathless_externalid",
            fixture!("entra", "c6_validator_pathless_externalid"),
            Ok((delta(false, &[], &[]), |d| {
                d["externalId"] = json!("6f1c2a54-0d0e-4f39-9d31-b6a4e0a8c7f1")
            })),
        ),
        (
            "okta_group_rename_with_id",
            fixture!("okta", "group_rename_with_id"),
            Ok((delta(false, &[], &[]), |d| {
                d["displayName"] = json!("Test SCIMv2")
            })),
        ),
        (
            "c7_legacy_add_members",
            fixture!("entra", "c7_legacy_add_members"),
            Ok((delta(false, &["u-1", "u-2"], &[]), |_| {})),
        ),
        (
            "c7_compliant_add_members",
            fixture!("entra", "c7_compliant_add_members"),
            Ok((delta(false, &["u-1", "u-2"], &[]), |_| {})),
        ),
        (
            "c7_postman_bare_string_member",
            fixture!("entra", "c7_postman_bare_string_member"),
            Ok((delta(false, &["u-3"], &[]), |_| {})),
        ),
        (
            "okta_group_add_members",
            fixture!("okta", "group_add_members"),
            Ok((delta(false, &["u-1"], &[]), |_| {})),
        ),
        (
            "c8_legacy_remove_member_value_list",
            fixture!("entra", "c8_legacy_remove_member_value_list"),
            Ok((delta(false, &[], &["u-1"]), |_| {})),
        ),
        (
            "c8_compliant_remove_member_filter",
            fixture!("entra", "c8_compliant_remove_member_filter"),
            Ok((delta(false, &[], &["u-1"]), |_| {})),
        ),
        (
            "okta_group_remove_member_filter",
            fixture!("okta", "group_remove_member_filter"),
            Ok((delta(false, &[], &["u-1"]), |_| {})),
        ),
        (
            "c8_remove_all_members",
            fixture!("entra", "c8_remove_all_members"),
            Ok((delta(true, &[], &[]), |_| {})),
        ),
        (
            "okta_group_replace_members",
            fixture!("okta", "group_replace_members"),
            Ok((delta(true, &["u-4"], &[]), |_| {})),
        ),
        (
            "or_filter_removes_each",
            ops(json!([{"op":"remove","path":"members[value eq \"a\" or value eq \"b\"]"}])),
            Ok((delta(false, &[], &["a", "b"]), |_| {})),
        ),
        (
            "add_then_remove_folds",
            ops(
                json!([{"op":"add","path":"members","value":[{"value":"a"},{"value":"b"}]},{"op":"remove","path":"members[value eq \"a\"]"}]),
            ),
            Ok((delta(false, &["b"], &["a"]), |_| {})),
        ),
        (
            "remove_then_add_folds",
            ops(
                json!([{"op":"remove","path":"members[value eq \"a\"]"},{"op":"add","path":"members","value":[{"value":"a"}]}]),
            ),
            Ok((delta(false, &["a"], &[]), |_| {})),
        ),
        (
            "clear_resets_earlier_changes",
            ops(
                json!([{"op":"add","path":"members","value":[{"value":"a"}]},{"op":"remove","path":"members"},{"op":"add","path":"members","value":["c"]}]),
            ),
            Ok((delta(true, &["c"], &[]), |_| {})),
        ),
        (
            "pathless_replace_with_members",
            ops(json!([{"op":"replace","value":{"displayName":"Y","members":[{"value":"u-9"}]}}])),
            Ok((delta(true, &["u-9"], &[]), |d| {
                d["displayName"] = json!("Y")
            })),
        ),
        (
            "add_empty_member_list_changes_nothing",
            ops(json!([{"op":"add","path":"members","value":[]}])),
            Ok((delta(false, &[], &[]), |_| {})),
        ),
        (
            "remove_members_with_empty_list_removes_nobody",
            ops(json!([{"op":"remove","path":"members","value":[]}])),
            Ok((delta(false, &[], &[]), |_| {})),
        ),
        (
            "member_filter_on_display_is_invalid_filter",
            ops(json!([{"op":"remove","path":"members[display eq \"x\"]"}])),
            Err(ScimType::InvalidFilter),
        ),
        (
            "member_without_id_is_invalid_value",
            ops(json!([{"op":"add","path":"members","value":[{"display":"x"}]}])),
            Err(ScimType::InvalidValue),
        ),
        (
            "clearing_display_name_is_invalid_value",
            ops(json!([{"op":"replace","path":"displayName","value":""}])),
            Err(ScimType::InvalidValue),
        ),
    ]
}

#[test]
fn group_patch_table() {
    for (name, body, expected) in group_rows() {
        let result = PatchRequest::parse(&body).and_then(|p| p.apply(ResourceKind::Group, group()));
        match expected {
            Ok((want_delta, edit)) => {
                let patched = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(
                    patched.doc.get("members").is_none(),
                    "{name}: members never enter the group doc"
                );
                assert_eq!(patched.members, want_delta, "{name}");
                assert_eq!(patched.changed, patched.doc != group(), "{name}: changed");
                let mut want = group();
                edit(&mut want);
                assert_eq!(patched.doc, want, "{name}");
            }
            Err(scim_type) => {
                let err = result.expect_err(name);
                assert_eq!(err.scim_type, Some(scim_type), "{name}: {err}");
            }
        }
    }
}

#[test]
fn parse_table() {
    let many: Vec<Value> = (0..=MAX_OPERATIONS)
        .map(|_| json!({"op":"add","path":"title","value":"x"}))
        .collect();
    let rows: Vec<(&str, Value, Result<usize, ScimType>)> = vec![
        (
            "missing_schemas_is_accepted",
            json!({"Operations":[{"op":"add","path":"title","value":"x"}]}),
            Ok(1),
        ),
        (
            "lowercase_operations_key",
            json!({"operations":[{"op":"add","path":"title","value":"x"}]}),
            Ok(1),
        ),
        (
            "upper_case_op",
            ops(json!([{"op":"REPLACE","path":"title","value":"x"}])),
            Ok(1),
        ),
        (
            "empty_operations",
            fixture!("entra", "b22_empty_operations"),
            Ok(0),
        ),
        (
            "blank_path_means_pathless",
            ops(json!([{"op":"replace","path":"","value":{"title":"x"}}])),
            Ok(1),
        ),
        (
            "schemas_without_patchop",
            json!({"schemas":["urn:x"],"Operations":[]}),
            Err(ScimType::InvalidSyntax),
        ),
        (
            "missing_operations",
            json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
            Err(ScimType::InvalidSyntax),
        ),
        (
            "operations_not_array",
            ops(json!({"op":"add"})),
            Err(ScimType::InvalidSyntax),
        ),
        ("body_not_object", json!([1]), Err(ScimType::InvalidSyntax)),
        (
            "unknown_op",
            ops(json!([{"op":"copy","path":"title","value":"x"}])),
            Err(ScimType::InvalidSyntax),
        ),
        (
            "missing_op",
            ops(json!([{"path":"title","value":"x"}])),
            Err(ScimType::InvalidSyntax),
        ),
        (
            "add_without_value",
            ops(json!([{"op":"add","path":"title"}])),
            Err(ScimType::InvalidSyntax),
        ),
        (
            "invalid_path",
            ops(json!([{"op":"add","path":"emails[type eq","value":"x"}])),
            Err(ScimType::InvalidPath),
        ),
        (
            "remove_without_path",
            ops(json!([{"op":"remove"}])),
            Err(ScimType::NoTarget),
        ),
        (
            "too_many_operations",
            ops(Value::Array(many)),
            Err(ScimType::TooMany),
        ),
    ];
    for (name, body, expected) in rows {
        match (PatchRequest::parse(&body), expected) {
            (Ok(req), Ok(n)) => assert_eq!(req.operations.len(), n, "{name}"),
            (Err(e), Err(t)) => assert_eq!(e.scim_type, Some(t), "{name}: {e}"),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn remove_keeps_value_list_for_members_only() {
    let req =
        PatchRequest::parse(&fixture!("entra", "c8_legacy_remove_member_value_list")).unwrap();
    let PatchOp::Remove { value, .. } = &req.operations[0] else {
        panic!("not a remove")
    };
    assert_eq!(value, &Some(json!([{"$ref":null,"value":"u-1"}])));
}

const PATHS: &[&str] = &[
    "id",
    "meta",
    "meta.created",
    "userName",
    "title",
    "active",
    "name",
    "name.givenName",
    "emails",
    "emails[type eq \"work\"]",
    "emails[type eq \"work\"].value",
    "emails.value",
    "manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "roles",
    "groups",
    "unknownThing",
    "addresses[type eq \"home\"].locality",
    // Other spellings of the same attributes: a PATCH tells its changes apart without case.
    "Title",
    "NAME.familyname",
    "Emails[type eq \"work\"].Value",
    "urn:ietf:params:scim:schemas:core:2.0:User:title",
    "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        "[a-zA-Z@. ]{0,8}".prop_map(Value::String),
        Just(json!("False")),
        Just(json!({"value":"v","type":"work","primary":true})),
        Just(json!([{"value":"w","type":"home"}])),
        Just(json!({"givenName":"G","created":"x"})),
    ]
}

fn op() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["add", "Replace", "remove"]),
        prop::option::of(prop::sample::select(PATHS)),
        leaf(),
    )
        .prop_map(|(op, path, value)| match path {
            Some(path) => json!({"op":op,"path":path,"value":value}),
            None => json!({"op":op,"value":{"id":"x","meta":{"created":"y"},"title":value}}),
        })
}

fn rich_user() -> Value {
    user_with(
        json!({"schemas":[USER,E],"title":"T",E:{"department":"D","manager":{"value":"m"}},
                     "addresses":[{"type":"home","locality":"L"}]}),
    )
}

proptest! {
    #[test]
    fn patch_never_changes_id_or_meta_created(ops_list in prop::collection::vec(op(), 1..6)) {
        let patched = PatchRequest::parse(&ops(Value::Array(ops_list)))
            .and_then(|p| p.apply(ResourceKind::User, rich_user()));
        if let Ok(Patched { doc, .. }) = patched {
            prop_assert_eq!(&doc["id"], &json!("u-1"));
            prop_assert_eq!(&doc["meta"], &meta());
        }
    }

    #[test]
    fn remove_twice_equals_remove_once(path in prop::sample::select(PATHS)) {
        let body = ops(json!([{"op":"remove","path":path}]));
        let req = PatchRequest::parse(&body).unwrap();
        if let Ok(Patched { doc: once, .. }) = req.apply(ResourceKind::User, rich_user()) {
            let twice = req.apply(ResourceKind::User, once.clone());
            prop_assert!(twice.is_ok());
            let twice = twice.ok();
            prop_assert_eq!(twice.as_ref().map(|p| &p.doc), Some(&once));
            prop_assert_eq!(twice.map(|p| p.changed), Some(false));
        }
    }

    #[test]
    fn rejected_patch_leaves_doc_unchanged(ops_list in prop::collection::vec(op(), 1..6)) {
        let result = PatchRequest::parse(&ops(Value::Array(ops_list)))
            .and_then(|p| p.apply(ResourceKind::User, rich_user()));
        if let Ok(Patched { doc, .. }) = result {
            prop_assert!(doc["userName"].is_string());
        }
    }

    /// The no-op test that used to need a copy of the document: `changed` says exactly
    /// whether the patched document differs from the stored one.
    #[test]
    fn changed_is_whether_the_document_differs(ops_list in prop::collection::vec(op(), 1..6)) {
        let result = PatchRequest::parse(&ops(Value::Array(ops_list)))
            .and_then(|p| p.apply(ResourceKind::User, rich_user()));
        if let Ok(patched) = result {
            prop_assert_eq!(patched.changed, patched.doc != rich_user(), "{}", patched.doc);
        }
    }
}
