//! RFC 9865 cursor paging through the router: the query and `.search` forms, the parameters
//! it refuses, and cursors that are forged, altered or presented by another tenant.

use scim_lambda::scim::cursor::CursorKey;
use scim_lambda::store::TenantId;
use scim_lambda::store::memory::MemoryStore;
use serde_json::{Value, json};

use crate::helpers::{TestApp, enc};

fn ids(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Pages through `/Users` with `?cursor&count=2`, following `nextCursor`.
async fn page_through(app: &TestApp, filter: Option<&str>) -> (Vec<String>, usize) {
    let filter = filter.map_or_else(String::new, |f| format!("&filter={}", enc(f)));
    let mut next = String::new();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = app
            .get(&format!("/Users?count=2&cursor={}{filter}", enc(&next)))
            .await
            .expect(200);
        pages += 1;
        assert!(r.body.get("startIndex").is_none(), "{}", r.body);
        assert_eq!(r.body["itemsPerPage"], ids(&r.body).len());
        seen.extend(ids(&r.body));
        match r.body["nextCursor"].as_str() {
            Some(c) => next = c.to_string(),
            None => return (seen, pages),
        }
    }
}

pub async fn cursor_paging_by_query_and_search(app: &TestApp) {
    let mut all = Vec::new();
    for i in 0..5 {
        all.push(app.user(&format!("pc{i}")).await);
    }
    all.sort();
    // GIVEN five users WHEN paged two at a time THEN three pages, each user once, in id order.
    let (seen, pages) = page_through(app, None).await;
    assert_eq!((seen.clone(), pages), (all.clone(), 3));

    // The first page by query, with `cursor` given without a value.
    let first = app.get("/Users?count=2&cursor").await.expect(200);
    assert_eq!(first.body["totalResults"], 5);
    assert_eq!(ids(&first.body), all[..2].to_vec());
    let token = first.body["nextCursor"].as_str().unwrap().to_string();

    // The same cursor continues a `.search` with the same (absent) filter.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "cursor": token, "count": 10,
    });
    let rest = app.post("/Users/.search", &body).await.expect(200);
    assert_eq!(ids(&rest.body), all[2..].to_vec());
    assert!(rest.body.get("nextCursor").is_none(), "last page");
    assert_eq!(rest.body["totalResults"], 5);

    // A filtered listing counts and pages by its filter.
    let (seen, _) = page_through(app, Some(r#"userName sw "pc""#)).await;
    assert_eq!(seen, all);

    // count=0 asks for the total only.
    let totals = app.get("/Users?cursor=&count=0").await.expect(200);
    assert_eq!(totals.body["totalResults"], 5);
    assert!(totals.body.get("nextCursor").is_none());
}

pub async fn bad_cursors_and_mixed_paging_are_refused(app: &TestApp) {
    for i in 0..3 {
        app.user(&format!("bc{i}")).await;
    }
    let first = app.get("/Users?cursor=&count=1").await.expect(200);
    let token = first.body["nextCursor"].as_str().unwrap().to_string();
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 5;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let other_filter = format!(
        "/Users?count=1&cursor={}&filter={}",
        enc(&token),
        enc(r#"userName sw "bc""#)
    );
    let rows: &[(&str, String, &str)] = &[
        ("forged", "/Users?cursor=Zm9yZ2Vk".into(), "invalidCursor"),
        (
            "altered",
            format!("/Users?cursor={}", enc(&flipped)),
            "invalidCursor",
        ),
        ("other filter", other_filter, "invalidCursor"),
        (
            "other kind",
            format!("/Groups?cursor={}", enc(&token)),
            "invalidCursor",
        ),
        (
            "with startIndex",
            format!("/Users?cursor={}&startIndex=2", enc(&token)),
            "invalidValue",
        ),
        (
            "with sortBy",
            "/Users?cursor=&sortBy=userName".into(),
            "invalidValue",
        ),
    ];
    for (name, path, scim_type) in rows {
        let r = app.get(path).await;
        assert_eq!(r.status.as_u16(), 400, "{name}: {}", r.body);
        r.expect_error(400, Some(scim_type));
    }
    let search = |body: Value| async move { app.post("/Users/.search", &body).await };
    search(json!({"cursor": "Zm9yZ2Vk"}))
        .await
        .expect_error(400, Some("invalidCursor"));
    search(json!({"cursor": "", "startIndex": 1}))
        .await
        .expect_error(400, Some("invalidValue"));
    app.post("/.search", &json!({"cursor": ""}))
        .await
        .expect_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn a_cursor_from_one_tenant_is_refused_by_another() {
    // GIVEN two tenants served with the same cursor key (as every instance of one deployment)
    let key = CursorKey::derive(b"shared deployment secret");
    let alpha = TestApp::over_with_key(
        MemoryStore::new(),
        TenantId::parse("alpha").unwrap(),
        key.clone(),
    );
    let alpha_again = TestApp::over_with_key(
        MemoryStore::new(),
        TenantId::parse("alpha").unwrap(),
        key.clone(),
    );
    let beta = TestApp::over_with_key(MemoryStore::new(), TenantId::parse("beta").unwrap(), key);
    for i in 0..3 {
        alpha.user(&format!("t{i}")).await;
        beta.user(&format!("t{i}")).await;
    }
    let first = alpha.get("/Users?cursor=&count=1").await.expect(200);
    let token = enc(first.body["nextCursor"].as_str().unwrap());
    // WHEN tenant beta is handed alpha's cursor THEN it is refused
    beta.get(&format!("/Users?cursor={token}"))
        .await
        .expect_error(400, Some("invalidCursor"));
    // while another instance serving alpha with the same key accepts it.
    alpha_again
        .get(&format!("/Users?cursor={token}"))
        .await
        .expect(200);
    // And an instance with its own random key refuses it.
    let stranger = TestApp::over(MemoryStore::new(), TenantId::parse("alpha").unwrap());
    stranger
        .get(&format!("/Users?cursor={token}"))
        .await
        .expect_error(400, Some("invalidCursor"));
}

crate::on_every_store!(
    cursor_paging_by_query_and_search,
    bad_cursors_and_mixed_paging_are_refused,
);
