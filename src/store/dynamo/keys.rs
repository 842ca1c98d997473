//! Every key and attribute name of the DynamoDB table, in one place.
//!
//! All partition keys start with `T#<tenant>#`, so tenants sharing the table can never see each
//! other's items: every read names a partition, and every partition belongs to one tenant. The
//! layout (see `docs/dynamodb.md`):
//!
//! | item | pk | sk | index keys |
//! |---|---|---|---|
//! | user / group | `T#t#USER#<id>` / `T#t#GROUP#<id>` | `USER` / `GROUP` | gsi1 `T#t#USERS`/`T#t#GROUPS` + id; gsi2 `T#t#EXTID#USER#<externalId>`; gsi3 `T#t#EMAIL#<folded>` |
//! | membership | `T#t#GROUP#<gid>` | `MEMBER#<uid>` | gsi1 `T#t#USER#<uid>#GROUPS` + gid |
//! | unique guard | `T#t#UNIQUE#USER#<folded>` | `UNIQUE` | none; attribute `id` names the owner |
//! | counter shard | `T#t#COUNT#USER` / `T#t#COUNT#GROUP` | `SHARD#<0..16>` | none; attribute `n` (may be negative; the shards sum to the count) |
//!
//! Values inside keys are used as they are: ids are server-issued UUIDs and tenant ids cannot
//! contain `#`. A folded name or an externalId may contain `#`, which is harmless because it
//! always stands last in its key, so no other key can be a prefix-collision of it.

use crate::scim::schema::ResourceKind;
use crate::store::TenantId;

/// Partition key attribute of the table.
pub const PK: &str = "pk";
/// Sort key attribute of the table.
pub const SK: &str = "sk";
/// GSI1 partition: the listing partition of a kind, or a user's reverse-membership partition.
pub const GSI1PK: &str = "gsi1pk";
/// GSI1 sort key (the resource id, or the group id on membership items); GSI2 and GSI3 sort by
/// it too, so every index returns resources in id order.
pub const GSI1SK: &str = "gsi1sk";
/// GSI2 partition: externalId (sparse: only resources that have one).
pub const GSI2PK: &str = "gsi2pk";
/// GSI3 partition: folded work email (sparse: only users that have one).
pub const GSI3PK: &str = "gsi3pk";
/// Index names.
pub const GSI1: &str = "gsi1";
/// Index on externalId.
pub const GSI2: &str = "gsi2";
/// Index on work email.
pub const GSI3: &str = "gsi3";

/// The resource id (resources) or the owner's id (guards).
pub const ID: &str = "id";
/// The resource version, a number.
pub const VERSION: &str = "version";
/// The resource document as a JSON string.
pub const DOC: &str = "doc";
/// The folded unique name, kept on the resource so an update can tell whether it changes.
pub const UNIQUE: &str = "ukey";
/// The externalId as sent.
pub const EXTERNAL_ID: &str = "extid";
/// The first folded work email (the one GSI3 indexes on the user item itself).
pub const WORK_EMAIL: &str = "email";
/// Every folded work email, as a JSON array of strings (sorted): what an update compares to
/// tell whether the email lookup items must change.
pub const WORK_EMAILS: &str = "emails";
/// A random id of the write that put the item, unique per store call: a write that is sent
/// again after its answer was lost finds its own id and knows it landed (a version or a
/// document can be equal to another writer's).
pub const WRITE_ID: &str = "wid";
/// `meta.lastModified` of a member-only change, which bumps `version` without rewriting
/// `doc`: a read stamps both into the document.
pub const MODIFIED: &str = "modified";
/// What the last update of a resource was, a map `{kind, req, add, remove, clear}` (users:
/// `{kind}`): the write (`put` or `patch`) and, for a group, the member ids it added and
/// removed. What a stream handler reads off the new image.
pub const CHANGE: &str = "change";
/// The entry of the [`CHANGE`] map naming the write (`put`, `patch`; `create` on a new group's
/// initial members): what tells a PUT from a PATCH on the stream.
pub const CHANGE_WRITE: &str = "kind";
/// Present (the request id) while a member change too large for one transaction is being
/// applied; see `docs/dynamodb.md`, "Member changes".
pub const PENDING: &str = "pending";

/// The counter shard's signed number; the shards of a kind sum to the number of resources.
pub const COUNT: &str = "n";
/// Shards of a resource counter. Each create or delete adds to one shard picked at random, so
/// concurrent writers rarely touch the same item (two transactions on one item conflict);
/// reading sums them all with one `Query` of a partition that stays under 1 KB.
pub const COUNTER_SHARDS: u32 = 16;

/// Sort key of the lookup item of a user's second and later work emails: `USER#<id>`; the
/// item lives in partition `T#t#EMAIL#<folded>` and carries gsi3pk so GSI3 lists it next to
/// the users whose first work email it is.
pub fn email_sk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// Sort-key prefix of membership items inside a group's partition.
pub const MEMBER_PREFIX: &str = "MEMBER#";
/// Sort key of a unique guard.
pub const GUARD_SK: &str = "UNIQUE";

/// `USER` / `GROUP`: the kind's key word, also the resource item's sort key.
pub fn kind_word(kind: ResourceKind) -> &'static str {
    kind.descriptor().key_word
}

/// `T#<t>#USER#<id>` / `T#<t>#GROUP#<id>`: the partition of a resource (and of a group's
/// membership items).
pub fn resource_pk(tenant: &TenantId, kind: ResourceKind, id: &str) -> String {
    format!("T#{tenant}#{}#{id}", kind_word(kind))
}

/// `USER` / `GROUP`: the sort key of a resource item.
pub fn resource_sk(kind: ResourceKind) -> &'static str {
    kind_word(kind)
}

/// `T#<t>#USERS` / `T#<t>#GROUPS`: the GSI1 partition listing a kind.
pub fn list_pk(tenant: &TenantId, kind: ResourceKind) -> String {
    format!("T#{tenant}#{}S", kind_word(kind))
}

/// `T#<t>#COUNT#USER` / `T#<t>#COUNT#GROUP`: the partition of a kind's counter shards.
pub fn counter_pk(tenant: &TenantId, kind: ResourceKind) -> String {
    format!("T#{tenant}#COUNT#{}", kind_word(kind))
}

/// `SHARD#<n>`: the sort key of one counter shard.
pub fn counter_sk(shard: u32) -> String {
    format!("SHARD#{shard}")
}

/// `MEMBER#<uid>`: the sort key of a membership item.
pub fn member_sk(user_id: &str) -> String {
    format!("{MEMBER_PREFIX}{user_id}")
}

/// `T#<t>#USER#<uid>#GROUPS`: the GSI1 partition of a user's memberships (reverse lookup).
pub fn user_groups_pk(tenant: &TenantId, user_id: &str) -> String {
    format!("T#{tenant}#USER#{user_id}#GROUPS")
}

/// `T#<t>#UNIQUE#USER#<folded>`: the guard holding a unique name.
pub fn guard_pk(tenant: &TenantId, kind: ResourceKind, folded: &str) -> String {
    format!("T#{tenant}#UNIQUE#{}#{folded}", kind_word(kind))
}

/// `T#<t>#EXTID#USER#<externalId>`: GSI2 partition; users and groups apart, since the same
/// client id may name a user and a group.
pub fn external_id_pk(tenant: &TenantId, kind: ResourceKind, external_id: &str) -> String {
    format!("T#{tenant}#EXTID#{}#{external_id}", kind_word(kind))
}

/// `T#<t>#EMAIL#<folded>`: GSI3 partition (users only).
pub fn work_email_pk(tenant: &TenantId, folded: &str) -> String {
    format!("T#{tenant}#EMAIL#{folded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        let t = TenantId::parse("acme").unwrap();
        let rows = [
            (
                "user pk",
                resource_pk(&t, ResourceKind::User, "u1"),
                "T#acme#USER#u1",
            ),
            (
                "group pk",
                resource_pk(&t, ResourceKind::Group, "g1"),
                "T#acme#GROUP#g1",
            ),
            (
                "users list",
                list_pk(&t, ResourceKind::User),
                "T#acme#USERS",
            ),
            (
                "groups list",
                list_pk(&t, ResourceKind::Group),
                "T#acme#GROUPS",
            ),
            ("member sk", member_sk("u1"), "MEMBER#u1"),
            (
                "user counter",
                counter_pk(&t, ResourceKind::User),
                "T#acme#COUNT#USER",
            ),
            ("counter shard", counter_sk(3), "SHARD#3"),
            ("reverse", user_groups_pk(&t, "u1"), "T#acme#USER#u1#GROUPS"),
            (
                "guard",
                guard_pk(&t, ResourceKind::User, "bob"),
                "T#acme#UNIQUE#USER#bob",
            ),
            (
                "extid",
                external_id_pk(&t, ResourceKind::Group, "E1"),
                "T#acme#EXTID#GROUP#E1",
            ),
            ("email", work_email_pk(&t, "a@b.c"), "T#acme#EMAIL#a@b.c"),
        ];
        for (name, got, want) in rows {
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn member_items_never_land_in_the_listing_partition() {
        let t = TenantId::default();
        assert_ne!(user_groups_pk(&t, "x"), list_pk(&t, ResourceKind::User));
    }
}
