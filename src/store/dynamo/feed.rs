//! The change feed in the table: a counter item per tenant, one item per event, and one
//! marker per appended `txn`.
//!
//! An append is one `TransactWriteItems` per chunk: the counter moves from the `seq` it was
//! read at to the last new `seq` (condition: still at the value read), each event is put
//! (condition: new), and each change's `txn` marker is put (condition: new). So numbers and
//! events commit together (a reader never sees a gap that fills later), two appenders cannot
//! take one number (the loser re-reads the counter), and a redelivered change fails its
//! marker's condition and is dropped. Events and markers carry a `ttl` attribute.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::items::{ItemExt, key, n, s};
use super::{CONFLICT_ATTEMPTS, DynamoStore, TxError, backoff, build_error, translate};
use crate::change::Change;
use crate::feed::Event;
use crate::store::feed::{FeedPage, FeedStore, MAX_PAGE, Retention, StoredEvent};
use crate::store::{Call, StoreError, StoreResult, TenantId};

/// Changes per transaction: 2 items each (event, marker) plus the counter, within DynamoDB's
/// 100 actions.
const CHANGES_PER_TRANSACTION: usize = 49;

/// The attribute the table's time-to-live is configured on.
pub const TTL_ATTRIBUTE: &str = "ttl";

fn counter_pk(tenant: &TenantId) -> String {
    format!("T#{tenant}#FEED")
}
fn events_pk(tenant: &TenantId) -> String {
    format!("T#{tenant}#EVENTS")
}
/// Zero-padded so the sort key orders like the number.
fn event_sk(seq: u64) -> String {
    format!("E#{seq:020}")
}
fn txn_pk(tenant: &TenantId, txn: &str) -> String {
    format!("T#{tenant}#EVTXN#{txn}")
}

impl DynamoStore {
    async fn feed_seq(&self, tenant: &TenantId) -> StoreResult<u64> {
        self.calls.record(Call::GetItem);
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(counter_pk(tenant), "FEED")))
            .consistent_read(true)
            .send()
            .await
            .map_err(translate)?
            .item;
        match item {
            Some(item) => Ok(item.number_u64("seq")?),
            None => Ok(0),
        }
    }

    fn append_actions(
        &self,
        tenant: &TenantId,
        last: u64,
        chunk: &[&Change],
        retention: Retention,
    ) -> StoreResult<Vec<TransactWriteItem>> {
        let new_last = last + chunk.len() as u64;
        let counter = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(counter_pk(tenant), "FEED")))
            .update_expression("SET #seq = :new")
            .condition_expression(if last == 0 {
                "attribute_not_exists(#seq) OR #seq = :last"
            } else {
                "#seq = :last"
            })
            .expression_attribute_names("#seq", "seq")
            .expression_attribute_values(":new", n(new_last))
            .expression_attribute_values(":last", n(last))
            .build()
            .map_err(build_error)?;
        let mut actions = vec![TransactWriteItem::builder().update(counter).build()];
        let expiry = n(retention.expiry());
        for (i, change) in chunk.iter().enumerate() {
            let event = Event {
                seq: last + 1 + i as u64,
                change: (*change).clone(),
            };
            let mut item = key(events_pk(tenant), event_sk(event.seq));
            item.insert("doc".into(), s(event.render()));
            item.insert(TTL_ATTRIBUTE.into(), expiry.clone());
            let mut marker = key(txn_pk(tenant, &change.txn()), "EVTXN");
            marker.insert("seq".into(), n(event.seq));
            marker.insert(TTL_ATTRIBUTE.into(), expiry.clone());
            for item in [item, marker] {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(build_error)?;
                actions.push(TransactWriteItem::builder().put(put).build());
            }
        }
        Ok(actions)
    }
}

impl FeedStore for DynamoStore {
    async fn append(
        &self,
        tenant: &TenantId,
        changes: &[Change],
        retention: Retention,
    ) -> StoreResult<Vec<Event>> {
        let mut seen = HashSet::new();
        let mut pending: Vec<&Change> = changes
            .iter()
            .filter(|c| &c.tenant == tenant && seen.insert(c.txn()))
            .collect();
        let mut appended = Vec::new();
        let mut last = self.feed_seq(tenant).await?;
        let mut contended = 0;
        while !pending.is_empty() {
            let take = pending.len().min(CHANGES_PER_TRANSACTION);
            let chunk: Vec<&Change> = pending[..take].to_vec();
            let actions = self.append_actions(tenant, last, &chunk, retention)?;
            match self.transact(actions).await {
                Ok(()) => {
                    for (i, change) in chunk.iter().enumerate() {
                        appended.push(Event {
                            seq: last + 1 + i as u64,
                            change: (*change).clone(),
                        });
                    }
                    last += take as u64;
                    pending.drain(..take);
                }
                Err(TxError::Conditions(failed)) => {
                    // Action 0 is the counter, then (event, marker) per change: a failed
                    // marker is a change already in the feed; anything else means another
                    // appender moved the counter.
                    let duplicates: HashSet<usize> = failed
                        .iter()
                        .filter(|&&i| i > 0 && i % 2 == 0)
                        .map(|i| i / 2 - 1)
                        .collect();
                    if !duplicates.is_empty() {
                        let mut index = 0;
                        pending.retain(|_| {
                            let keep = index >= take || !duplicates.contains(&index);
                            index += 1;
                            keep
                        });
                        continue;
                    }
                    contended += 1;
                    if contended >= CONFLICT_ATTEMPTS * 2 {
                        return Err(StoreError::Unavailable(Box::new(FeedContention)));
                    }
                    backoff(contended).await;
                    last = self.feed_seq(tenant).await?;
                }
                Err(TxError::Store(e)) => return Err(e),
            }
        }
        Ok(appended)
    }

    async fn events(
        &self,
        tenant: &TenantId,
        after: u64,
        limit: usize,
        now_secs: u64,
    ) -> StoreResult<FeedPage> {
        self.calls.record(Call::Query);
        let limit = limit.clamp(1, MAX_PAGE);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk > :after")
            .expression_attribute_values(":pk", s(events_pk(tenant)))
            .expression_attribute_values(":after", s(event_sk(after)))
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(translate)?;
        let mut next = after;
        let mut events = Vec::new();
        for item in output.items() {
            let sk = item.string("sk")?;
            let seq: u64 = sk
                .strip_prefix("E#")
                .and_then(|d| d.parse().ok())
                .ok_or(super::items::ItemError::Malformed("sk"))?;
            next = seq;
            // DynamoDB deletes expired items lazily (within days): expired ones are skipped
            // here, but still move `next` past them.
            let expired = matches!(item.get(TTL_ATTRIBUTE), Some(AttributeValue::N(t)) if t.parse::<u64>().is_ok_and(|t| t <= now_secs));
            if !expired {
                events.push(StoredEvent {
                    seq,
                    doc: item.string("doc")?.to_string(),
                });
            }
        }
        Ok(FeedPage { events, next })
    }
}

/// Other appenders of the same tenant kept moving the counter.
#[derive(Debug, thiserror::Error)]
#[error("the feed counter kept moving under concurrent appenders")]
struct FeedContention;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_sort_like_their_numbers() {
        assert!(event_sk(9) < event_sk(10));
        assert!(event_sk(99_999) < event_sk(100_000));
        assert_eq!(event_sk(1), "E#00000000000000000001");
    }
}
