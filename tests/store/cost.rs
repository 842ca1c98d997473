//! The exact DynamoDB calls each store operation costs (the table in docs/dynamodb.md). These
//! pin the data model's promises: indexed lookups in O(1) calls, an update without a rename is
//! one `PutItem`, and member changes never read the member list.

use std::future::Future;

use scim_lambda::scim::schema::ResourceKind::{Group, User};
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::store::dynamo::items::member_item;
use scim_lambda::store::{Call, CallCounts, Lookup, MemberChange, PageRequest, Query, Store};
use serde_json::json;

use crate::helpers::{dynamo_client, group, new_id, next, tenant, user, user_with};

/// The calls `op` makes.
async fn cost<T>(s: &DynamoStore, op: impl Future<Output = T>) -> (T, CallCounts) {
    let before = s.calls().snapshot();
    let out = op.await;
    (out, s.calls().snapshot().since(&before))
}

fn query(lookup: Lookup, count: usize) -> Query {
    Query {
        lookup,
        filter: None,
        sort: None,
        page: PageRequest::Index {
            start_index: std::num::NonZeroU64::MIN,
            count,
        },
    }
}

fn add(ids: &[String]) -> MemberChange {
    MemberChange {
        add: ids.to_vec(),
        ..MemberChange::default()
    }
}

async fn users(s: &DynamoStore, n: usize, prefix: &str) -> Vec<String> {
    let t = tenant();
    let mut ids = Vec::new();
    for i in 0..n {
        let u = user(&format!("{prefix}{i}"));
        s.create(&t, User, &u.clone(), &[]).await.unwrap();
        ids.push(u.id);
    }
    ids
}

#[tokio::test]
async fn each_operation_costs_the_documented_calls() {
    let Some((s, _)) = dynamo_client().await else {
        return;
    };
    let t = tenant();
    let mut table = Vec::new();
    let mut row = |name: &str, got: CallCounts, want: &str| {
        table.push(format!("| {name} | {got} |"));
        assert_eq!(got.to_string(), want, "{name}");
    };

    let u = user_with("cost", Some("C-1"), Some("cost@example.com"));
    let (r, c) = cost(&s, s.create(&t, User, &u.clone(), &[])).await;
    r.unwrap();
    row("create user", c, "TransactWriteItems=1");

    let (_, c) = cost(&s, s.get(&t, User, &u.id)).await;
    row("get", c, "GetItem=1");

    let (p, c) = cost(
        &s,
        s.query(&t, User, &query(Lookup::Unique("cost".into()), 10)),
    )
    .await;
    assert_eq!(p.unwrap().total, 1);
    row("userName eq (hit)", c, "GetItem=2");

    let (p, c) = cost(
        &s,
        s.query(&t, User, &query(Lookup::Unique("none".into()), 10)),
    )
    .await;
    assert_eq!(p.unwrap().total, 0);
    row("userName eq (miss)", c, "GetItem=1");

    let (p, c) = cost(
        &s,
        s.query(&t, User, &query(Lookup::ExternalId("C-1".into()), 10)),
    )
    .await;
    assert_eq!(p.unwrap().total, 1);
    row("externalId eq", c, "Query=1");

    let (p, c) = cost(
        &s,
        s.query(
            &t,
            User,
            &query(Lookup::WorkEmail("cost@example.com".into()), 10),
        ),
    )
    .await;
    assert_eq!(p.unwrap().total, 1);
    row("work email eq", c, "Query=1");

    let v2 = next(&u, "title", json!("x"));
    let (r, c) = cost(
        &s,
        s.update(&t, User, &v2.clone(), 1, &MemberChange::default()),
    )
    .await;
    r.unwrap();
    row("update, same userName", c, "PutItem=1");

    let v3 = next(&v2, "userName", json!("cost-renamed"));
    let (r, c) = cost(
        &s,
        s.update(&t, User, &v3.clone(), 2, &MemberChange::default()),
    )
    .await;
    r.unwrap();
    row(
        "update with rename",
        c,
        "GetItem=1 PutItem=1 TransactWriteItems=1",
    );

    let members = users(&s, 100, "m").await;
    let g = group("cost group");
    s.create(&t, Group, &g.clone(), &[]).await.unwrap();
    let g2 = next(&g, "displayName", json!("cost group"));
    let (r, c) = cost(
        &s,
        s.update(&t, Group, &g2.clone(), 1, &add(&members[..10])),
    )
    .await;
    r.unwrap();
    // A member change beside a document change first reads which of the named ids are
    // members (one consistent BatchGetItem), so the change records only real additions.
    row("add 10 members", c, "BatchGetItem=1 TransactWriteItems=1");

    let g3 = next(&g2, "displayName", json!("cost group"));
    let (r, c) = cost(&s, s.update(&t, Group, &g3.clone(), 2, &add(&members))).await;
    r.unwrap();
    // Past one transaction: the named ids are read as member items (the 10 added above are
    // members already and are dropped), the 90 new users are checked, the group write commits
    // the change (recorded as pending), the 90 member puts go in one chunk, and the pending
    // mark is removed.
    row(
        "add 100 members, 10 of them members already",
        c,
        "BatchGetItem=2 PutItem=1 UpdateItem=1 TransactWriteItems=1",
    );

    // A member-only change (PATCH add/remove) first reads which of the named ids are members
    // (one consistent BatchGetItem): re-adding a member changes nothing, writes nothing and
    // keeps the version.
    let (r, c) = cost(
        &s,
        s.update_members(&t, &g.id, &add(&members[..1]), None, "2026-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(r.unwrap().version, 3);
    row(
        "member-only re-add of a member",
        c,
        "GetItem=1 BatchGetItem=1",
    );
    // A real change bumps the version in its transaction and reads the group back.
    let newcomer = user("newcomer");
    s.create(&t, User, &newcomer.clone(), &[]).await.unwrap();
    let (r, c) = cost(
        &s,
        s.update_members(
            &t,
            &g.id,
            &add(std::slice::from_ref(&newcomer.id)),
            None,
            "2026-01-01T00:00:00Z",
        ),
    )
    .await;
    assert_eq!(r.unwrap().version, 4);
    row(
        "member-only add of 1",
        c,
        "GetItem=1 BatchGetItem=1 TransactWriteItems=1",
    );
    let g3 = s.get(&t, Group, &g.id).await.unwrap().unwrap();

    let g4 = next(&g3, "displayName", json!("cost group"));
    let remove = MemberChange {
        remove: vec![members[0].clone()],
        ..MemberChange::default()
    };
    let (r, c) = cost(&s, s.update(&t, Group, &g4, 4, &remove)).await;
    r.unwrap();
    row("remove a member", c, "BatchGetItem=1 TransactWriteItems=1");

    let (m, c) = cost(&s, s.members(&t, &g.id, 50)).await;
    assert!(m.unwrap().truncated);
    // A snapshot: the group item before and after the member items, so no reader sees half
    // of a change.
    row("first 50 members", c, "GetItem=2 Query=1");

    let leaver = user("leaver");
    s.create(&t, User, &leaver.clone(), &[]).await.unwrap();
    for i in 0..3 {
        s.create(
            &t,
            Group,
            &group(&format!("lg{i}")),
            std::slice::from_ref(&leaver.id),
        )
        .await
        .unwrap();
    }
    let (r, c) = cost(&s, s.delete(&t, User, &leaver.id, None)).await;
    r.unwrap();
    row(
        "delete a user in 3 groups",
        c,
        "GetItem=1 Query=1 TransactWriteItems=1 BatchWriteItem=1",
    );

    // The total comes from the counter (one Query of 16 small shards), not a COUNT query.
    let (p, c) = cost(&s, s.query(&t, User, &query(Lookup::All, 10))).await;
    let p = p.unwrap();
    assert_eq!(p.records.len(), 10);
    row("list page (count=10)", c, "Query=2");
    let (next, c) = cost(
        &s,
        s.query(
            &t,
            User,
            &Query {
                page: PageRequest::Cursor {
                    after: p.records.last().map(|r| r.id.clone()),
                    count: 10,
                },
                ..query(Lookup::All, 10)
            },
        ),
    )
    .await;
    assert_eq!(next.unwrap().records.len(), 10);
    row("cursor page (count=10)", c, "Query=2");

    let (p, c) = cost(
        &s,
        s.query(&t, Group, &query(Lookup::HasMember(members[5].clone()), 10)),
    )
    .await;
    assert_eq!(p.unwrap().total, 1);
    row("groups with member", c, "BatchGetItem=1 Query=1");

    eprintln!("| operation | calls |\n|---|---|\n{}", table.join("\n"));
}

#[tokio::test]
async fn sequential_pages_read_their_own_items_not_everything_before_them() {
    let Some((s, _)) = dynamo_client().await else {
        return;
    };
    let t = tenant();
    users(&s, 300, "pg").await;
    let index_page = |start: u64| Query {
        page: PageRequest::Index {
            start_index: std::num::NonZeroU64::new(start).unwrap(),
            count: 50,
        },
        ..query(Lookup::All, 50)
    };
    let read = |s: &DynamoStore| s.calls().items_read();

    // GIVEN pages served in sequence THEN each reads its own 50 items, in 2 queries (the
    // counter and the page), whatever its start index.
    let mut seen = Vec::new();
    for start in (1..=300).step_by(50) {
        let before = read(&s);
        let (p, c) = cost(&s, s.query(&t, User, &index_page(start))).await;
        let p = p.unwrap();
        assert_eq!((p.total, p.records.len()), (300, 50), "start {start}");
        assert_eq!(c.to_string(), "Query=2", "start {start}");
        assert_eq!(read(&s) - before, 50, "items read for start {start}");
        seen.extend(p.records.into_iter().map(|r| r.id));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        (seen.len(), sorted),
        (300, seen.clone()),
        "each once, in id order"
    );

    // WHEN the checkpoints are gone (another instance, or after a write) THEN the last page
    // reads everything before it: O(start index), what index paging costs without them.
    s.checkpoints().forget(&t, User);
    let before = read(&s);
    s.query(&t, User, &index_page(251)).await.unwrap();
    assert_eq!(read(&s) - before, 300);

    // Cursor pages read their page plus one item (to know whether another page follows).
    let before = read(&s);
    let p = s
        .query(
            &t,
            User,
            &Query {
                page: PageRequest::Cursor {
                    after: Some(seen[199].clone()),
                    count: 50,
                },
                ..query(Lookup::All, 50)
            },
        )
        .await
        .unwrap();
    assert_eq!(p.records.first().map(|r| &r.id), Some(&seen[200]));
    assert_eq!(read(&s) - before, 51);
    eprintln!(
        "300 users: sequential index pages read 50 items each; a cold startIndex=251 reads 300"
    );
}

#[tokio::test]
async fn adding_members_costs_the_same_whatever_the_group_size() {
    let Some((s, client)) = dynamo_client().await else {
        return;
    };
    let t = tenant();
    let adds = users(&s, 50, "new").await;

    let small = group("small");
    s.create(&t, Group, &small.clone(), &users(&s, 10, "old").await)
        .await
        .unwrap();

    // GIVEN a group of 10,000 members, written directly in batches (the members need not be
    // real users for this: adding never reads the existing list).
    let big = group("big");
    s.create(&t, Group, &big.clone(), &[]).await.unwrap();
    let started = std::time::Instant::now();
    let items: Vec<_> = (0..10_000)
        .map(|_| member_item(&t, &big.id, &new_id()))
        .collect();
    for batch in items.chunks(25) {
        let requests = batch
            .iter()
            .map(|item| {
                let put = aws_sdk_dynamodb::types::PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .unwrap();
                aws_sdk_dynamodb::types::WriteRequest::builder()
                    .put_request(put)
                    .build()
            })
            .collect();
        let out = client
            .batch_write_item()
            .request_items(s.table(), requests)
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_items.unwrap_or_default().is_empty());
    }
    eprintln!("seeded 10,000 member items in {:?}", started.elapsed());
    assert!(s.members(&t, &big.id, 0).await.unwrap().truncated);

    // WHEN 50 members are added to each THEN both cost exactly the same calls.
    let (r, small_cost) = cost(
        &s,
        s.update(
            &t,
            Group,
            &next(&small, "displayName", json!("small")),
            1,
            &add(&adds),
        ),
    )
    .await;
    r.unwrap();
    let started = std::time::Instant::now();
    let (r, big_cost) = cost(
        &s,
        s.update(
            &t,
            Group,
            &next(&big, "displayName", json!("big")),
            1,
            &add(&adds),
        ),
    )
    .await;
    r.unwrap();
    eprintln!(
        "adding to the big group took {:?} on the emulator",
        started.elapsed()
    );
    eprintln!("add 50 members: small group {small_cost}, 10,000-member group {big_cost}");
    assert_eq!(small_cost, big_cost);
    // 50 additions need 100 actions with their user checks, one more than a transaction
    // holds beside the group write: read as member items in one BatchGetItem (which are
    // already members), checked as users in another, committed by the group's PutItem,
    // written in one chunk, finished by one UpdateItem.
    assert_eq!(big_cost.get(Call::TransactWriteItems), 1);
    assert_eq!(big_cost.total(), 5);
    // The 50 new members are there (spot-checked through the reverse index: the emulator
    // scans the whole table for every index query).
    for uid in [&adds[0], &adds[25], &adds[49]] {
        let groups = s.groups_of(&t, uid, 10).await.unwrap().ids;
        assert!(groups.contains(&big.id) && groups.contains(&small.id));
    }
}
