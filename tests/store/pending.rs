//! The DynamoDB store's protocol for member changes larger than one transaction, driven into
//! the states a writer that dies midway leaves behind (written with a raw client): readers
//! see the committed change whole, and the next writer finishes it before its own change.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use scim_lambda::scim::schema::ResourceKind::{Group, User};
use scim_lambda::store::dynamo::items::{member_item, resource_key};
use scim_lambda::store::dynamo::keys;
use scim_lambda::store::{MemberChange, Store};
use serde_json::json;

use crate::helpers::{dynamo_client, group, tenant, user};

/// Commits "add `ids`" to group `gid` as the store's large path does (version + 1, the delta,
/// `pending`), then writes only the member items of `written` — as if the writer died there.
async fn half_applied(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    gid: &str,
    ids: &[String],
    written: &[String],
) {
    let t = tenant();
    let list = AttributeValue::L(ids.iter().map(|i| AttributeValue::S(i.clone())).collect());
    let change = AttributeValue::M(HashMap::from([
        (
            "req".to_string(),
            AttributeValue::S("crashed-request".into()),
        ),
        ("add".to_string(), list),
        ("remove".to_string(), AttributeValue::L(Vec::new())),
        ("clear".to_string(), AttributeValue::Bool(false)),
    ]));
    client
        .update_item()
        .table_name(table)
        .set_key(Some(resource_key(&t, Group, gid)))
        .update_expression("SET #v = #v + :one, #c = :c, #p = :req, #m = :m")
        .expression_attribute_names("#v", keys::VERSION)
        .expression_attribute_names("#c", keys::CHANGE)
        .expression_attribute_names("#p", keys::PENDING)
        .expression_attribute_names("#m", keys::MODIFIED)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":c", change)
        .expression_attribute_values(":req", AttributeValue::S("crashed-request".into()))
        .expression_attribute_values(":m", AttributeValue::S("2026-01-01T00:00:00Z".into()))
        .send()
        .await
        .unwrap();
    for batch in written.chunks(25) {
        let requests = batch
            .iter()
            .map(|uid| {
                let put = PutRequest::builder()
                    .set_item(Some(member_item(&t, gid, uid)))
                    .build()
                    .unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .unwrap();
    }
}

async fn raw_group(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    gid: &str,
) -> HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table)
        .set_key(Some(resource_key(&tenant(), Group, gid)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default()
}

#[tokio::test]
async fn a_half_applied_change_reads_whole_and_the_next_writer_finishes_it() {
    let Some((s, client)) = dynamo_client().await else {
        return;
    };
    let t = tenant();
    let mut ids = Vec::new();
    for i in 0..151 {
        let u = user(&format!("pending-{i}"));
        s.create(&t, User, &u, &[]).await.unwrap();
        ids.push(u.id);
    }
    ids.sort();
    let mut g = group("Pending");
    g.doc.tree_mut().unwrap()["meta"] = json!({"resourceType": "Group", "version": "W/\"1\""});
    s.create(&t, Group, &g, &[]).await.unwrap();

    // GIVEN a committed add of 150 members of which only 40 member items were written
    half_applied(&client, s.table(), &g.id, &ids[..150], &ids[..40]).await;

    // THEN readers see all 150 and the one version change
    let got: BTreeSet<String> = s
        .members(&t, &g.id, 1000)
        .await
        .unwrap()
        .ids
        .into_iter()
        .collect();
    assert_eq!(got, ids[..150].iter().cloned().collect());
    assert!(s.members(&t, &g.id, 100).await.unwrap().truncated);
    let read = s.get(&t, Group, &g.id).await.unwrap().unwrap();
    assert_eq!(
        (
            read.version,
            read.doc.to_tree().unwrap()["meta"]["version"].clone()
        ),
        (2, json!("W/\"2\""))
    );

    // WHEN another member change comes THEN it first finishes the pending one
    let add_last = MemberChange {
        add: vec![ids[150].clone()],
        ..MemberChange::default()
    };
    let r = s
        .update_members(&t, &g.id, &add_last, None, "2026-01-02T00:00:00Z")
        .await
        .unwrap();
    assert_eq!(r.version, 3);
    let raw = raw_group(&client, s.table(), &g.id).await;
    assert!(
        !raw.contains_key(keys::PENDING),
        "the pending change was finished"
    );
    let got: BTreeSet<String> = s
        .members(&t, &g.id, 1000)
        .await
        .unwrap()
        .ids
        .into_iter()
        .collect();
    assert_eq!(got, ids.iter().cloned().collect());
    // and the member items themselves are all there (the reverse index lists the group).
    for uid in [&ids[0], &ids[100], &ids[149]] {
        assert_eq!(s.groups_of(&t, uid, 10).await.unwrap().ids, [g.id.clone()]);
    }

    // GIVEN another half-applied change WHEN the group is deleted THEN no member item is left
    let mut g2 = group("Pending 2");
    g2.doc.tree_mut().unwrap()["meta"] = json!({"resourceType": "Group", "version": "W/\"1\""});
    s.create(&t, Group, &g2, &[]).await.unwrap();
    half_applied(&client, s.table(), &g2.id, &ids[..150], &ids[..60]).await;
    s.delete(&t, Group, &g2.id, None).await.unwrap();
    assert!(s.members(&t, &g2.id, 10).await.unwrap().ids.is_empty());
    let left = client
        .query()
        .table_name(s.table())
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", keys::PK)
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(keys::resource_pk(&t, Group, &g2.id)),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(left.count, 0, "member items of a deleted group");
}
