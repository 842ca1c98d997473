//! The resource types this server serves, as data: one static [`ResourceType`] descriptor per
//! type, which every layer asks ("does this type hold members?", "which attribute is unique?")
//! instead of asking "is it a Group?".
//!
//! Adding a resource type is one schema file and one row in [`RESOURCE_TYPES`] (plus its
//! variant in [`ResourceKind`], which is only an index into the table).

use super::{Attribute, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Schema, USER_SCHEMA, Uniqueness};
use crate::scim::urn;

/// A resource type: an index into [`RESOURCE_TYPES`]. Cheap to copy, and every question about
/// the type goes to its [`descriptor`](ResourceKind::descriptor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// `/Users`.
    User = 0,
    /// `/Groups`.
    Group = 1,
}

/// How a resource type takes part in group membership (RFC 7643 §4.1.2 and §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Holds a `members` list of references to other resources (a Group).
    Members,
    /// Is referenced by other resources' `members`; its readOnly `groups` attribute lists them
    /// (a User).
    MemberOf,
}

impl Relation {
    /// The attribute that renders the relation: `members` or `groups`.
    pub fn attribute(self) -> &'static str {
        match self {
            Relation::Members => "members",
            Relation::MemberOf => "groups",
        }
    }
}

/// What a successful PATCH answers (RFC 7644 §3.5.2 allows 200 with the resource or 204).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchAnswer {
    /// 200 with the resource: Entra's validator reads a patched user back.
    Resource,
    /// 204 unless the request asks for attributes: a group's member list can be large, and
    /// clients never read it back after a PATCH.
    NoContentUnlessAsked,
}

/// Everything the server knows about one resource type.
#[derive(Debug)]
pub struct ResourceType {
    /// The variant that indexes this row.
    pub kind: ResourceKind,
    /// The resource type name (`User`), used in `meta.resourceType` and `/ResourceTypes`.
    pub name: &'static str,
    /// The endpoint segment (`Users`).
    pub endpoint: &'static str,
    /// The core schema.
    pub schema: &'static Schema,
    /// Extension schemas this type declares (all optional).
    pub extensions: &'static [&'static Schema],
    /// Whether free-form client extensions (Entra's
    /// `urn:ietf:params:scim:schemas:extension:<Name>:2.0:User`) are accepted.
    pub custom_extensions: bool,
    /// The membership relation.
    pub relation: Relation,
    /// The word that names the type in storage keys (`USER`).
    pub key_word: &'static str,
    /// Whether the first `work` email is indexed for lookups (Entra matches users by it).
    pub work_email_index: bool,
    /// What a PATCH answers.
    pub patch_answer: PatchAnswer,
}

/// The descriptors, indexed by [`ResourceKind`] (a test keeps the two in step).
pub static RESOURCE_TYPES: [ResourceType; 2] = [
    ResourceType {
        kind: ResourceKind::User,
        name: "User",
        endpoint: "Users",
        schema: &USER_SCHEMA,
        extensions: &[&ENTERPRISE_USER_SCHEMA],
        custom_extensions: true,
        relation: Relation::MemberOf,
        key_word: "USER",
        work_email_index: true,
        patch_answer: PatchAnswer::Resource,
    },
    ResourceType {
        kind: ResourceKind::Group,
        name: "Group",
        endpoint: "Groups",
        schema: &GROUP_SCHEMA,
        extensions: &[],
        custom_extensions: false,
        relation: Relation::Members,
        key_word: "GROUP",
        work_email_index: false,
        patch_answer: PatchAnswer::NoContentUnlessAsked,
    },
];

impl ResourceKind {
    /// Every kind, in discovery order.
    pub const ALL: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

    /// The descriptor of this kind.
    pub fn descriptor(self) -> &'static ResourceType {
        &RESOURCE_TYPES[self as usize]
    }

    /// The kind whose descriptor holds `relation`; memberships link a [`Relation::Members`]
    /// holder to [`Relation::MemberOf`] resources.
    pub fn with_relation(relation: Relation) -> ResourceKind {
        ResourceKind::ALL
            .into_iter()
            .find(|k| k.relation() == relation)
            .unwrap_or(ResourceKind::User)
    }

    /// The resource type name (`User`).
    pub fn name(self) -> &'static str {
        self.descriptor().name
    }
    /// The endpoint segment (`Users`).
    pub fn endpoint(self) -> &'static str {
        self.descriptor().endpoint
    }
    /// The core schema.
    pub fn schema(self) -> &'static Schema {
        self.descriptor().schema
    }
    /// Extension schemas this resource type declares.
    pub fn extensions(self) -> &'static [&'static Schema] {
        self.descriptor().extensions
    }
    /// The membership relation.
    pub fn relation(self) -> Relation {
        self.descriptor().relation
    }
    /// Whether this kind holds a member list.
    pub fn has_members(self) -> bool {
        self.relation() == Relation::Members
    }
    /// The known extension with this URN (case-insensitive).
    pub fn extension(self, urn: &str) -> Option<&'static Schema> {
        self.extensions()
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }
    /// Whether this kind accepts the free-form custom extension `urn`.
    pub fn accepts_custom_extension(self, urn: &str) -> bool {
        self.descriptor().custom_extensions && urn::is_custom_extension(urn)
    }
    /// The attribute whose value must be unique (case-insensitively) within a tenant: the one
    /// the schema marks `uniqueness: server`.
    pub fn unique(self) -> Option<&'static Attribute> {
        self.schema()
            .attributes
            .iter()
            .find(|a| a.uniqueness == Uniqueness::Server)
    }
    /// The unique attribute's name (`userName`), or `""` for a type without one.
    pub fn unique_attribute(self) -> &'static str {
        self.unique().map_or("", |a| a.name)
    }
    /// The kind whose endpoint is `segment`, compared case-insensitively.
    pub fn from_endpoint(segment: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .find(|k| k.endpoint().eq_ignore_ascii_case(segment))
    }
    /// The kind named `name` (`User`), compared case-insensitively.
    pub fn from_name(name: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_indexed_by_kind() {
        for kind in ResourceKind::ALL {
            assert_eq!(kind.descriptor().kind, kind);
        }
        assert_eq!(RESOURCE_TYPES.len(), ResourceKind::ALL.len());
    }

    #[test]
    fn unique_attributes_come_from_the_schemas() {
        let table = [
            (ResourceKind::User, "userName"),
            (ResourceKind::Group, "displayName"),
        ];
        for (kind, unique) in table {
            assert_eq!(kind.unique_attribute(), unique, "{kind:?}");
        }
    }

    #[test]
    fn relations_pair_up() {
        assert_eq!(
            ResourceKind::with_relation(Relation::Members),
            ResourceKind::Group
        );
        assert_eq!(
            ResourceKind::with_relation(Relation::MemberOf),
            ResourceKind::User
        );
        assert_eq!(
            ResourceKind::from_endpoint("groups"),
            Some(ResourceKind::Group)
        );
        assert_eq!(ResourceKind::from_name("USER"), Some(ResourceKind::User));
    }
}
