//! The core User schema (RFC 7643 §4.1 and §8.7.1).

use super::{Attribute, EXTERNAL_ID, Mutability, Returned, Schema, Uniqueness, multi_valued_subs};
use crate::scim::urn;

/// `urn:ietf:params:scim:schemas:core:2.0:User`.
pub static USER_SCHEMA: Schema = Schema {
    id: urn::USER,
    name: "User",
    description: "User Account",
    attributes: USER_ATTRIBUTES,
};

static USER_ATTRIBUTES: &[Attribute] = &[
    EXTERNAL_ID,
    Attribute::string(
        "userName",
        "Unique identifier for the User, typically used by the user to directly authenticate.",
    )
    .required()
    .uniqueness(Uniqueness::Server),
    Attribute::complex("name", NAME_SUBS, "The components of the user's real name."),
    Attribute::string(
        "displayName",
        "The name of the User, suitable for display to end-users.",
    ),
    Attribute::string(
        "nickName",
        "The casual way to address the user in real life.",
    ),
    Attribute::reference(
        "profileUrl",
        &["external"],
        "A fully qualified URL to the User's online profile.",
    ),
    Attribute::string("title", "The user's title, such as \"Vice President\"."),
    Attribute::string(
        "userType",
        "Used to identify the relationship between the organization and the user.",
    ),
    Attribute::string(
        "preferredLanguage",
        "Indicates the User's preferred written or spoken language.",
    ),
    Attribute::string("locale", "Used to indicate the User's default location."),
    Attribute::string(
        "timezone",
        "The User's time zone in the 'Olson' time zone database format.",
    ),
    Attribute::boolean(
        "active",
        "A Boolean value indicating the User's administrative status.",
    ),
    Attribute::string(
        "password",
        "The User's cleartext password, used only to set it.",
    )
    .case_exact()
    .mutability(Mutability::WriteOnly)
    .returned(Returned::Never),
    Attribute::complex("emails", EMAIL_SUBS, "Email addresses for the user.").multi(),
    Attribute::complex("phoneNumbers", PHONE_SUBS, "Phone numbers for the User.").multi(),
    Attribute::complex("ims", IM_SUBS, "Instant messaging addresses for the User.").multi(),
    Attribute::complex("photos", PHOTO_SUBS, "URLs of photos of the User.").multi(),
    Attribute::complex(
        "addresses",
        ADDRESS_SUBS,
        "A physical mailing address for this User.",
    )
    .multi(),
    // `returned: request`: listing a user's groups costs a reverse-index read, which Entra's
    // lookups never need; clients that want them ask with `attributes=groups`.
    Attribute::complex(
        "groups",
        GROUP_REF_SUBS,
        "A list of groups to which the user belongs.",
    )
    .multi()
    .mutability(Mutability::ReadOnly)
    .returned(Returned::Request),
    Attribute::complex(
        "entitlements",
        ENTITLEMENT_SUBS,
        "A list of entitlements for the User.",
    )
    .multi(),
    Attribute::complex("roles", ROLE_SUBS, "A list of roles for the User.").multi(),
    Attribute::complex(
        "x509Certificates",
        CERT_SUBS,
        "A list of certificates issued to the User.",
    )
    .multi(),
];

static NAME_SUBS: &[Attribute] = &[
    Attribute::string("formatted", "The full name, formatted for display."),
    Attribute::string("familyName", "The family name of the User."),
    Attribute::string("givenName", "The given name of the User."),
    Attribute::string("middleName", "The middle name(s) of the User."),
    Attribute::string("honorificPrefix", "The honorific prefix(es) of the User."),
    Attribute::string("honorificSuffix", "The honorific suffix(es) of the User."),
];

static EMAIL_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::string("value", "Email address for the User."),
    &["work", "home", "other"],
);
static PHONE_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::string("value", "Phone number of the User."),
    &["work", "home", "mobile", "fax", "pager", "other"],
);
static IM_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::string("value", "Instant messaging address for the User."),
    &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
);
static PHOTO_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::reference("value", &["external"], "URL of a photo of the User.").case_exact(),
    &["photo", "thumbnail"],
);
static ENTITLEMENT_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::string("value", "The value of an entitlement."),
    &[],
);
static ROLE_SUBS: &[Attribute] =
    &multi_valued_subs(Attribute::string("value", "The value of a role."), &[]);
static CERT_SUBS: &[Attribute] = &multi_valued_subs(
    Attribute::binary("value", "The value of an X.509 certificate."),
    &[],
);

static ADDRESS_SUBS: &[Attribute] = &[
    Attribute::string(
        "formatted",
        "The full mailing address, formatted for display.",
    ),
    Attribute::string("streetAddress", "The full street address component."),
    Attribute::string("locality", "The city or locality component."),
    Attribute::string("region", "The state or region component."),
    Attribute::string("postalCode", "The zip code or postal code component."),
    Attribute::string("country", "The country name component."),
    Attribute::string("type", "A label indicating the attribute's function.")
        .canonical(&["work", "home", "other"]),
    Attribute::boolean("primary", "A Boolean value indicating the primary address."),
];

static GROUP_REF_SUBS: &[Attribute] = &[
    Attribute::string("value", "The identifier of the User's group.")
        .case_exact()
        .mutability(Mutability::ReadOnly),
    Attribute::reference(
        "$ref",
        &["Group"],
        "The URI of the corresponding 'Group' resource.",
    )
    .case_exact()
    .mutability(Mutability::ReadOnly),
    Attribute::string("display", "A human-readable name of the group.")
        .mutability(Mutability::ReadOnly),
    Attribute::string("type", "A label indicating the attribute's function.")
        .canonical(&["direct", "indirect"])
        .mutability(Mutability::ReadOnly),
];
