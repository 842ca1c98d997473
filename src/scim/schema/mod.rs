//! Schema definitions (RFC 7643 §2 and §7): the one description of every attribute that drives
//! input validation, PATCH, filtering, projection and the `/Schemas` discovery endpoint.
//!
//! Definitions are `static` data built with `const fn`s, so there is no start-up cost and no
//! chance for discovery and validation to disagree.

mod enterprise;
mod group;
mod resolve;
mod resource_type;
mod user;

pub use enterprise::ENTERPRISE_USER_SCHEMA;
pub use group::GROUP_SCHEMA;
pub use resolve::{AttrDef, Container, Resolved, container_of, get_ci, key_ci};
pub use resource_type::{PatchAnswer, Relation, ResourceKind, ResourceType};
pub use user::USER_SCHEMA;

/// Attribute data types (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// A sequence of characters.
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An `xsd:dateTime` (RFC 3339) string.
    DateTime,
    /// Base64-encoded bytes.
    Binary,
    /// A URI for a resource.
    Reference,
    /// A set of sub-attributes.
    Complex,
}

impl AttrType {
    /// The name used in `/Schemas` (`"dateTime"`, `"complex"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

/// Whether and how an attribute can be written (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Set by the service provider only; client input is ignored.
    ReadOnly,
    /// Freely updatable.
    ReadWrite,
    /// Set once (at creation or when first added) and never changed.
    Immutable,
    /// Accepted but never returned (e.g. `password`).
    WriteOnly,
}

impl Mutability {
    /// The camelCase name used in `/Schemas`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute appears in responses (RFC 7643 §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// Always, even when excluded.
    Always,
    /// Never (e.g. `password`).
    Never,
    /// Unless excluded or another list is requested.
    Default,
    /// Only when named in `attributes`.
    Request,
}

impl Returned {
    /// The name used in `/Schemas`.
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// How the service provider enforces uniqueness (RFC 7643 §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// No uniqueness.
    None,
    /// Unique within this service provider (and tenant).
    Server,
    /// Globally unique.
    Global,
}

impl Uniqueness {
    /// The name used in `/Schemas`.
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition with its characteristics.
#[derive(Debug)]
pub struct Attribute {
    /// Canonical name; lookups compare case-insensitively (RFC 7643 §2.1).
    pub name: &'static str,
    /// Data type.
    pub ty: AttrType,
    /// Whether the value is an array.
    pub multi_valued: bool,
    /// Human-readable description served by `/Schemas`.
    pub description: &'static str,
    /// Whether a resource without it is rejected.
    pub required: bool,
    /// Whether string comparison is case-sensitive.
    pub case_exact: bool,
    /// Write rules.
    pub mutability: Mutability,
    /// Response rules.
    pub returned: Returned,
    /// Uniqueness rule.
    pub uniqueness: Uniqueness,
    /// Sub-attributes of a complex attribute.
    pub sub_attributes: &'static [Attribute],
    /// Suggested values (e.g. `work`, `home`).
    pub canonical_values: &'static [&'static str],
    /// Resource types a reference may point to.
    pub reference_types: &'static [&'static str],
}

impl Attribute {
    const fn of(name: &'static str, ty: AttrType, description: &'static str) -> Self {
        Attribute {
            name,
            ty,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            sub_attributes: &[],
            canonical_values: &[],
            reference_types: &[],
        }
    }
    /// A single-valued, optional, read-write, case-insensitive string.
    pub const fn string(name: &'static str, description: &'static str) -> Self {
        Self::of(name, AttrType::String, description)
    }
    /// A boolean attribute.
    pub const fn boolean(name: &'static str, description: &'static str) -> Self {
        Self::of(name, AttrType::Boolean, description)
    }
    /// A dateTime attribute.
    pub const fn date_time(name: &'static str, description: &'static str) -> Self {
        Self::of(name, AttrType::DateTime, description)
    }
    /// A binary attribute.
    pub const fn binary(name: &'static str, description: &'static str) -> Self {
        Self::of(name, AttrType::Binary, description)
    }
    /// A reference attribute to the given resource types.
    pub const fn reference(
        name: &'static str,
        types: &'static [&'static str],
        description: &'static str,
    ) -> Self {
        let mut a = Self::of(name, AttrType::Reference, description);
        a.reference_types = types;
        a
    }
    /// A complex attribute with the given sub-attributes.
    pub const fn complex(
        name: &'static str,
        subs: &'static [Attribute],
        description: &'static str,
    ) -> Self {
        let mut a = Self::of(name, AttrType::Complex, description);
        a.sub_attributes = subs;
        a
    }
    /// Makes the attribute multi-valued.
    pub const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    /// Makes the attribute required.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Makes string comparison case-sensitive.
    pub const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    /// Sets the mutability.
    pub const fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    /// Sets when the attribute is returned.
    pub const fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    /// Sets the uniqueness rule.
    pub const fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    /// Sets canonical values.
    pub const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }

    /// The sub-attribute called `name` (case-insensitive).
    pub fn sub_attribute(&self, name: &str) -> Option<&'static Attribute> {
        find(self.sub_attributes, name)
    }

    /// Whether `name` (case-insensitive) is this attribute's name.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// A schema: a URN and its attributes.
#[derive(Debug)]
pub struct Schema {
    /// The schema URN.
    pub id: &'static str,
    /// Short name (`User`).
    pub name: &'static str,
    /// Description served by `/Schemas`.
    pub description: &'static str,
    /// Top-level attributes.
    pub attributes: &'static [Attribute],
}

impl Schema {
    /// The attribute called `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        find(self.attributes, name)
    }
}

fn find(attrs: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    attrs.iter().find(|a| a.is(name))
}

/// Sub-attributes shared by the "multi-valued attribute" pattern (RFC 7643 §2.4).
pub(crate) const fn multi_valued_subs(
    value: Attribute,
    types: &'static [&'static str],
) -> [Attribute; 4] {
    [
        value,
        Attribute::string(
            "display",
            "A human-readable name, primarily used for display purposes.",
        )
        .mutability(Mutability::ReadOnly),
        Attribute::string("type", "A label indicating the attribute's function.").canonical(types),
        Attribute::boolean(
            "primary",
            "A Boolean value indicating the 'primary' or preferred attribute value.",
        ),
    ]
}

/// `externalId` (RFC 7643 §3.1): common to every resource, and also listed in the User and
/// Group schemas because Microsoft's gallery validation looks every attribute Entra maps up by
/// name in `/Schemas`, where common attributes are otherwise absent.
pub(crate) const EXTERNAL_ID: Attribute = Attribute::string(
    "externalId",
    "An identifier for the resource as defined by the provisioning client.",
)
.case_exact();

/// Attributes every resource carries (RFC 7643 §3.1). They are not part of any schema's
/// `/Schemas` listing but paths, filters and projection resolve them.
pub static COMMON_ATTRIBUTES: &[Attribute] = &[
    Attribute::string(
        "id",
        "Unique identifier for the SCIM resource, issued by the service provider.",
    )
    .case_exact()
    .mutability(Mutability::ReadOnly)
    .returned(Returned::Always)
    .uniqueness(Uniqueness::Server),
    EXTERNAL_ID,
    Attribute::complex("meta", META_SUBS, "Resource metadata.").mutability(Mutability::ReadOnly),
];

static META_SUBS: &[Attribute] = &[
    Attribute::string(
        "resourceType",
        "The name of the resource type of the resource.",
    )
    .case_exact()
    .mutability(Mutability::ReadOnly),
    Attribute::date_time(
        "created",
        "When the resource was added to the service provider.",
    )
    .mutability(Mutability::ReadOnly),
    Attribute::date_time("lastModified", "When the resource was last updated.")
        .mutability(Mutability::ReadOnly),
    Attribute::reference("location", &["uri"], "The URI of the resource.")
        .case_exact()
        .mutability(Mutability::ReadOnly),
    Attribute::string("version", "The version (entity tag) of the resource.")
        .case_exact()
        .mutability(Mutability::ReadOnly),
];

/// The definition used for attributes of custom extensions (Entra's
/// `urn:ietf:params:scim:schemas:extension:<Name>:2.0:User`): Entra only maps strings into them.
static CUSTOM_EXTENSION_ATTRIBUTE: Attribute = Attribute::string(
    "custom",
    "An attribute of a client-defined extension schema.",
);

/// Case-folds a value for comparisons and keys of `caseExact: false` attributes: the one rule
/// of [`crate::scim::fold`], re-exported where the schema's other rules live.
pub use crate::scim::fold::fold_case;
