//! Discovery endpoints (cases A3–A5 in `docs/clients.md`) and their generation from the schema
//! definitions.

use serde_json::json;

use crate::helpers::TestApp;

pub async fn a3_schemas_is_a_list_response_with_user_group_and_enterprise(app: &TestApp) {
    let r = app.get("/Schemas").await.expect(200);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    let ids: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:core:2.0:User"));
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:core:2.0:Group"));
    assert!(ids.contains(&"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
    let one = app
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")
        .await
        .expect(200);
    assert_eq!(one.body["name"], "Group");
    app.get("/Schemas/urn:nope").await.expect_error(404, None);
}

pub async fn a4_service_provider_config_advertises_patch_filter_sort_etag(app: &TestApp) {
    let r = app.get("/ServiceProviderConfig").await.expect(200).body;
    for feature in ["patch", "filter", "sort", "etag"] {
        assert_eq!(r[feature]["supported"], true, "{feature}");
    }
    assert_eq!(r["bulk"]["supported"], false);
    assert_eq!(r["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(
        r["filter"]["maxResults"],
        scim_lambda::scim::list::MAX_COUNT
    );
}

pub async fn a5_resource_types(app: &TestApp) {
    let r = app.get("/ResourceTypes").await.expect(200).body;
    assert_eq!(r["totalResults"], 2);
    assert_eq!(r["Resources"][0]["endpoint"], "/Users");
    let group = app.get("/ResourceTypes/Group").await.expect(200).body;
    assert_eq!(
        group["schema"],
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    );
    assert_eq!(
        group["meta"]["location"],
        json!("https://scim.example.com/scim/v2/ResourceTypes/Group")
    );
}

crate::on_every_store!(
    a3_schemas_is_a_list_response_with_user_group_and_enterprise,
    a4_service_provider_config_advertises_patch_filter_sort_etag,
    a5_resource_types,
);
