//! What each SCIM write kind commits, as the feed sees it, on both stores: PUT is `put:full`
//! apart from PATCH's `patch:full`, and a replace-all of a group's members (PUT members, PATCH
//! replace members, PATCH remove of all members) names every id it removed, at any size one
//! request may change. The embedded store hands its changes over at commit; DynamoDB's are
//! read back from the table's stream through the Streams API and decoded, as Lambda would.
//! A PUT of what is stored commits nothing, and a PATCH that also rewrites the document names
//! only the members it really added and removed.

use std::collections::BTreeSet;

use scim_lambda::change::{Change, Decoded};
use scim_lambda::feed::Event;
use scim_lambda::feed::streams::lambda_record;
use scim_lambda::scim::discovery::MAX_MEMBERS_PER_REQUEST;
use scim_lambda::scim::projection::Projection;
use scim_lambda::scim::schema::ResourceKind::{self, Group, User};
use scim_lambda::service::{Error, Service};
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::store::dynamo::stream::decode;
use scim_lambda::store::memory::{ChangeStream, MemoryStore};
use scim_lambda::store::{Limit, Store, TenantId};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const PUT: &str = "urn:ietf:params:scim:event:prov:put:full";
const PATCH: &str = "urn:ietf:params:scim:event:prov:patch:full";
const DEACTIVATE: &str = "urn:ietf:params:scim:event:prov:deactivate";

/// Where a test reads the changes a store committed.
enum Changes {
    Memory(ChangeStream),
    Dynamo {
        streams: aws_sdk_dynamodbstreams::Client,
        iterator: Option<String>,
    },
}

impl Changes {
    /// The changes committed since the last call, in commit order.
    async fn take(&mut self) -> Vec<Change> {
        let mut out = Vec::new();
        match self {
            Changes::Memory(rx) => {
                while let Ok(d) = rx.try_recv() {
                    if let Ok(Decoded::Change(c)) = d {
                        out.push(c);
                    }
                }
            }
            Changes::Dynamo { streams, iterator } => {
                while let Some(current) = iterator.clone() {
                    let page = streams
                        .get_records()
                        .shard_iterator(current)
                        .send()
                        .await
                        .unwrap();
                    *iterator = page.next_shard_iterator.clone();
                    if page.records().is_empty() {
                        break;
                    }
                    for r in page.records() {
                        if let Decoded::Change(c) = decode(&lambda_record(r)).unwrap() {
                            out.push(c);
                        }
                    }
                }
            }
        }
        out
    }
}

async fn memory() -> (Service<MemoryStore>, Changes) {
    let store = MemoryStore::new();
    let attached = store.attach_feed().unwrap();
    (Service::new(store), Changes::Memory(attached.stream))
}

async fn dynamo() -> Option<(Service<DynamoStore>, Changes)> {
    std::env::var_os("SCIM_TEST_DYNAMODB")?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let table = format!("scim-changes-{}", uuid::Uuid::new_v4());
    let client = aws_sdk_dynamodb::Client::new(&config);
    let store = DynamoStore::new(client.clone(), table.clone());
    store.create_table_if_missing().await.unwrap();
    let arn = crate::stream_arn(&client, &table).await;
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let described = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap();
    let shards = described.stream_description().unwrap().shards();
    assert_eq!(shards.len(), 1, "the emulator keeps one shard per table");
    let iterator = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(shards[0].shard_id().unwrap())
        .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator;
    Some((Service::new(store), Changes::Dynamo { streams, iterator }))
}

fn tenant() -> TenantId {
    TenantId::parse("t_changes").unwrap()
}

/// What a test compares of one event: type, `events` keys, members added and removed.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    ty: String,
    uris: Vec<String>,
    added: Vec<String>,
    removed: Vec<String>,
}

fn seen(c: &Change) -> Seen {
    let doc = Event {
        seq: 1,
        change: c.clone(),
    }
    .to_json();
    let events = doc["events"].as_object().unwrap();
    let ids = |which: &str| -> Vec<String> {
        events
            .values()
            .find_map(|e| e.pointer(&format!("/members/{which}")))
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let mut uris: Vec<String> = events.keys().cloned().collect();
    uris.sort();
    Seen {
        ty: doc["type"].as_str().unwrap().to_string(),
        uris,
        added: ids("added"),
        removed: ids("removed"),
    }
}

fn want(ty: &str, uris: &[&str], added: &[&String], removed: &[&String]) -> Seen {
    let mut uris: Vec<String> = uris.iter().map(|u| u.to_string()).collect();
    uris.sort();
    let sorted = |ids: &[&String]| {
        let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    Seen {
        ty: ty.into(),
        uris,
        added: sorted(added),
        removed: sorted(removed),
    }
}

async fn user<S: Store>(s: &Service<S>, name: &str) -> String {
    s.create(
        &tenant(),
        User,
        &json!({"schemas": [USER], "userName": name, "active": true}),
    )
    .await
    .unwrap()
    .id
}

fn members(ids: &[&String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

async fn put<S: Store>(s: &Service<S>, kind: ResourceKind, id: &str, body: Value) {
    s.replace(&tenant(), kind, id, &body, None, &Projection::default())
        .await
        .unwrap();
}

async fn patch<S: Store>(s: &Service<S>, kind: ResourceKind, id: &str, ops: Value) {
    s.patch(
        &tenant(),
        kind,
        id,
        &json!({"schemas": [PATCH_OP], "Operations": ops}),
        None,
        &Projection::default(),
    )
    .await
    .unwrap();
}

async fn put_and_replace_all_are_reported_as_such<S: Store>(s: Service<S>, mut feed: Changes) {
    let (a, b, c) = (
        user(&s, "ann").await,
        user(&s, "bob").await,
        user(&s, "cid").await,
    );
    assert_eq!(feed.take().await.len(), 3);

    // WHEN users are replaced THEN each is a PUT, a deactivation riding on it.
    put(
        &s,
        User,
        &a,
        json!({"schemas": [USER], "userName": "ann", "active": true, "title": "x"}),
    )
    .await;
    put(
        &s,
        User,
        &a,
        json!({"schemas": [USER], "userName": "ann", "active": false, "title": "x"}),
    )
    .await;
    patch(
        &s,
        User,
        &b,
        json!([{"op": "replace", "path": "title", "value": "y"}]),
    )
    .await;
    let got: Vec<Seen> = feed.take().await.iter().map(seen).collect();
    assert_eq!(
        got,
        [
            want("user.updated", &[PUT], &[], &[]),
            want("user.deactivated", &[PUT, DEACTIVATE], &[], &[]),
            want("user.updated", &[PATCH], &[], &[]),
        ]
    );

    // WHEN a group's members are replaced, by PUT and by PATCH, and removed all at once
    // THEN every event names the ids added and removed.
    let g = s
        .create(
            &tenant(),
            Group,
            &json!({"schemas": [GROUP], "displayName": "Ops", "members": members(&[&a, &b])}),
        )
        .await
        .unwrap()
        .id;
    put(
        &s,
        Group,
        &g,
        json!({"schemas": [GROUP], "displayName": "Ops", "members": members(&[&b, &c])}),
    )
    .await;
    patch(
        &s,
        Group,
        &g,
        json!([{"op": "replace", "path": "members", "value": members(&[&c])}]),
    )
    .await;
    // The same list again changes nothing: no event.
    patch(
        &s,
        Group,
        &g,
        json!([{"op": "replace", "path": "members", "value": members(&[&c])}]),
    )
    .await;
    patch(
        &s,
        Group,
        &g,
        json!([{"op": "replace", "path": "members", "value": members(&[&a, &b])}]),
    )
    .await;
    patch(&s, Group, &g, json!([{"op": "remove", "path": "members"}])).await;
    let got: Vec<Seen> = feed.take().await.iter().map(seen).collect();
    assert_eq!(
        got,
        [
            want(
                "group.created",
                &["urn:ietf:params:scim:event:prov:create:full"],
                &[&a, &b],
                &[]
            ),
            want("group.updated", &[PUT], &[&c], &[&a]),
            want("group.members_removed", &[PATCH], &[], &[&b]),
            want("group.updated", &[PATCH], &[&a, &b], &[&c]),
            want("group.members_removed", &[PATCH], &[], &[&a, &b]),
        ]
    );

    // WHEN a replace-all is larger than one DynamoDB transaction (35 removed, 35 added: 105
    // actions) THEN the removed ids are all named; past the per-request limit it is refused
    // (before any member is checked) and commits nothing.
    let t = tenant();
    let mut many = Vec::new();
    for i in 0..70 {
        many.push(user(&s, &format!("many-{i}")).await);
    }
    let first: Vec<&String> = many[..35].iter().collect();
    let second: Vec<&String> = many[35..].iter().collect();
    patch(
        &s,
        Group,
        &g,
        json!([{"op": "add", "path": "members", "value": members(&first)}]),
    )
    .await;
    put(
        &s,
        Group,
        &g,
        json!({"schemas": [GROUP], "displayName": "Ops", "members": members(&second)}),
    )
    .await;
    let got = feed.take().await;
    let last = got.last().unwrap();
    assert_eq!(seen(last), want("group.updated", &[PUT], &second, &first));
    let stored: BTreeSet<String> = s
        .store()
        .members(&t, &g, 500)
        .await
        .unwrap()
        .ids
        .into_iter()
        .collect();
    assert_eq!(stored, second.iter().map(|s| s.to_string()).collect());

    // The limit: ids listed plus members removed over MAX_MEMBERS_PER_REQUEST (the listed ids
    // need not exist: the size is refused first).
    let others: Vec<String> = (0..=MAX_MEMBERS_PER_REQUEST - second.len())
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let refs: Vec<&String> = others.iter().collect();
    let before = s.store().get(&t, Group, &g).await.unwrap().unwrap().version;
    feed.take().await;
    let err = s
        .replace(
            &t,
            Group,
            &g,
            &json!({"schemas": [GROUP], "displayName": "Ops", "members": members(&refs)}),
            None,
            &Projection::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::TooLarge(Limit::Members { count }) if *count > MAX_MEMBERS_PER_REQUEST),
        "{err:?}"
    );
    let after = s.store().get(&t, Group, &g).await.unwrap().unwrap().version;
    assert_eq!(after, before, "a refused replace-all writes nothing");
    assert!(feed.take().await.is_empty());
}

#[tokio::test]
async fn memory_put_and_replace_all_are_reported_as_such() {
    let (s, feed) = memory().await;
    put_and_replace_all_are_reported_as_such(s, feed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_put_and_replace_all_are_reported_as_such() {
    let Some((s, feed)) = dynamo().await else {
        return;
    };
    put_and_replace_all_are_reported_as_such(s, feed).await;
}

#[tokio::test]
async fn dynamo_a_small_replace_all_costs_a_snapshot_and_one_transaction() {
    let Some((s, _feed)) = dynamo().await else {
        return;
    };
    let (a, b, c) = (
        user(&s, "ann").await,
        user(&s, "bob").await,
        user(&s, "cid").await,
    );
    let g = s
        .create(
            &tenant(),
            Group,
            &json!({"schemas": [GROUP], "displayName": "Ops", "members": members(&[&a, &b])}),
        )
        .await
        .unwrap();
    let current = s
        .store()
        .get(&tenant(), Group, &g.id)
        .await
        .unwrap()
        .unwrap();
    let mut next = current.clone();
    next.version += 1;
    let replace = scim_lambda::store::MemberChange {
        clear: true,
        add: vec![b.clone(), c.clone()],
        remove: Vec::new(),
    };
    let before = s.store().calls().snapshot();
    s.store()
        .update_as(
            &tenant(),
            Group,
            &next,
            current.version,
            &replace,
            scim_lambda::change::UpdateKind::Put,
        )
        .await
        .unwrap();
    let cost = s.store().calls().snapshot().since(&before);
    // The snapshot (group, member items, group) that names the removed ids, then the write.
    assert_eq!(cost.to_string(), "GetItem=2 Query=1 TransactWriteItems=1");
}

async fn unchanged_puts_and_real_member_deltas<S: Store>(s: Service<S>, mut feed: Changes) {
    let t = tenant();
    let (a, b, c) = (
        user(&s, "ann").await,
        user(&s, "bob").await,
        user(&s, "cid").await,
    );
    let body = json!({"schemas": [USER], "userName": "ann", "active": true});
    let g_body = json!({"schemas": [GROUP], "displayName": "Ops", "members": members(&[&a, &b])});
    let g = s.create(&t, Group, &g_body).await.unwrap();
    assert_eq!(feed.take().await.len(), 4);

    // WHEN a user, a group with its exact members and a group without `members` are PUT as
    // they are stored THEN each answers the stored resource at its version, and nothing is
    // committed.
    let unchanged = [
        (User, a.clone(), body),
        (Group, g.id.clone(), g_body),
        (
            Group,
            g.id.clone(),
            json!({"schemas": [GROUP], "displayName": "Ops"}),
        ),
    ];
    for (kind, id, body) in unchanged {
        let stored = s.store().get(&t, kind, &id).await.unwrap().unwrap();
        let got = s
            .replace(&t, kind, &id, &body, None, &Projection::default())
            .await
            .unwrap();
        assert_eq!(
            (got.version, &got.doc),
            (stored.version, &stored.doc),
            "{body}"
        );
        let after = s.store().get(&t, kind, &id).await.unwrap().unwrap();
        assert_eq!(after.version, stored.version, "{body}: nothing written");
    }
    assert!(
        feed.take().await.is_empty(),
        "an unchanged PUT yields no event"
    );

    // WHEN one PATCH renames the group, re-adds a member, adds a user, removes a member and
    // removes a non-member THEN its event names only the real addition and removal.
    patch(
        &s,
        Group,
        &g.id,
        json!([
            {"op": "replace", "path": "displayName", "value": "Ops 2"},
            {"op": "add", "path": "members", "value": members(&[&a, &c])},
            {"op": "remove", "path": format!("members[value eq \"{b}\"]")},
            {"op": "remove", "path": format!("members[value eq \"{}\"]", uuid::Uuid::new_v4())},
        ]),
    )
    .await;
    let got: Vec<Seen> = feed.take().await.iter().map(seen).collect();
    assert_eq!(got, [want("group.updated", &[PATCH], &[&c], &[&b])]);
    let stored: BTreeSet<String> = s
        .store()
        .members(&t, &g.id, 10)
        .await
        .unwrap()
        .ids
        .into_iter()
        .collect();
    assert_eq!(stored, [a, c].into_iter().collect());
}

#[tokio::test]
async fn memory_unchanged_puts_and_real_member_deltas() {
    let (s, feed) = memory().await;
    unchanged_puts_and_real_member_deltas(s, feed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_unchanged_puts_and_real_member_deltas() {
    let Some((s, feed)) = dynamo().await else {
        return;
    };
    unchanged_puts_and_real_member_deltas(s, feed).await;
}

/// 30 writers each create a user and PATCH it three times while the feed pipeline appends what
/// the store committed and a poller follows `next` through the pull API: the poller sees every
/// event once, with `seq` rising by exactly one (no number skipped while a later one is
/// readable, the ordering trap), and each user's versions rising.
async fn thirty_writers_with_a_poller<S: Store + Send + Sync + 'static>(
    s: Service<S>,
    mut feed: Changes,
) {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::Duration;

    use scim_lambda::store::feed::Retention;

    const WRITERS: usize = 30;
    const PATCHES: usize = 3;
    const EXPECTED: u64 = (WRITERS * (1 + PATCHES)) as u64;
    let now_secs = 1_800_000_000;
    let keep = Retention {
        secs: 86_400,
        now_secs,
    };
    let s = Arc::new(s);
    let t = tenant();

    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let s = Arc::clone(&s);
        writers.spawn(async move {
            let id = user(&s, &format!("writer-{w}")).await;
            for p in 0..PATCHES {
                patch(
                    &s,
                    User,
                    &id,
                    json!([{"op": "replace", "path": "title", "value": format!("t{p}")}]),
                )
                .await;
            }
        });
    }

    let poller = {
        let s = Arc::clone(&s);
        let t = t.clone();
        tokio::spawn(async move {
            let mut after = 0;
            let mut versions: HashMap<String, u64> = HashMap::new();
            // Bounded: the pipeline below appends everything well inside this many polls.
            for _ in 0..20_000 {
                let page = s.store().events(&t, after, 7, now_secs).await.unwrap();
                for e in &page.events {
                    assert_eq!(
                        e.seq,
                        after + 1,
                        "seq rises by one: nothing skipped or re-read"
                    );
                    after = e.seq;
                    let doc: Value = serde_json::from_str(&e.doc).unwrap();
                    let uri = doc["sub_id"]["uri"].as_str().unwrap().to_string();
                    let version: u64 = doc["version"]
                        .as_str()
                        .unwrap()
                        .trim_matches(|c: char| !c.is_ascii_digit())
                        .parse()
                        .unwrap();
                    let last = versions.insert(uri.clone(), version).unwrap_or(0);
                    assert!(version > last, "{uri}: version {version} after {last}");
                }
                if after == EXPECTED {
                    return versions;
                }
                if page.events.is_empty() {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            panic!("the poller saw {after} of {EXPECTED} events");
        })
    };

    // The pipeline: what the store committed, appended in commit order, as the stream
    // function does; it runs until the writers are done and nothing is left to take.
    let mut appended = 0;
    loop {
        let done = writers.is_empty();
        let changes = feed.take().await;
        if !changes.is_empty() {
            appended += s.store().append(&t, &changes, keep).await.unwrap().len();
        }
        while let Some(joined) = writers.try_join_next() {
            joined.unwrap();
        }
        if done && changes.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(appended as u64, EXPECTED, "one event per committed write");
    let versions = poller.await.unwrap();
    assert_eq!(versions.len(), WRITERS);
    assert!(versions.values().all(|v| *v == (1 + PATCHES) as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_thirty_writers_with_a_poller() {
    let (s, feed) = memory().await;
    thirty_writers_with_a_poller(s, feed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_thirty_writers_with_a_poller() {
    let Some((s, feed)) = dynamo().await else {
        return;
    };
    thirty_writers_with_a_poller(s, feed).await;
}
