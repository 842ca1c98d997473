//! Behaviour every store must have, written once over `S: Store`.

use std::collections::BTreeSet;
use std::num::NonZeroU64;
use std::sync::Arc;

use scim_lambda::scim::filter::Filter;
use scim_lambda::scim::path::AttrPath;
use scim_lambda::scim::schema::ResourceKind::{self, Group, User};
use scim_lambda::store::{
    Deleted, Lookup, MemberChange, PageRequest, Query, Sort, Store, StoreError, TenantId,
};
use serde_json::json;

use crate::helpers::{group, new_id, next, tenant, unique_attr, user, user_with};

pub use crate::reliability::*;

fn query(lookup: Lookup) -> Query {
    page(lookup, 1, 100)
}

fn page(lookup: Lookup, start: u64, count: usize) -> Query {
    Query {
        lookup,
        filter: None,
        sort: None,
        page: PageRequest::Index {
            start_index: NonZeroU64::new(start).unwrap(),
            count,
        },
    }
}

fn ids(page: &scim_lambda::store::Page) -> Vec<String> {
    page.records.iter().map(|r| r.id.clone()).collect()
}

fn add(ids: &[&str]) -> MemberChange {
    MemberChange {
        add: ids.iter().map(|s| s.to_string()).collect(),
        ..MemberChange::default()
    }
}

async fn member_set<S: Store>(s: &S, t: &TenantId, gid: &str) -> BTreeSet<String> {
    s.members(t, gid, 1000)
        .await
        .unwrap()
        .ids
        .into_iter()
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

pub async fn create_then_get_returns_the_record<S: Store>(s: Arc<S>) {
    let t = tenant();
    let u = user_with("Alice", Some("E-1"), Some("Alice@Example.com"));
    s.create(&t, User, &u.clone(), &[]).await.unwrap();
    assert_eq!(s.get(&t, User, &u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.get(&t, User, &new_id()).await.unwrap(), None);
    assert_eq!(
        s.get(&t, Group, &u.id).await.unwrap(),
        None,
        "kinds are apart"
    );
}

pub async fn update_requires_the_expected_version<S: Store>(s: Arc<S>) {
    let t = tenant();
    let u = user("bob");
    s.create(&t, User, &u.clone(), &[]).await.unwrap();
    let v2 = next(&u, "title", json!("Engineer"));
    s.update(&t, User, &v2.clone(), 1, &MemberChange::default())
        .await
        .unwrap();
    assert_eq!(s.get(&t, User, &u.id).await.unwrap(), Some(v2.clone()));

    // GIVEN version 2 stored WHEN an update expects version 1 THEN it is refused with the current.
    let stale = next(&u, "title", json!("Manager"));
    let err = s
        .update(&t, User, &stale, 1, &MemberChange::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::VersionMismatch { current: 2 }),
        "{err:?}"
    );
    assert_eq!(s.get(&t, User, &u.id).await.unwrap(), Some(v2));

    let ghost = user("ghost");
    let err = s
        .update(
            &t,
            User,
            &next(&ghost, "title", json!("x")),
            1,
            &MemberChange::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

pub async fn user_names_are_unique_case_insensitively<S: Store>(s: Arc<S>) {
    let t = tenant();
    s.create(&t, User, &user("Carol"), &[]).await.unwrap();
    let err = s.create(&t, User, &user("cAROL"), &[]).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Uniqueness { attribute } if attribute == unique_attr(User)),
        "{err:?}"
    );
    // A group may carry the same name as a user: the kinds have separate guards.
    s.create(&t, Group, &group("carol"), &[]).await.unwrap();
}

pub async fn rename_moves_the_unique_name<S: Store>(s: Arc<S>) {
    let t = tenant();
    let a = user("dave");
    let b = user("erin");
    s.create(&t, User, &a.clone(), &[]).await.unwrap();
    s.create(&t, User, &b.clone(), &[]).await.unwrap();

    // WHEN dave becomes Dave.Smith THEN "dave" is free and "dave.smith" is taken.
    let renamed = next(&a, "userName", json!("Dave.Smith"));
    s.update(&t, User, &renamed.clone(), 1, &MemberChange::default())
        .await
        .unwrap();
    s.create(&t, User, &user("DAVE"), &[]).await.unwrap();
    let err = s
        .create(&t, User, &user("dave.smith"), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Uniqueness { .. }), "{err:?}");

    // Renaming onto a taken name (any case) is refused and changes nothing.
    let clash = next(&b, "userName", json!("DAVE.SMITH"));
    let err = s
        .update(&t, User, &clash, 1, &MemberChange::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Uniqueness { .. }), "{err:?}");
    assert_eq!(s.get(&t, User, &b.id).await.unwrap(), Some(b));

    // A case-only rename keeps the guard.
    let recased = next(&renamed, "userName", json!("dave.SMITH"));
    s.update(&t, User, &recased, 2, &MemberChange::default())
        .await
        .unwrap();
    let found = s
        .query(&t, User, &query(Lookup::Unique("dave.smith".into())))
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![a.id]);
}

pub async fn delete_frees_the_name_and_checks_the_version<S: Store>(s: Arc<S>) {
    let t = tenant();
    let u = user("frank");
    s.create(&t, User, &u.clone(), &[]).await.unwrap();
    let err = s.delete(&t, User, &u.id, Some(7)).await.unwrap_err();
    assert!(
        matches!(err, StoreError::VersionMismatch { current: 1 }),
        "{err:?}"
    );
    assert_eq!(
        s.delete(&t, User, &u.id, Some(1)).await.unwrap(),
        Deleted::Deleted
    );
    assert_eq!(s.get(&t, User, &u.id).await.unwrap(), None);
    assert_eq!(
        s.delete(&t, User, &u.id, None).await.unwrap(),
        Deleted::NotFound
    );
    s.create(&t, User, &user("Frank"), &[]).await.unwrap();
}

pub async fn group_display_names_are_unique<S: Store>(s: Arc<S>) {
    let t = tenant();
    s.create(&t, Group, &group("Admins"), &[]).await.unwrap();
    let err = s
        .create(&t, Group, &group("ADMINS"), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Uniqueness {
                attribute: "displayName"
            }
        ),
        "{err:?}"
    );
}

pub async fn external_id_is_indexed_but_not_unique<S: Store>(s: Arc<S>) {
    let t = tenant();
    let a = user_with("g1", Some("EXT"), None);
    let b = user_with("g2", Some("EXT"), None);
    s.create(&t, User, &a.clone(), &[]).await.unwrap();
    s.create(&t, User, &b.clone(), &[]).await.unwrap();
    s.create(&t, User, &user_with("g3", Some("ext"), None), &[])
        .await
        .unwrap();
    let found = s
        .query(&t, User, &query(Lookup::ExternalId("EXT".into())))
        .await
        .unwrap();
    let mut want = vec![a.id, b.id];
    want.sort();
    assert_eq!(ids(&found), want, "externalId is caseExact");
    assert_eq!(found.total, 2);
    let none = s
        .query(&t, Group, &query(Lookup::ExternalId("EXT".into())))
        .await
        .unwrap();
    assert_eq!(none.total, 0, "users and groups are indexed apart");
}

pub async fn every_lookup_finds_its_resource<S: Store>(s: Arc<S>) {
    let t = tenant();
    let u = user_with("Heidi", Some("H-1"), Some("Heidi@Example.COM"));
    let g = group("Heidi's group");
    s.create(&t, User, &u.clone(), &[]).await.unwrap();
    s.create(&t, Group, &g.clone(), std::slice::from_ref(&u.id))
        .await
        .unwrap();
    let cases = [
        ("id", User, Lookup::Id(u.id.clone()), vec![u.id.clone()]),
        (
            "unique",
            User,
            Lookup::Unique("heidi".into()),
            vec![u.id.clone()],
        ),
        ("unique miss", User, Lookup::Unique("nobody".into()), vec![]),
        (
            "externalId",
            User,
            Lookup::ExternalId("H-1".into()),
            vec![u.id.clone()],
        ),
        (
            "email",
            User,
            Lookup::WorkEmail("heidi@example.com".into()),
            vec![u.id.clone()],
        ),
        (
            "email miss",
            User,
            Lookup::WorkEmail("x@example.com".into()),
            vec![],
        ),
        (
            "hasMember",
            Group,
            Lookup::HasMember(u.id.clone()),
            vec![g.id.clone()],
        ),
        (
            "group unique",
            Group,
            Lookup::Unique("heidi's group".into()),
            vec![g.id.clone()],
        ),
        ("all", User, Lookup::All, vec![u.id.clone()]),
    ];
    for (name, kind, lookup, want) in cases {
        let got = s.query(&t, kind, &query(lookup)).await.unwrap();
        assert_eq!(ids(&got), want, "{name}");
        assert_eq!(got.total, want.len() as u64, "{name}");
    }
    let fetched = s
        .query(&t, User, &query(Lookup::Id(u.id.clone())))
        .await
        .unwrap();
    assert_eq!(fetched.records, vec![u], "lookups return the full record");
}

pub async fn filter_and_sort_apply_to_listings<S: Store>(s: Arc<S>) {
    let t = tenant();
    for name in ["zed", "Amy", "bea", "Abe"] {
        s.create(&t, User, &user(name), &[]).await.unwrap();
    }
    let mut q = query(Lookup::All);
    q.filter = Some(Filter::parse(r#"userName sw "a""#).unwrap());
    q.sort = Some(Sort {
        by: AttrPath::new("userName"),
        descending: false,
    });
    let got = s.query(&t, User, &q).await.unwrap();
    let names: Vec<_> = got
        .records
        .iter()
        .map(|r| r.doc.to_tree().unwrap()["userName"].clone())
        .collect();
    assert_eq!(names, vec![json!("Abe"), json!("Amy")]);
    assert_eq!(got.total, 2);

    q.filter = None;
    q.sort = Some(Sort {
        by: AttrPath::new("userName"),
        descending: true,
    });
    let got = s.query(&t, User, &q).await.unwrap();
    let names: Vec<_> = got
        .records
        .iter()
        .map(|r| r.doc.to_tree().unwrap()["userName"].clone())
        .collect();
    assert_eq!(
        names,
        vec![json!("zed"), json!("bea"), json!("Amy"), json!("Abe")]
    );
}

pub async fn paging_has_correct_totals_and_stable_order<S: Store>(s: Arc<S>) {
    let t = tenant();
    let mut all = Vec::new();
    for i in 0..7 {
        let u = user(&format!("pager{i}"));
        all.push(u.id.clone());
        s.create(&t, User, &u, &[]).await.unwrap();
    }
    all.sort();
    let mut seen = Vec::new();
    for start in [1, 4, 7] {
        let p = s
            .query(&t, User, &page(Lookup::All, start, 3))
            .await
            .unwrap();
        assert_eq!(p.total, 7, "start {start}");
        seen.extend(ids(&p));
    }
    assert_eq!(seen, all, "pages partition the list in id order");
    let totals = s.query(&t, User, &page(Lookup::All, 1, 0)).await.unwrap();
    assert_eq!((totals.total, totals.records.len()), (7, 0));
    let beyond = s.query(&t, User, &page(Lookup::All, 50, 10)).await.unwrap();
    assert_eq!((beyond.total, beyond.records.len()), (7, 0));
    let mut filtered = page(Lookup::All, 2, 2);
    filtered.filter = Some(Filter::parse(r#"userName sw "pager""#).unwrap());
    let p = s.query(&t, User, &filtered).await.unwrap();
    assert_eq!((p.total, ids(&p)), (7, all[1..3].to_vec()));
}

pub async fn members_add_remove_clear_and_are_idempotent<S: Store>(s: Arc<S>) {
    let t = tenant();
    let users: Vec<_> = (0..4).map(|i| user(&format!("member{i}"))).collect();
    for u in &users {
        s.create(&t, User, &u.clone(), &[]).await.unwrap();
    }
    let [a, b, c, d] = [0, 1, 2, 3].map(|i| users[i].id.as_str());
    let g = group("team");
    s.create(&t, Group, &g.clone(), &[a.to_string()])
        .await
        .unwrap();
    assert_eq!(member_set(&*s, &t, &g.id).await, set(&[a]));

    let mut cur = g.clone();
    let mut step = |change: MemberChange| {
        let expected = cur.version;
        cur = next(&cur, "displayName", json!("team"));
        (cur.clone(), expected, change)
    };
    for (record, expected, change) in [
        step(add(&[b, c, a])),
        step(add(&[b])),
        step(MemberChange {
            remove: vec![a.into(), d.into()],
            ..MemberChange::default()
        }),
        step(MemberChange {
            remove: vec![a.into()],
            ..MemberChange::default()
        }),
    ] {
        s.update(&t, Group, &record, expected, &change)
            .await
            .unwrap();
    }
    assert_eq!(member_set(&*s, &t, &g.id).await, set(&[b, c]));
    let capped = s.members(&t, &g.id, 1).await.unwrap();
    assert_eq!((capped.ids.len(), capped.truncated), (1, true));
    assert_eq!(
        s.groups_of(&t, b, 10).await.unwrap().ids,
        vec![g.id.clone()]
    );

    // clear + add replaces the whole list.
    let (record, expected, _) = step(MemberChange::default());
    let replace = MemberChange {
        clear: true,
        add: vec![c.into(), d.into()],
        remove: vec![],
    };
    s.update(&t, Group, &record, expected, &replace)
        .await
        .unwrap();
    assert_eq!(member_set(&*s, &t, &g.id).await, set(&[c, d]));
    assert!(s.groups_of(&t, b, 10).await.unwrap().ids.is_empty());
    let stored = s.get(&t, Group, &g.id).await.unwrap().unwrap();
    assert_eq!(
        stored.version, cur.version,
        "member changes bump the group's version"
    );
}

pub async fn missing_members_are_refused<S: Store>(s: Arc<S>) {
    let t = tenant();
    let u = user("present");
    s.create(&t, User, &u.clone(), &[]).await.unwrap();
    let ghost = new_id();
    let g = group("with ghost");
    let err = s
        .create(&t, Group, &g.clone(), &[u.id.clone(), ghost.clone()])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::MissingMember { id } if *id == ghost),
        "{err:?}"
    );
    assert_eq!(
        s.get(&t, Group, &g.id).await.unwrap(),
        None,
        "nothing was written"
    );

    s.create(&t, Group, &g.clone(), &[]).await.unwrap();
    let err = s
        .update(
            &t,
            Group,
            &next(&g, "displayName", json!("with ghost")),
            1,
            &add(&[&u.id, &ghost]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::MissingMember { id } if *id == ghost),
        "{err:?}"
    );
    assert!(member_set(&*s, &t, &g.id).await.is_empty());
    assert_eq!(s.get(&t, Group, &g.id).await.unwrap().unwrap().version, 1);
}

pub async fn deleting_a_user_removes_its_memberships<S: Store>(s: Arc<S>) {
    let t = tenant();
    let (u, other) = (user("leaver"), user("stayer"));
    s.create(&t, User, &u.clone(), &[]).await.unwrap();
    s.create(&t, User, &other.clone(), &[]).await.unwrap();
    let groups: Vec<_> = (0..3).map(|i| group(&format!("g{i}"))).collect();
    for g in &groups {
        s.create(&t, Group, &g.clone(), &[u.id.clone(), other.id.clone()])
            .await
            .unwrap();
    }
    assert_eq!(
        s.delete(&t, User, &u.id, None).await.unwrap(),
        Deleted::Deleted
    );
    for g in &groups {
        assert_eq!(member_set(&*s, &t, &g.id).await, set(&[&other.id]));
    }
    assert!(s.groups_of(&t, &u.id, 10).await.unwrap().ids.is_empty());
    let has = s
        .query(&t, Group, &query(Lookup::HasMember(u.id.clone())))
        .await
        .unwrap();
    assert_eq!(has.total, 0);
}

pub async fn deleting_a_group_removes_its_members<S: Store>(s: Arc<S>) {
    let t = tenant();
    let u = user("member of deleted");
    s.create(&t, User, &u.clone(), &[]).await.unwrap();
    let g = group("doomed");
    s.create(&t, Group, &g.clone(), std::slice::from_ref(&u.id))
        .await
        .unwrap();
    s.delete(&t, Group, &g.id, None).await.unwrap();
    assert!(s.groups_of(&t, &u.id, 10).await.unwrap().ids.is_empty());
    assert!(s.members(&t, &g.id, 10).await.unwrap().ids.is_empty());
    s.create(&t, Group, &group("DOOMED"), &[]).await.unwrap();
}

pub async fn concurrent_creates_of_one_name_let_exactly_one_win<S: Store>(s: Arc<S>) {
    let t = tenant();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (s, t) = (s.clone(), t.clone());
            tokio::spawn(async move { s.create(&t, User, &user("Racer"), &[]).await })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Uniqueness { .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won, 1);
    let all = s.query(&t, User, &query(Lookup::All)).await.unwrap();
    assert_eq!(all.total, 1);
}

pub async fn concurrent_member_adds_all_survive<S: Store>(s: Arc<S>) {
    let t = tenant();
    let g = group("crowd");
    s.create(&t, Group, &g.clone(), &[]).await.unwrap();
    let mut users = Vec::new();
    for i in 0..10 {
        let u = user(&format!("crowd{i}"));
        s.create(&t, User, &u.clone(), &[]).await.unwrap();
        users.push(u.id);
    }
    // Each task behaves like the service: read, write with the read version, retry on conflict.
    let tasks: Vec<_> = users
        .iter()
        .cloned()
        .map(|uid| {
            let (s, t, gid) = (s.clone(), t.clone(), g.id.clone());
            tokio::spawn(async move {
                for _ in 0..50 {
                    let cur = s.get(&t, Group, &gid).await.unwrap().unwrap();
                    let change = add(&[&uid]);
                    match s
                        .update(
                            &t,
                            Group,
                            &next(&cur, "displayName", json!("crowd")),
                            cur.version,
                            &change,
                        )
                        .await
                    {
                        Ok(()) => return,
                        Err(StoreError::VersionMismatch { .. }) => continue,
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
                panic!("no progress");
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let want: BTreeSet<String> = users.into_iter().collect();
    assert_eq!(member_set(&*s, &t, &g.id).await, want);
    assert_eq!(s.get(&t, Group, &g.id).await.unwrap().unwrap().version, 11);
}

fn cursor(lookup: Lookup, after: Option<String>, count: usize) -> Query {
    Query {
        lookup,
        filter: None,
        sort: None,
        page: PageRequest::Cursor { after, count },
    }
}

async fn total<S: Store>(s: &S, t: &TenantId) -> u64 {
    s.query(t, User, &page(Lookup::All, 1, 0))
        .await
        .unwrap()
        .total
}

pub async fn counts_stay_exact_under_concurrent_creates_and_deletes<S: Store>(s: Arc<S>) {
    let t = TenantId::parse("counting").unwrap();
    assert_eq!(total(&*s, &t).await, 0, "an empty tenant counts zero");
    // GIVEN 30 users created concurrently, and 10 creates racing for names already taken
    let users: Vec<_> = (0..30).map(|i| user(&format!("count{i}"))).collect();
    let mut tasks = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let (s1, t1, u) = (Arc::clone(&s), t.clone(), u.clone());
        tasks.push(tokio::spawn(
            async move { s1.create(&t1, User, &u, &[]).await },
        ));
        if i % 3 == 0 {
            let (s2, t2) = (Arc::clone(&s), t.clone());
            let dup = user(&format!("COUNT{i}"));
            tasks.push(tokio::spawn(async move {
                s2.create(&t2, User, &dup, &[]).await
            }));
        }
    }
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => {}
            Err(StoreError::Uniqueness { .. }) => refused += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    // Either the original or its duplicate won each race: 30 users exist either way.
    assert_eq!(refused, 10);
    assert_eq!(total(&*s, &t).await, 30, "refused creates are not counted");
    // WHEN 10 of them are deleted concurrently, each twice, plus deletes of unknown ids
    let listed = s.query(&t, User, &page(Lookup::All, 1, 100)).await.unwrap();
    let mut tasks = Vec::new();
    for r in listed.records.iter().take(10) {
        for _ in 0..2 {
            let (s, t, id) = (Arc::clone(&s), t.clone(), r.id.clone());
            tasks.push(tokio::spawn(
                async move { s.delete(&t, User, &id, None).await },
            ));
        }
    }
    for _ in 0..3 {
        let (s, t) = (Arc::clone(&s), t.clone());
        tasks.push(tokio::spawn(async move {
            s.delete(&t, User, &new_id(), None).await
        }));
    }
    let mut deleted = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() == Deleted::Deleted {
            deleted += 1;
        }
    }
    // THEN each resource was deleted once, and the count follows exactly
    assert_eq!(deleted, 10);
    assert_eq!(total(&*s, &t).await, 20);
    let all = s.query(&t, User, &page(Lookup::All, 1, 100)).await.unwrap();
    assert_eq!(all.records.len(), 20, "the count matches the listing");
    assert_eq!(
        s.query(&t, Group, &page(Lookup::All, 1, 0))
            .await
            .unwrap()
            .total,
        0,
        "kinds are counted apart"
    );
}

pub async fn index_pages_resume_in_id_order_across_writes<S: Store>(s: Arc<S>) {
    let t = TenantId::parse("paging").unwrap();
    let mut all = Vec::new();
    for i in 0..25 {
        let u = user(&format!("idx{i}"));
        all.push(u.id.clone());
        s.create(&t, User, &u, &[]).await.unwrap();
    }
    all.sort();
    let pages = |s: Arc<S>, t: TenantId| async move {
        let mut seen = Vec::new();
        for start in [1, 11, 21] {
            let p = s
                .query(&t, User, &page(Lookup::All, start, 10))
                .await
                .unwrap();
            seen.extend(ids(&p));
        }
        seen
    };
    // Sequential pages (the second time, from checkpoints where the store keeps them).
    assert_eq!(pages(Arc::clone(&s), t.clone()).await, all);
    assert_eq!(pages(Arc::clone(&s), t.clone()).await, all);
    // A page asked for out of order, between two checkpoints.
    let p = s.query(&t, User, &page(Lookup::All, 15, 4)).await.unwrap();
    assert_eq!(ids(&p), all[14..18].to_vec());
    // After this store's own create and delete, pages reflect the new order exactly.
    let extra = user("idx-extra");
    s.create(&t, User, &extra.clone(), &[]).await.unwrap();
    s.delete(&t, User, &all[3], None).await.unwrap();
    all.remove(3);
    all.push(extra.id);
    all.sort();
    assert_eq!(pages(Arc::clone(&s), t.clone()).await, all);
}

pub async fn cursor_pages_visit_every_resource_once<S: Store>(s: Arc<S>) {
    let t = TenantId::parse("cursors").unwrap();
    let mut all = Vec::new();
    for i in 0..250 {
        let u = user(&format!("cur{i:03}"));
        all.push(u.id.clone());
        s.create(&t, User, &u, &[]).await.unwrap();
    }
    all.sort();
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let p = s
            .query(&t, User, &cursor(Lookup::All, after.clone(), 100))
            .await
            .unwrap();
        assert_eq!(p.total, 250, "page {pages}");
        pages += 1;
        seen.extend(ids(&p));
        match p.next {
            Some(next) => {
                assert_eq!(Some(&next), seen.last(), "continues after the last result");
                after = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, all, "every resource once, in id order");
    // A page that ends exactly at the last resource carries no cursor.
    let p = s
        .query(&t, User, &cursor(Lookup::All, Some(all[149].clone()), 100))
        .await
        .unwrap();
    assert_eq!((p.records.len(), p.next), (100, None));
    // Filtered listings page by cursor too, and count by their filter.
    let mut filtered = cursor(Lookup::All, None, 7);
    filtered.filter = Some(Filter::parse(r#"userName sw "cur1""#).unwrap());
    let mut names = Vec::new();
    loop {
        let p = s.query(&t, User, &filtered).await.unwrap();
        assert_eq!(p.total, 100);
        names.extend(p.records.iter().map(|r| {
            r.doc.to_tree().unwrap()["userName"]
                .as_str()
                .unwrap()
                .to_string()
        }));
        match p.next {
            Some(next) => {
                filtered.page = PageRequest::Cursor {
                    after: Some(next),
                    count: 7,
                }
            }
            None => break,
        }
    }
    assert_eq!(names.len(), 100);
    assert!(names.iter().all(|n| n.starts_with("cur1")));
    assert_eq!(
        names.iter().collect::<BTreeSet<_>>().len(),
        100,
        "no repeats"
    );
    // A cursor whose resource has been deleted still continues after its position.
    s.delete(&t, User, &all[99], None).await.unwrap();
    let p = s
        .query(&t, User, &cursor(Lookup::All, Some(all[99].clone()), 1))
        .await
        .unwrap();
    assert_eq!(ids(&p), [all[100].clone()]);
}

/// The tenant boundary beyond plain lookups: filtered and sorted listings, counts, paging,
/// uniqueness in both directions, member references and renames never cross it.
/// A read made from one tenant, and the ids it returns.
enum Read {
    Get(ResourceKind, String),
    Query(ResourceKind, Box<Query>),
    Members(String),
    GroupsOf(String),
}

fn users(q: Query) -> Read {
    Read::Query(User, Box::new(q))
}

fn groups(q: Query) -> Read {
    Read::Query(Group, Box::new(q))
}

async fn read<S: Store>(s: &S, t: &TenantId, read: &Read) -> (u64, Vec<String>) {
    match read {
        Read::Get(kind, id) => {
            let found: Vec<String> = s
                .get(t, *kind, id)
                .await
                .unwrap()
                .map(|r| r.id)
                .into_iter()
                .collect();
            (found.len() as u64, found)
        }
        Read::Query(kind, q) => {
            let p = s.query(t, *kind, q).await.unwrap();
            (p.total, ids(&p))
        }
        Read::Members(group) => {
            let found = s.members(t, group, 10).await.unwrap().ids;
            (found.len() as u64, found)
        }
        Read::GroupsOf(user) => {
            let found = s.groups_of(t, user, 10).await.unwrap().ids;
            (found.len() as u64, found)
        }
    }
}

/// A write's outcome, as the table below names it.
fn outcome<T>(r: Result<T, StoreError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(StoreError::NotFound) => "not found",
        Err(StoreError::MissingMember { .. }) => "missing member",
        Err(StoreError::Uniqueness { .. }) => "uniqueness",
        Err(other) => panic!("unexpected {other:?}"),
    }
}

pub async fn the_tenant_boundary_holds_for_every_read_and_write<S: Store>(s: Arc<S>) {
    let (a, b) = (
        TenantId::parse("alpha").unwrap(),
        TenantId::parse("beta").unwrap(),
    );
    // GIVEN two users and a group with a member in tenant a, and one user in tenant b
    let ua = [
        user_with("shared", Some("X"), Some("s@example.com")),
        user("amos"),
    ];
    for u in &ua {
        s.create(&a, User, &u.clone(), &[]).await.unwrap();
    }
    let ga = group("shared");
    s.create(&a, Group, &ga.clone(), std::slice::from_ref(&ua[0].id))
        .await
        .unwrap();
    let ub = user("bob");
    s.create(&b, User, &ub.clone(), &[]).await.unwrap();
    let own = |t: &TenantId| -> BTreeSet<String> {
        if *t == a {
            [&ua[0].id, &ua[1].id, &ga.id]
                .into_iter()
                .cloned()
                .collect()
        } else {
            std::iter::once(ub.id.clone()).collect()
        }
    };

    // THEN every read sees only its own tenant: the total, and no id of the other tenant.
    let mut filtered = page(Lookup::All, 1, 10);
    filtered.filter = Some(Filter::parse("userName pr").unwrap());
    filtered.sort = Some(Sort {
        by: AttrPath::new("userName"),
        descending: false,
    });
    let (u0, g0) = (ua[0].id.clone(), ga.id.clone());
    let reads: Vec<(&str, &TenantId, Read, u64)> = vec![
        ("get by id", &b, Read::Get(User, u0.clone()), 0),
        ("count", &a, users(page(Lookup::All, 1, 0)), 2),
        ("count", &b, users(page(Lookup::All, 1, 0)), 1),
        ("groups", &b, groups(page(Lookup::All, 1, 0)), 0),
        ("listing", &b, users(query(Lookup::All)), 1),
        ("filtered and sorted", &b, users(filtered), 1),
        ("second page", &a, users(page(Lookup::All, 2, 1)), 2),
        ("id lookup", &b, users(query(Lookup::Id(u0.clone()))), 0),
        (
            "unique name",
            &b,
            users(query(Lookup::Unique("shared".into()))),
            0,
        ),
        (
            "external id",
            &b,
            users(query(Lookup::ExternalId("X".into()))),
            0,
        ),
        (
            "work email",
            &b,
            users(query(Lookup::WorkEmail("s@example.com".into()))),
            0,
        ),
        (
            "has member",
            &b,
            groups(query(Lookup::HasMember(u0.clone()))),
            0,
        ),
        ("members", &b, Read::Members(g0.clone()), 0),
        ("groups of", &b, Read::GroupsOf(u0.clone()), 0),
        ("members", &a, Read::Members(g0.clone()), 1),
    ];
    for (name, t, probe, total) in &reads {
        let (got, seen) = read(&*s, t, probe).await;
        assert_eq!(got, *total, "{name} in {t:?}");
        let own = own(t);
        assert!(
            seen.iter().all(|id| own.contains(id)),
            "{name} in {t:?} sees {seen:?}"
        );
    }

    // AND every write from b to a's resources, or naming them, is refused or misses them; names
    // are unique per tenant in both directions, renames included.
    let crew = group("crew");
    let renamed = next(&ub, "userName", json!("AMOS"));
    let none = MemberChange::default();
    let writes: Vec<(&str, &'static str, Result<(), StoreError>)> = vec![
        (
            "create naming a's user as member",
            "missing member",
            s.create(&b, Group, &crew.clone(), &[ua[1].id.clone()])
                .await
                .map(drop),
        ),
        (
            "create empty",
            "ok",
            s.create(&b, Group, &crew.clone(), &[]).await.map(drop),
        ),
        (
            "add a's user as member",
            "missing member",
            s.update(
                &b,
                Group,
                &next(&crew, "displayName", json!("crew")),
                1,
                &add(&[&ua[1].id]),
            )
            .await
            .map(drop),
        ),
        (
            "a's user name",
            "ok",
            s.create(&b, User, &user("SHARED"), &[]).await.map(drop),
        ),
        (
            "a's group name",
            "ok",
            s.create(&b, Group, &group("SHARED"), &[]).await.map(drop),
        ),
        (
            "rename to a's user name",
            "ok",
            s.update(&b, User, &renamed, 1, &none).await.map(drop),
        ),
        (
            "the renamed name",
            "uniqueness",
            s.create(&b, User, &user("amos"), &[]).await.map(drop),
        ),
        (
            "update a's user",
            "not found",
            s.update(&b, User, &next(&ua[0], "title", json!("x")), 1, &none)
                .await
                .map(drop),
        ),
    ];
    for (name, expected, result) in writes {
        assert_eq!(outcome(result), expected, "{name}");
    }
    assert!(s.members(&b, &crew.id, 10).await.unwrap().ids.is_empty());
    assert_eq!(
        s.delete(&b, User, &ua[0].id, None).await.unwrap(),
        Deleted::NotFound,
        "delete of a's user"
    );

    // AND a's resources are untouched: its names, its user and its group's members.
    let found = s
        .query(&a, User, &query(Lookup::Unique("amos".into())))
        .await
        .unwrap();
    assert_eq!(ids(&found), vec![ua[1].id.clone()], "a's amos is still a's");
    assert!(s.get(&a, User, &ua[0].id).await.unwrap().is_some());
    assert_eq!(member_set(&*s, &a, &ga.id).await, set(&[ua[0].id.as_str()]));
}
