//! Webhook endpoints in the table: one partition (`WEBHOOKS`) with an item per endpoint, so
//! the pusher reads them all with one `Query`.

use aws_sdk_dynamodb::types::AttributeValue;
use secrecy::SecretString;

use super::items::{Item, ItemExt, key, s};
use super::{DynamoStore, translate};
use crate::store::webhooks::{Endpoint, WebhookStore, secret_text};
use crate::store::{Call, StoreResult, TenantId};

const PK: &str = "WEBHOOKS";

fn item(endpoint: &Endpoint) -> Item {
    let mut item = key(PK.to_string(), endpoint.id.clone());
    item.insert("url".into(), s(&endpoint.url));
    item.insert("secret".into(), s(secret_text(endpoint)));
    item.insert("createdAt".into(), s(&endpoint.created_at));
    if let Some(tenants) = &endpoint.tenants {
        let list = tenants.iter().map(|t| s(t.as_str())).collect();
        item.insert("tenants".into(), AttributeValue::L(list));
    }
    if let Some(types) = &endpoint.types {
        item.insert(
            "types".into(),
            AttributeValue::L(types.iter().map(s).collect()),
        );
    }
    item
}

fn strings(
    item: &Item,
    name: &'static str,
) -> Result<Option<Vec<String>>, super::items::ItemError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::S(s) => Ok(s.clone()),
                _ => Err(super::items::ItemError::Malformed(name)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(super::items::ItemError::Malformed(name)),
    }
}

fn endpoint(item: &Item) -> Result<Endpoint, super::items::ItemError> {
    let tenants = strings(item, "tenants")?
        .map(|list| {
            list.iter()
                .map(|t| {
                    TenantId::parse(t).map_err(|_| super::items::ItemError::Malformed("tenants"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(Endpoint {
        id: item.string("sk")?.to_string(),
        url: item.string("url")?.to_string(),
        secret: SecretString::from(item.string("secret")?.to_string()),
        tenants,
        types: strings(item, "types")?,
        created_at: item.string("createdAt")?.to_string(),
    })
}

impl WebhookStore for DynamoStore {
    async fn put_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()> {
        self.calls.record(Call::PutItem);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(endpoint)))
            .send()
            .await
            .map_err(translate)?;
        Ok(())
    }

    async fn endpoints(&self) -> StoreResult<Vec<Endpoint>> {
        self.calls.record(Call::Query);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(PK))
            .consistent_read(true)
            .send()
            .await
            .map_err(translate)?;
        Ok(output
            .items()
            .iter()
            .map(endpoint)
            .collect::<Result<Vec<_>, _>>()?)
    }

    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool> {
        self.calls.record(Call::DeleteItem);
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(PK.to_string(), id.to_string())))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(translate)?;
        Ok(output.attributes().is_some())
    }
}
