//! The Enterprise User extension (RFC 7643 §4.3).

use super::{Attribute, Mutability, Schema};
use crate::scim::urn;

/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
pub static ENTERPRISE_USER_SCHEMA: Schema = Schema {
    id: urn::ENTERPRISE_USER,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_ATTRIBUTES,
};

static ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    Attribute::string(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person.",
    ),
    Attribute::string("costCenter", "Identifies the name of a cost center."),
    Attribute::string("organization", "Identifies the name of an organization."),
    Attribute::string("division", "Identifies the name of a division."),
    Attribute::string("department", "Identifies the name of a department."),
    Attribute::complex("manager", MANAGER_SUBS, "The User's manager."),
];

static MANAGER_SUBS: &[Attribute] = &[
    Attribute::string(
        "value",
        "The id of the SCIM resource representing the User's manager.",
    )
    .case_exact(),
    Attribute::reference(
        "$ref",
        &["User"],
        "The URI of the SCIM resource representing the manager.",
    )
    .case_exact(),
    Attribute::string("displayName", "The displayName of the User's manager.")
        .mutability(Mutability::ReadOnly),
];
