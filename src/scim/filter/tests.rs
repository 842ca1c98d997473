//! Table-driven tests of the filter grammar and evaluator.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::scim::error::ScimType;
use crate::scim::schema::ResourceKind;

/// (name, input, canonical print): parsing `input` and printing gives the canonical form.
const PARSE_ROWS: &[(&str, &str, &str)] = &[
    (
        "entra_username_probe",
        r#"userName eq "7c1d3b3e-4a8e""#,
        r#"userName eq "7c1d3b3e-4a8e""#,
    ),
    (
        "keyword_case",
        r#"userName EQ "a" AND active Eq TRUE"#,
        r#"userName eq "a" and active eq true"#,
    ),
    ("attribute_case", r#"UserName eq "a""#, r#"UserName eq "a""#),
    (
        "unquoted_value",
        "externalId eq jyoung",
        r#"externalId eq "jyoung""#,
    ),
    ("present", "title pr", "title pr"),
    (
        "and_binds_tighter",
        r#"a eq 1 or b eq 2 and c eq 3"#,
        "a eq 1 or (b eq 2 and c eq 3)",
    ),
    (
        "grouping",
        r#"(a eq 1 or b eq 2) and c eq 3"#,
        "(a eq 1 or b eq 2) and c eq 3",
    ),
    (
        "left_assoc",
        "a pr and b pr and c pr",
        "(a pr and b pr) and c pr",
    ),
    (
        "not",
        r#"not (userName eq "x")"#,
        r#"not (userName eq "x")"#,
    ),
    (
        "not_no_space",
        r#"not(userName eq "x")"#,
        r#"not (userName eq "x")"#,
    ),
    (
        "value_path",
        r#"emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"]"#,
    ),
    (
        "entra_email_lookup",
        r#"emails[type eq "work"].value eq "a@b.c""#,
        r#"emails[type eq "work" and value eq "a@b.c"]"#,
    ),
    (
        "urn_path",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"7\"",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"7\"",
    ),
    (
        "urn_sub",
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m""#,
    ),
    (
        "escapes",
        r#"displayName eq "a \"quoted\" \\ name""#,
        r#"displayName eq "a \"quoted\" \\ name""#,
    ),
    (
        "unicode_escape",
        r#"displayName eq "caf\u00e9""#,
        "displayName eq \"café\"",
    ),
    ("numbers", "x gt -1.5e3", "x gt -1500.0"),
    ("null", "title eq null", "title eq null"),
    (
        "datetime",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    ),
    ("ref_sub", r#"members.$ref pr"#, "members.$ref pr"),
    (
        "legacy_and",
        r#"id eq "1" and manager eq "2""#,
        r#"id eq "1" and manager eq "2""#,
    ),
    (
        "extra_spaces",
        "  userName   eq   \"a\"  ",
        r#"userName eq "a""#,
    ),
    (
        "rfc_example",
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    ),
];

#[test]
fn parse_table() {
    for (name, input, printed) in PARSE_ROWS {
        let f = Filter::parse(input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(f.to_string(), *printed, "{name}");
        assert_eq!(
            Filter::parse(printed).unwrap(),
            f,
            "{name}: printed form parses back"
        );
    }
}

#[test]
fn parse_errors_are_invalid_filter() {
    let rows: &[(&str, &str)] = &[
        ("empty", ""),
        ("missing_value", "userName eq"),
        ("unknown_op", r#"userName xx "a""#),
        ("unbalanced", r#"(userName eq "a""#),
        ("dangling_and", r#"userName eq "a" and"#),
        ("unterminated_string", r#"userName eq "a"#),
        ("keyword_glued", r#"userName eq "a" ornament eq "b""#),
        ("bracket_unclosed", r#"emails[type eq "work""#),
        ("bad_name", r#"1abc eq "x""#),
        ("too_deep", &"(".repeat(40)),
    ];
    for (name, input) in rows {
        let err = Filter::parse(input).expect_err(name);
        assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{name}");
        assert_eq!(err.status, 400, "{name}");
    }
    let long = format!(r#"userName eq "{}""#, "a".repeat(MAX_FILTER_LEN));
    assert!(Filter::parse(&long).unwrap_err().detail.contains("bytes"));
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Bjensen",
        "userName": "bjensen@example.com",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "active": true,
        "title": "",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        },
        "urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"costCenter": "Sales-4"},
        "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z", "version": "3"}
    })
}

#[test]
fn eval_table() {
    let rows: &[(&str, &str, bool)] = &[
        (
            "username_case_insensitive",
            r#"userName eq "BJENSEN@example.com""#,
            true,
        ),
        ("username_miss", r#"userName eq "nobody""#, false),
        // A custom extension has no schema here: its attributes are stored under the client's
        // own spelling and compared as case-exact strings.
        (
            "custom_extension_hit",
            r#"urn:ietf:params:scim:schemas:extension:acme:2.0:User:costCenter eq "Sales-4""#,
            true,
        ),
        (
            "custom_extension_miss",
            r#"urn:ietf:params:scim:schemas:extension:acme:2.0:User:costCenter eq "Sales-5""#,
            false,
        ),
        ("sw_folded", r#"userName sw "BJEN""#, true),
        ("ew_folded", r#"userName ew "@EXAMPLE.COM""#, true),
        ("co_folded", r#"userName co "SEN@EX""#, true),
        ("gt_folded", r#"userName gt "BJENSEN""#, true),
        ("lt_folded", r#"userName lt "BJENSEN""#, false),
        ("sw_case_exact", r#"externalId sw "bjen""#, false),
        (
            "external_id_case_exact",
            r#"externalId eq "bjensen""#,
            false,
        ),
        ("external_id_hit", r#"externalId eq "Bjensen""#, true),
        ("unquoted", "externalId eq Bjensen", true),
        (
            "attr_name_case",
            r#"USERNAME eq "bjensen@example.com""#,
            true,
        ),
        (
            "urn_core",
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bjen""#,
            true,
        ),
        (
            "work_email",
            r#"emails[type eq "work"].value eq "BJENSEN@example.com""#,
            true,
        ),
        (
            "work_email_wrong_type",
            r#"emails[type eq "work"].value eq "babs@jensen.org""#,
            false,
        ),
        (
            "value_path_and",
            r#"emails[type eq "work" and primary eq true]"#,
            true,
        ),
        ("value_path_miss", r#"emails[type eq "other"]"#, false),
        ("complex_without_sub", r#"emails co "jensen.org""#, true),
        ("sub_attribute", r#"emails.value ew ".org""#, true),
        ("name_sub", r#"name.familyName eq "jensen""#, true),
        ("bool", "active eq true", true),
        ("bool_string", r#"active eq "True""#, true),
        ("bool_ne", "active ne true", false),
        ("present", "name pr", true),
        ("empty_string_not_present", "title pr", false),
        ("absent_not_present", "nickName pr", false),
        ("eq_null_absent", "nickName eq null", true),
        ("ne_absent", r#"nickName ne "x""#, true),
        (
            "enterprise_qualified",
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
            true,
        ),
        (
            "manager_unqualified",
            r#"manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
            true,
        ),
        (
            "datetime_gt",
            r#"meta.lastModified gt "2011-05-13T04:42:33Z""#,
            true,
        ),
        (
            "datetime_offset",
            r#"meta.created lt "2010-01-23T05:56:22+01:00""#,
            false,
        ),
        (
            "datetime_le_offset",
            r#"meta.created le "2010-01-23T05:56:22+01:00""#,
            true,
        ),
        ("not", r#"not (userName eq "bjensen@example.com")"#, false),
        ("or", r#"userName eq "x" or active eq true"#, true),
        (
            "id",
            r#"id eq "2819c223-7f76-453a-919d-413861904646""#,
            true,
        ),
        ("unknown_attribute", r#"shoeSize eq "9""#, false),
    ];
    let u = user();
    for (name, filter, expected) in rows {
        let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            matches(&f, ResourceKind::User, &u),
            *expected,
            "{name}: {filter}"
        );
    }
}

#[test]
fn group_display_name_is_case_insensitive() {
    let g = json!({"id": "g1", "displayName": "Sales EU", "members": [{"value": "u1"}]});
    let f = Filter::parse(r#"displayName eq "sales eu""#).unwrap();
    assert!(matches(&f, ResourceKind::Group, &g));
    let f = Filter::parse(r#"members.value eq "u1""#).unwrap();
    assert!(matches(&f, ResourceKind::Group, &g));
    let f = Filter::parse(r#"members eq "U1""#).unwrap();
    assert!(
        !matches(&f, ResourceKind::Group, &g),
        "member ids are caseExact"
    );
}

fn arb_path() -> impl Strategy<Value = AttrPath> {
    let name = "[a-zA-Z][a-zA-Z0-9_]{0,8}";
    (name, proptest::option::of(name)).prop_map(|(n, s)| AttrPath {
        urn: None,
        name: n,
        sub: s,
    })
}

fn arb_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i32>().prop_map(|i| CompValue::Number(i.into())),
        "\\PC{0,12}".prop_map(|s| CompValue::Str(s.into())),
    ]
}

fn arb_op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Ew),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
    ]
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        arb_path().prop_map(Filter::Present),
        (arb_path(), arb_op(), arb_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            (arb_path().prop_map(|p| AttrPath { sub: None, ..p }), inner)
                .prop_map(|(p, f)| Filter::ValuePath(p, Box::new(f))),
        ]
    })
}

proptest! {
    #[test]
    fn printed_filter_parses_back_to_the_same_tree(f in arb_filter()) {
        let printed = f.to_string();
        prop_assert_eq!(Filter::parse(&printed).unwrap(), f, "{}", printed);
    }

    #[test]
    fn parsing_never_panics(s in "\\PC{0,64}") {
        let _ = Filter::parse(&s);
    }

    #[test]
    fn parsing_filter_like_text_never_panics(s in r#"[a-z\[\]()" .:]{0,48}"#) {
        let _ = Filter::parse(&s);
        let _ = crate::scim::path::PatchPath::parse(&s);
    }
}
