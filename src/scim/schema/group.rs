//! The core Group schema (RFC 7643 §4.2 and §8.7.1).

use super::{Attribute, EXTERNAL_ID, Mutability, Schema, Uniqueness};
use crate::scim::urn;

/// `urn:ietf:params:scim:schemas:core:2.0:Group`.
pub static GROUP_SCHEMA: Schema = Schema {
    id: urn::GROUP,
    name: "Group",
    description: "Group",
    attributes: GROUP_ATTRIBUTES,
};

static GROUP_ATTRIBUTES: &[Attribute] = &[
    EXTERNAL_ID,
    // RFC 7643 leaves displayName non-unique; Entra matches groups by it, so a duplicate would
    // make its lookup ambiguous (`...MultipleEntriesInResponse`): this server enforces it.
    Attribute::string("displayName", "A human-readable name for the Group.")
        .required()
        .uniqueness(Uniqueness::Server),
    Attribute::complex(
        "members",
        MEMBER_SUBS,
        "A list of members of the Group. One request (POST, PUT or PATCH) may add and remove at \
         most 1000 members together (scim::discovery::MAX_MEMBERS_PER_REQUEST); a larger change \
         is refused whole with 400 invalidValue.",
    )
    .multi(),
];

static MEMBER_SUBS: &[Attribute] = &[
    Attribute::string("value", "Identifier of the member of this Group.")
        .case_exact()
        .mutability(Mutability::Immutable),
    Attribute::reference(
        "$ref",
        &["User", "Group"],
        "The URI of the member resource.",
    )
    .case_exact()
    .mutability(Mutability::Immutable),
    Attribute::string("display", "A human-readable name of the member.")
        .mutability(Mutability::ReadOnly),
    Attribute::string("type", "A label indicating the type of resource.")
        .canonical(&["User"])
        .mutability(Mutability::Immutable),
];
