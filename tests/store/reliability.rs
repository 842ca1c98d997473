//! Reliability under refusal, size and concurrency: every refused write leaves no trace, every
//! accepted member change is all-or-nothing to readers, racing writes of one group end in a
//! state some order of them explains. Written once over `S: Store`, run on both stores.
//!
//! Races run `TRIALS` times: a race that goes wrong in 10% of runs slips through all 30 with
//! probability 0.9^30 ≈ 4%, and the suites run on both stores and on every CI run.

use std::collections::BTreeSet;
use std::sync::Arc;

use scim_lambda::scim::discovery::MAX_MEMBERS_PER_REQUEST;
use scim_lambda::scim::filter::Filter;
use scim_lambda::scim::schema::ResourceKind::{Group, User};
use scim_lambda::store::limits::MAX_KEY_VALUE_BYTES;
use scim_lambda::store::{
    Budget, Limit, Lookup, MemberChange, PageRequest, Query, Record, Store, StoreError, TenantId,
};
use serde_json::json;

use crate::helpers::{group, new_id, next, tenant, user, user_with};

/// Runs of each race.
const TRIALS: usize = 30;
/// Members of the large changes: more than one DynamoDB transaction holds, what Entra sends.
const LARGE: usize = 300;

const MODIFIED: &str = "2026-01-01T00:00:00Z";

fn query(lookup: Lookup) -> Query {
    Query {
        lookup,
        filter: None,
        sort: None,
        page: PageRequest::Index {
            start_index: std::num::NonZeroU64::MIN,
            count: 100,
        },
    }
}

fn adds(ids: &[String]) -> MemberChange {
    MemberChange {
        add: ids.to_vec(),
        ..MemberChange::default()
    }
}

fn replace(ids: &[String]) -> MemberChange {
    MemberChange {
        clear: true,
        add: ids.to_vec(),
        remove: Vec::new(),
    }
}

async fn members<S: Store>(s: &S, t: &TenantId, gid: &str) -> BTreeSet<String> {
    let m = s.members(t, gid, 5000).await.unwrap();
    assert!(!m.truncated);
    m.ids.into_iter().collect()
}

async fn users<S: Store>(s: &S, t: &TenantId, n: usize, prefix: &str) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let u = user(&format!("{prefix}-{i}"));
        s.create(t, User, &u, &[]).await.unwrap();
        ids.push(u.id);
    }
    ids.sort();
    ids
}

async fn version<S: Store>(s: &S, t: &TenantId, gid: &str) -> u64 {
    s.get(t, Group, gid).await.unwrap().unwrap().version
}

/// A PUT as the service runs it: read, replace at the version read, again on a lost race.
async fn put_members<S: Store>(s: &S, t: &TenantId, gid: &str, ids: &[String]) {
    for _ in 0..50 {
        let current = s.get(t, Group, gid).await.unwrap().unwrap();
        let change = replace(ids);
        match s
            .update(
                t,
                Group,
                &next(
                    &current,
                    "displayName",
                    current.doc.to_tree().unwrap()["displayName"].clone(),
                ),
                current.version,
                &change,
            )
            .await
        {
            Ok(()) => return,
            Err(StoreError::VersionMismatch { .. }) => continue,
            Err(e) => panic!("{e:?}"),
        }
    }
    panic!("no progress");
}

pub async fn a_refused_member_change_changes_nothing_at_any_size<S: Store>(s: Arc<S>) {
    let t = tenant();
    let ids = users(&*s, &t, LARGE, "refused").await;
    let mut with_ghost = ids.clone();
    with_ghost.push(new_id());

    // GIVEN a create naming 300 users and one that does not exist THEN nothing is created
    let g = group("Refused");
    let err = s.create(&t, Group, &g, &with_ghost).await.unwrap_err();
    assert!(matches!(err, StoreError::MissingMember { .. }), "{err:?}");
    assert!(s.get(&t, Group, &g.id).await.unwrap().is_none());
    assert!(s.members(&t, &g.id, 10).await.unwrap().ids.is_empty());
    assert!(
        s.query(&t, Group, &query(Lookup::Unique("refused".into())))
            .await
            .unwrap()
            .records
            .is_empty()
    );

    // GIVEN a group with 10 members
    let mut g = group("Refused");
    g.doc.tree_mut().unwrap()["meta"] = json!({"resourceType": "Group", "version": "W/\"1\""});
    s.create(&t, Group, &g, &ids[..10]).await.unwrap();
    let before: BTreeSet<String> = ids[..10].iter().cloned().collect();

    // WHEN an add, a replace (PUT) and an oversized add are refused THEN nothing changed
    let err = s
        .update_members(&t, &g.id, &adds(&with_ghost[10..]), None, MODIFIED)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingMember { .. }), "{err:?}");
    let err = s
        .update(
            &t,
            Group,
            &next(&g, "displayName", json!("Refused")),
            1,
            &replace(&with_ghost),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingMember { .. }), "{err:?}");
    let too_many: Vec<String> = (0..=MAX_MEMBERS_PER_REQUEST).map(|_| new_id()).collect();
    let err = s
        .update_members(&t, &g.id, &adds(&too_many), None, MODIFIED)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge(Limit::Members { count }) if count == MAX_MEMBERS_PER_REQUEST + 1),
        "{err:?}"
    );
    let err = s
        .create(&t, Group, &group("Too big"), &too_many)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge(Limit::Members { .. })),
        "{err:?}"
    );
    assert_eq!(members(&*s, &t, &g.id).await, before);
    assert_eq!(version(&*s, &t, &g.id).await, 1);
    let some_user = &ids[200];
    assert!(s.groups_of(&t, some_user, 10).await.unwrap().ids.is_empty());

    // WHEN 300 members are added, then replaced by 250 THEN each change is whole, one version each
    let r = s
        .update_members(&t, &g.id, &adds(&ids), None, MODIFIED)
        .await
        .unwrap();
    assert_eq!(r.version, 2);
    assert_eq!(r.doc.to_tree().unwrap()["meta"]["version"], "W/\"2\"");
    assert_eq!(r.doc.to_tree().unwrap()["meta"]["lastModified"], MODIFIED);
    assert_eq!(members(&*s, &t, &g.id).await, ids.iter().cloned().collect());
    put_members(&*s, &t, &g.id, &ids[50..]).await;
    assert_eq!(version(&*s, &t, &g.id).await, 3);
    assert_eq!(
        members(&*s, &t, &g.id).await,
        ids[50..].iter().cloned().collect()
    );
    assert!(s.groups_of(&t, &ids[0], 10).await.unwrap().ids.is_empty());
    assert_eq!(
        s.groups_of(&t, some_user, 10).await.unwrap().ids,
        [g.id.clone()]
    );
}

pub async fn a_large_member_change_is_all_or_nothing_to_readers<S: Store>(s: Arc<S>) {
    let t = tenant();
    let ids = users(&*s, &t, LARGE, "atomic").await;
    let g = group("Atomic");
    s.create(&t, Group, &g, &[]).await.unwrap();
    let full: BTreeSet<String> = ids.iter().cloned().collect();
    // GIVEN readers polling the member list WHEN 300 members are added and removed in turn
    // THEN every reader sees the whole list or none of it, never a part.
    let mut observed = 0usize;
    for round in 0..6 {
        let (s2, t2, gid) = (Arc::clone(&s), t.clone(), g.id.clone());
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done2 = Arc::clone(&done);
        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            while !done2.load(std::sync::atomic::Ordering::Relaxed) {
                seen.push(s2.members(&t2, &gid, 5000).await.unwrap().ids.len());
                tokio::task::yield_now().await;
            }
            seen
        });
        let change = if round % 2 == 0 {
            adds(&ids)
        } else {
            MemberChange {
                remove: ids.clone(),
                ..MemberChange::default()
            }
        };
        s.update_members(&t, &g.id, &change, None, MODIFIED)
            .await
            .unwrap();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let seen = reader.await.unwrap();
        observed += seen.len();
        for n in seen {
            assert!(
                n == 0 || n == LARGE,
                "round {round}: a reader saw {n} of {LARGE} members"
            );
        }
        let want = if round % 2 == 0 {
            full.clone()
        } else {
            BTreeSet::new()
        };
        assert_eq!(members(&*s, &t, &g.id).await, want);
    }
    assert_eq!(version(&*s, &t, &g.id).await, 7);
    eprintln!("member snapshots observed during large changes: {observed}");
}

pub async fn concurrent_replaces_end_in_one_of_the_lists<S: Store>(s: Arc<S>) {
    let t = tenant();
    // Lists of 60: more than one DynamoDB transaction holds, where replaces used to mix.
    let ids = users(&*s, &t, 120, "put-race").await;
    let (x, y) = (ids[..60].to_vec(), ids[60..].to_vec());
    let (xs, ys): (BTreeSet<String>, BTreeSet<String>) =
        (x.iter().cloned().collect(), y.iter().cloned().collect());
    for trial in 0..TRIALS {
        let g = group(&format!("Put race {trial}"));
        s.create(&t, Group, &g, &ids[30..90]).await.unwrap();
        let (s1, s2, t1, t2) = (Arc::clone(&s), Arc::clone(&s), t.clone(), t.clone());
        let (g1, g2, x1, y1) = (g.id.clone(), g.id.clone(), x.clone(), y.clone());
        let a = tokio::spawn(async move { put_members(&*s1, &t1, &g1, &x1).await });
        let b = tokio::spawn(async move { put_members(&*s2, &t2, &g2, &y1).await });
        a.await.unwrap();
        b.await.unwrap();
        let got = members(&*s, &t, &g.id).await;
        assert!(
            got == xs || got == ys,
            "trial {trial}: a mix of both lists ({} members)",
            got.len()
        );
        assert_eq!(version(&*s, &t, &g.id).await, 3, "trial {trial}");
    }
}

pub async fn a_delete_racing_member_changes_leaves_no_membership<S: Store>(s: Arc<S>) {
    let t = tenant();
    // One small add and one of 60 (more than a transaction holds) race each delete.
    let ids = users(&*s, &t, 62, "del-race").await;
    for trial in 0..TRIALS {
        let g = group(&format!("Delete race {trial}"));
        s.create(&t, Group, &g, &ids[..1]).await.unwrap();
        let changes = [ids[1..2].to_vec(), ids[2..].to_vec()];
        let adders: Vec<_> = changes
            .into_iter()
            .map(|more| {
                let (s1, t1, g1) = (Arc::clone(&s), t.clone(), g.id.clone());
                tokio::spawn(async move {
                    match s1
                        .update_members(&t1, &g1, &adds(&more), None, MODIFIED)
                        .await
                    {
                        Ok(_) | Err(StoreError::NotFound) => {}
                        Err(e) => panic!("{e:?}"),
                    }
                })
            })
            .collect();
        tokio::task::yield_now().await;
        s.delete(&t, Group, &g.id, None).await.unwrap();
        for adder in adders {
            adder.await.unwrap();
        }
        assert!(s.get(&t, Group, &g.id).await.unwrap().is_none());
        assert!(
            s.members(&t, &g.id, 10).await.unwrap().ids.is_empty(),
            "trial {trial}"
        );
        // Spot checks through the reverse index (the emulator scans the table per index query).
        for uid in [&ids[0], &ids[1], &ids[2], &ids[61]] {
            let groups = s.groups_of(&t, uid, 100).await.unwrap().ids;
            assert!(
                !groups.contains(&g.id),
                "trial {trial}: a user still lists the deleted group"
            );
        }
    }
}

pub async fn thirty_concurrent_member_changes_all_succeed<S: Store>(s: Arc<S>) {
    let t = tenant();
    let ids = users(&*s, &t, 30, "thirty").await;
    let g = group("Thirty");
    // Members 0..10 start in the group; concurrently 0..10 are removed and 10..30 added.
    s.create(&t, Group, &g, &ids[..10]).await.unwrap();
    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, uid)| {
            let (s, t, gid, uid) = (Arc::clone(&s), t.clone(), g.id.clone(), uid.clone());
            tokio::spawn(async move {
                let change = if i < 10 {
                    MemberChange {
                        remove: vec![uid],
                        ..MemberChange::default()
                    }
                } else {
                    adds(&[uid])
                };
                s.update_members(&t, &gid, &change, None, MODIFIED).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        members(&*s, &t, &g.id).await,
        ids[10..].iter().cloned().collect()
    );
    assert_eq!(
        version(&*s, &t, &g.id).await,
        31,
        "one version per member change"
    );
}

pub async fn values_past_the_limits_are_refused_before_any_write<S: Store>(s: Arc<S>) {
    let t = tenant();
    let long = "x".repeat(2100);
    let cases: Vec<(&str, Record)> = vec![
        ("userName", user(&long)),
        ("externalId", user_with("ext-long", Some(&long), None)),
        (
            "emails",
            user_with("mail-long", None, Some(&format!("{long}@example.com"))),
        ),
    ];
    for (attribute, record) in cases {
        let err = s.create(&t, User, &record, &[]).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::TooLarge(Limit::KeyValue { attribute: a, .. }) if *a == attribute),
            "{attribute}: {err:?}"
        );
        assert!(
            s.get(&t, User, &record.id).await.unwrap().is_none(),
            "{attribute}"
        );
    }
    let err = s.create(&t, Group, &group(&long), &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooLarge(Limit::KeyValue {
                attribute: "displayName",
                ..
            })
        ),
        "{err:?}"
    );
    // A document past the item limit, on create and on update.
    let mut big = user("big");
    big.doc.tree_mut().unwrap()["title"] = json!("y".repeat(450 * 1024));
    let err = s.create(&t, User, &big, &[]).await.unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge(Limit::Document { .. })),
        "{err:?}"
    );
    let small = user("small");
    s.create(&t, User, &small, &[]).await.unwrap();
    let grown = next(&small, "title", json!("y".repeat(450 * 1024)));
    let err = s
        .update(&t, User, &grown, 1, &MemberChange::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge(Limit::Document { .. })),
        "{err:?}"
    );
    assert_eq!(
        s.get(&t, User, &small.id).await.unwrap().unwrap().version,
        1
    );
    // Lookups of such values find nothing, without an error.
    let too_long = "z".repeat(MAX_KEY_VALUE_BYTES + 1);
    for lookup in [
        Lookup::Unique(too_long.clone()),
        Lookup::ExternalId(too_long.clone()),
        Lookup::WorkEmail(too_long.clone()),
    ] {
        let page = s.query(&t, User, &query(lookup.clone())).await.unwrap();
        assert_eq!(page.total, 0, "{lookup:?}");
    }
}

pub async fn every_work_email_finds_its_user<S: Store>(s: Arc<S>) {
    let t = tenant();
    let mut u = user_with("two-mails", None, Some("first@example.com"));
    u.doc.tree_mut().unwrap()["emails"] = json!([
        {"type": "work", "value": "First@Example.com"},
        {"type": "work", "value": "second@example.com"},
    ]);
    u.keys.work_emails = vec!["first@example.com".into(), "second@example.com".into()];
    s.create(&t, User, &u, &[]).await.unwrap();
    for mail in ["first@example.com", "second@example.com"] {
        let page = s
            .query(&t, User, &query(Lookup::WorkEmail(mail.into())))
            .await
            .unwrap();
        assert_eq!(
            page.records
                .iter()
                .map(|r| r.id.clone())
                .collect::<Vec<_>>(),
            [u.id.clone()],
            "{mail}"
        );
    }
    // WHEN the second email changes THEN the old one no longer finds the user, the new one does
    let mut v2 = next(
        &u,
        "emails",
        json!([
            {"type": "work", "value": "first@example.com"},
            {"type": "work", "value": "third@example.com"},
        ]),
    );
    v2.keys.work_emails = vec!["first@example.com".into(), "third@example.com".into()];
    s.update(&t, User, &v2, 1, &MemberChange::default())
        .await
        .unwrap();
    let found = |mail: &'static str| {
        let s = Arc::clone(&s);
        let t = t.clone();
        async move {
            s.query(&t, User, &query(Lookup::WorkEmail(mail.into())))
                .await
                .unwrap()
                .total
        }
    };
    assert_eq!(found("second@example.com").await, 0);
    assert_eq!(found("third@example.com").await, 1);
    assert_eq!(found("first@example.com").await, 1);
    s.delete(&t, User, &u.id, None).await.unwrap();
    assert_eq!(found("third@example.com").await, 0);
}

pub async fn a_costly_filter_is_refused_not_run<S: Store>(s: Arc<S>) {
    let t = tenant();
    for i in 0..8 {
        let mut u = user(&format!("costly-{i}"));
        u.doc.tree_mut().unwrap()["title"] = json!("a".repeat(200 * 1024));
        s.create(&t, User, &u, &[]).await.unwrap();
    }
    let terms: Vec<String> = (0..60).map(|i| format!("title co \"b{i}\"")).collect();
    let filter = Filter::parse(&terms.join(" or ")).unwrap();
    let q = Query {
        filter: Some(filter),
        ..query(Lookup::All)
    };
    let err = s.query(&t, User, &q).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooMany {
                budget: Budget::Filter { .. }
            }
        ),
        "{err:?}"
    );
    // A filter within the allowance is answered.
    let q = Query {
        filter: Some(Filter::parse("title co \"b\"").unwrap()),
        ..query(Lookup::All)
    };
    assert_eq!(s.query(&t, User, &q).await.unwrap().total, 0);
}
