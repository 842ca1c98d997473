//! List queries and ListResponses (RFC 7644 §3.4.2): the parameters of `GET /Users` and
//! `POST /.search`, parsed once into types, sorting, and the response body.

use std::cmp::Ordering;
use std::num::NonZeroU64;

use serde::Serialize;
use serde_json::Value;

use crate::scim::error::{Error, Result};
use crate::scim::filter::Filter;
use crate::scim::path::AttrPath;
use crate::scim::projection::Projection;
use crate::scim::schema::{AttrType, ResourceKind, container_of, fold_case, get_ci};
use crate::scim::urn;

/// Page size used when the client gives no `count`.
pub const DEFAULT_COUNT: usize = 100;
/// Largest page served; larger `count`s are lowered to it (RFC 7644 §3.4.2.4 lets the server
/// cap), and `/ServiceProviderConfig` advertises it as `filter.maxResults`.
pub const MAX_COUNT: usize = 1000;

/// Sort order (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    /// Attribute to sort by.
    pub by: AttrPath,
    /// Descending instead of ascending.
    pub descending: bool,
}

/// The parsed parameters of a list or search request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListParams {
    /// `filter`.
    pub filter: Option<Filter>,
    /// `attributes` / `excludedAttributes`.
    pub projection: Projection,
    /// `sortBy` / `sortOrder`.
    pub sort: Option<Sort>,
    /// 1-based `startIndex`; values below 1 mean 1 (RFC 7644 §3.4.2.4).
    pub start_index: NonZeroU64,
    /// `count`, capped to [`MAX_COUNT`]; negative means 0 (totals only).
    pub count: usize,
    /// RFC 9865 `cursor`: `Some("")` asks for the first page of cursor paging, `Some(token)`
    /// continues where the page that issued `token` stopped; `None` is index paging.
    pub cursor: Option<String>,
}

impl Default for ListParams {
    fn default() -> Self {
        ListParams {
            filter: None,
            projection: Projection::default(),
            sort: None,
            start_index: NonZeroU64::MIN,
            count: DEFAULT_COUNT,
            cursor: None,
        }
    }
}

impl ListParams {
    /// Parses query-string pairs. Parameter names are matched case-insensitively and unknown
    /// ones (Entra's `aadOptscim062020`) are ignored.
    ///
    /// # Errors
    /// `invalidFilter`, `invalidPath` or `invalidValue` for the parameter at fault.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut p = ListParams::default();
        let mut start_given = false;
        let (mut attributes, mut excluded, mut sort_by, mut sort_order) = (None, None, None, None);
        for (key, value) in pairs {
            match key.to_ascii_lowercase().as_str() {
                "filter" => p.filter = Some(Filter::parse(value)?),
                "attributes" => attributes = Some(value),
                "excludedattributes" => excluded = Some(value),
                "sortby" => sort_by = Some(value),
                "sortorder" => sort_order = Some(value),
                "startindex" => {
                    p.start_index = parse_start_index(&Value::from(value))?;
                    start_given = true;
                }
                "count" => p.count = parse_count(&Value::from(value))?,
                // `?cursor` with no value is the first page, like `?cursor=` (RFC 9865 §3).
                "cursor" => p.cursor = Some(value.to_string()),
                _ => {}
            }
        }
        p.projection = Projection::parse(attributes, excluded)?;
        p.sort = parse_sort(sort_by, sort_order)?;
        p.check_paging(start_given)?;
        Ok(p)
    }

    /// Cursor paging excludes `startIndex` (RFC 9865 §3: the two pagination methods are not
    /// mixed in one request) and `sortBy` (cursors continue in id order, the only order a
    /// cursor can resume without re-reading every earlier result).
    fn check_paging(&self, start_given: bool) -> Result<()> {
        if self.cursor.is_none() {
            return Ok(());
        }
        if start_given {
            return Err(Error::invalid_value(
                "'cursor' and 'startIndex' cannot be combined: use one pagination method",
            ));
        }
        if self.sort.is_some() {
            return Err(Error::invalid_value(
                "'sortBy' cannot be combined with 'cursor': cursor pages come in id order",
            ));
        }
        Ok(())
    }

    /// Parses a `SearchRequest` body (RFC 7644 §3.4.3).
    ///
    /// # Errors
    /// `invalidSyntax` for a body that is not an object or has mistyped members, plus the
    /// errors of [`ListParams::from_pairs`].
    pub fn from_search_request(body: &Value) -> Result<Self> {
        let Some(object) = body.as_object() else {
            return Err(Error::invalid_syntax(
                "a SearchRequest must be a JSON object",
            ));
        };
        let mut p = ListParams::default();
        let mut start_given = false;
        if let Some(f) = get_ci(object, "filter") {
            p.filter = Some(Filter::parse(as_str(f, "filter")?)?);
        }
        let list = |key: &str| -> Result<Option<String>> {
            match get_ci(object, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(items)) => {
                    let names: Result<Vec<&str>> = items.iter().map(|i| as_str(i, key)).collect();
                    Ok(Some(names?.join(",")))
                }
                Some(other) => Ok(Some(as_str(other, key)?.to_string())),
            }
        };
        let (attributes, excluded) = (list("attributes")?, list("excludedAttributes")?);
        p.projection = Projection::parse(attributes.as_deref(), excluded.as_deref())?;
        let sort_by = get_ci(object, "sortBy")
            .map(|v| as_str(v, "sortBy"))
            .transpose()?;
        let order = get_ci(object, "sortOrder")
            .map(|v| as_str(v, "sortOrder"))
            .transpose()?;
        p.sort = parse_sort(sort_by, order)?;
        if let Some(v) = get_ci(object, "startIndex") {
            p.start_index = parse_start_index(v)?;
            start_given = true;
        }
        if let Some(v) = get_ci(object, "count") {
            p.count = parse_count(v)?;
        }
        match get_ci(object, "cursor") {
            None => {}
            // `"cursor": null` is read as the empty cursor: the first page.
            Some(Value::Null) => p.cursor = Some(String::new()),
            Some(v) => p.cursor = Some(as_str(v, "cursor")?.to_string()),
        }
        p.check_paging(start_given)?;
        Ok(p)
    }
}

fn as_str<'v>(v: &'v Value, key: &str) -> Result<&'v str> {
    v.as_str()
        .ok_or_else(|| Error::invalid_syntax(format!("'{key}' must be a string")))
}

fn integer(v: &Value, key: &str) -> Result<i64> {
    let parsed = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| Error::invalid_value(format!("'{key}' must be an integer")))
}

fn parse_start_index(v: &Value) -> Result<NonZeroU64> {
    let n = integer(v, "startIndex")?;
    Ok(NonZeroU64::new(u64::try_from(n).unwrap_or(0)).unwrap_or(NonZeroU64::MIN))
}

fn parse_count(v: &Value) -> Result<usize> {
    let n = integer(v, "count")?;
    Ok(usize::try_from(n).unwrap_or(0).min(MAX_COUNT))
}

fn parse_sort(by: Option<&str>, order: Option<&str>) -> Result<Option<Sort>> {
    let Some(by) = by.filter(|b| !b.trim().is_empty()) else {
        return Ok(None);
    };
    let by = AttrPath::parse(by.trim())?;
    let descending = match order.map(str::trim) {
        None | Some("") => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => {
            return Err(Error::invalid_value(format!(
                "sortOrder must be 'ascending' or 'descending', not '{o}'"
            )));
        }
    };
    Ok(Some(Sort { by, descending }))
}

/// Sorts items by the attribute `sort.by` of the document `doc(item)` returns.
///
/// Resources without a value sort last in either order; ties keep their (id) order, because
/// the sort is stable, so paging through a sorted list is deterministic.
pub fn sort_records<T>(
    kind: ResourceKind,
    sort: &Sort,
    items: &mut [T],
    doc: impl Fn(&T) -> &Value,
) {
    if sort.descending {
        items.sort_by_cached_key(|item| {
            let key = SortKey::of(kind, &sort.by, doc(item));
            (key == SortKey::Absent, std::cmp::Reverse(key))
        });
    } else {
        // `Absent` is the greatest key, so it sorts last.
        items.sort_by_cached_key(|item| SortKey::of(kind, &sort.by, doc(item)));
    }
}

#[derive(Debug, Clone, PartialEq)]
enum SortKey {
    Bool(bool),
    Number(f64),
    Text(String),
    Absent,
}

impl Eq for SortKey {}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Values of one type compare naturally; across types the variant order decides, which puts
/// `Absent` last.
impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortKey::Bool(a), SortKey::Bool(b)) => a.cmp(b),
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl SortKey {
    fn rank(&self) -> u8 {
        match self {
            SortKey::Bool(_) => 0,
            SortKey::Number(_) => 1,
            SortKey::Text(_) => 2,
            SortKey::Absent => 3,
        }
    }

    fn of(kind: ResourceKind, by: &AttrPath, doc: &Value) -> SortKey {
        let Some(resolved) = kind.resolve(by) else {
            return SortKey::Absent;
        };
        let value = container_of(doc, resolved.container)
            .and_then(|c| get_ci(c, resolved.def.stored_name(&by.name)));
        let leaf_def = resolved.sub.unwrap_or(resolved.attr());
        let leaf = match (value, resolved.sub) {
            (Some(Value::Array(items)), sub) => {
                let chosen = items
                    .iter()
                    .find(|i| i.get("primary") == Some(&Value::Bool(true)))
                    .or_else(|| items.first());
                chosen.and_then(|i| i.get(sub.map_or("value", |s| s.name)))
            }
            (Some(v @ Value::Object(_)), Some(sub)) => v.get(sub.name),
            (other, _) => other,
        };
        match leaf {
            Some(Value::Bool(b)) => SortKey::Bool(*b),
            Some(Value::Number(n)) => n.as_f64().map_or(SortKey::Absent, SortKey::Number),
            Some(Value::String(s)) if leaf_def.case_exact || leaf_def.ty == AttrType::DateTime => {
                SortKey::Text(s.clone())
            }
            Some(Value::String(s)) => SortKey::Text(fold_case(s)),
            _ => SortKey::Absent,
        }
    }
}

/// A ListResponse body (RFC 7644 §3.4.2), its resources as trees or as rendered text.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T = Value> {
    schemas: [&'static str; 1],
    /// Matches over all pages.
    pub total_results: u64,
    /// Resources in this page (RFC 7644: the number returned, not the requested count).
    pub items_per_page: usize,
    /// The 1-based index of the first resource, echoed from the request; absent in cursor
    /// paging, where pages have no index (RFC 9865 §3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    /// RFC 9865 `nextCursor`: the cursor of the next page, absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The page.
    #[serde(rename = "Resources")]
    pub resources: Vec<T>,
}

impl<T> ListResponse<T> {
    /// A page of already-rendered resources.
    pub fn new(total_results: u64, start_index: NonZeroU64, resources: Vec<T>) -> Self {
        ListResponse {
            schemas: [urn::LIST_RESPONSE],
            total_results,
            items_per_page: resources.len(),
            start_index: Some(start_index.get()),
            next_cursor: None,
            resources,
        }
    }

    /// A page of cursor paging (RFC 9865): `nextCursor` instead of `startIndex`.
    pub fn cursor_page(total_results: u64, resources: Vec<T>, next: Option<String>) -> Self {
        ListResponse {
            schemas: [urn::LIST_RESPONSE],
            total_results,
            items_per_page: resources.len(),
            start_index: None,
            next_cursor: next,
            resources,
        }
    }
}

impl ListResponse<String> {
    /// The body of a page of resources rendered as JSON text: the envelope as serde writes it,
    /// with the texts copied into `Resources` as they are rather than parsed again.
    ///
    /// # Errors
    /// Never in practice: `Resources` is the envelope's last field, which a test checks.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let envelope = ListResponse::<Value> {
            schemas: self.schemas,
            total_results: self.total_results,
            items_per_page: self.items_per_page,
            start_index: self.start_index,
            next_cursor: self.next_cursor.clone(),
            resources: Vec::new(),
        };
        let mut out = serde_json::to_vec(&envelope)?;
        if !out.ends_with(b"[]}") {
            return Err(serde::ser::Error::custom("Resources is not the last field"));
        }
        out.truncate(out.len() - 2);
        out.reserve(self.resources.iter().map(|r| r.len() + 1).sum::<usize>() + 2);
        for (i, resource) in self.resources.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(resource.as_bytes());
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn params(q: &[(&str, &str)]) -> Result<ListParams> {
        ListParams::from_pairs(q.iter().copied())
    }

    #[test]
    fn query_parameters_table() {
        type Row = (
            &'static str,
            &'static [(&'static str, &'static str)],
            u64,
            usize,
        );
        let rows: &[Row] = &[
            ("defaults", &[], 1, DEFAULT_COUNT),
            ("explicit", &[("startIndex", "6"), ("count", "5")], 6, 5),
            (
                "names_case_insensitive",
                &[("STARTINDEX", "2"), ("Count", "3")],
                2,
                3,
            ),
            (
                "start_below_one_is_one",
                &[("startIndex", "0")],
                1,
                DEFAULT_COUNT,
            ),
            (
                "negative_start_is_one",
                &[("startIndex", "-4")],
                1,
                DEFAULT_COUNT,
            ),
            ("negative_count_is_zero", &[("count", "-1")], 1, 0),
            ("count_capped", &[("count", "100000")], 1, MAX_COUNT),
            (
                "unknown_ignored",
                &[("aadOptscim062020", ""), ("count", "1")],
                1,
                1,
            ),
        ];
        for (name, q, start, count) in rows {
            let p = params(q).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.start_index.get(), *start, "{name}");
            assert_eq!(p.count, *count, "{name}");
        }
    }

    #[test]
    fn bad_parameters_are_scim_errors() {
        use crate::scim::error::ScimType;
        type Row = (
            &'static str,
            &'static [(&'static str, &'static str)],
            ScimType,
        );
        let rows: &[Row] = &[
            ("bad_count", &[("count", "ten")], ScimType::InvalidValue),
            (
                "bad_filter",
                &[("filter", "userName eq")],
                ScimType::InvalidFilter,
            ),
            (
                "bad_sort_order",
                &[("sortBy", "userName"), ("sortOrder", "up")],
                ScimType::InvalidValue,
            ),
            (
                "bad_attributes",
                &[("attributes", "1x")],
                ScimType::InvalidPath,
            ),
        ];
        for (name, q, ty) in rows {
            let err = params(q).expect_err(name);
            assert_eq!(err.scim_type, Some(*ty), "{name}");
        }
    }

    #[test]
    fn cursor_parameters_table() {
        use crate::scim::error::ScimType;
        type Row = (
            &'static str,
            &'static [(&'static str, &'static str)],
            std::result::Result<Option<&'static str>, ScimType>,
        );
        let rows: &[Row] = &[
            ("absent_is_index_paging", &[("count", "5")], Ok(None)),
            ("empty_is_first_page", &[("cursor", "")], Ok(Some(""))),
            (
                "token_kept_verbatim",
                &[("Cursor", "abc-_")],
                Ok(Some("abc-_")),
            ),
            (
                "with_start_index",
                &[("cursor", ""), ("startIndex", "1")],
                Err(ScimType::InvalidValue),
            ),
            (
                "with_sort",
                &[("cursor", "x"), ("sortBy", "userName")],
                Err(ScimType::InvalidValue),
            ),
        ];
        for (name, q, want) in rows {
            let got = params(q).map(|p| p.cursor).map_err(|e| e.scim_type);
            let want = want.map(|c| c.map(str::to_string)).map_err(Some);
            assert_eq!(got, want, "{name}");
        }
        let body = |v: Value| ListParams::from_search_request(&v).map(|p| p.cursor);
        assert_eq!(body(json!({"cursor": ""})).unwrap().as_deref(), Some(""));
        assert_eq!(body(json!({"cursor": null})).unwrap().as_deref(), Some(""));
        assert_eq!(
            body(json!({"cursor": "t", "count": 2})).unwrap().as_deref(),
            Some("t")
        );
        assert!(body(json!({"cursor": "t", "startIndex": 3})).is_err());
        assert!(body(json!({"cursor": 5})).is_err());
    }

    #[test]
    fn search_request_body() {
        let body = json!({
            "schemas": [urn::SEARCH_REQUEST],
            "attributes": ["displayName", "userName"],
            "filter": "displayName sw \"smith\"",
            "startIndex": 1, "count": 10, "sortBy": "userName", "sortOrder": "descending"
        });
        let p = ListParams::from_search_request(&body).unwrap();
        assert_eq!(p.count, 10);
        assert_eq!(p.projection.attributes.len(), 2);
        assert!(p.filter.is_some());
        assert!(p.sort.unwrap().descending);
        assert!(ListParams::from_search_request(&json!([1])).is_err());
    }

    #[test]
    fn sorting_is_case_insensitive_stable_and_puts_missing_last() {
        let docs = vec![
            json!({"id": "1", "userName": "bob"}),
            json!({"id": "2"}),
            json!({"id": "3", "userName": "Alice"}),
            json!({"id": "4", "userName": "carol"}),
        ];
        let order = |descending| {
            let mut d = docs.clone();
            let sort = Sort {
                by: AttrPath::new("userName"),
                descending,
            };
            sort_records(ResourceKind::User, &sort, &mut d, |v| v);
            d.iter()
                .map(|v| v["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(order(false), ["3", "1", "4", "2"]);
        assert_eq!(order(true), ["4", "1", "3", "2"]);
    }

    #[test]
    fn list_response_counts_returned_items() {
        let r = ListResponse::new(7, NonZeroU64::new(6).unwrap(), vec![json!({}), json!({})]);
        let v = serde_json::to_value(r).unwrap();
        assert_eq!(v["totalResults"], 7);
        assert_eq!(v["itemsPerPage"], 2);
        assert_eq!(v["startIndex"], 6);
        assert_eq!(v["schemas"][0], urn::LIST_RESPONSE);
        assert!(v["Resources"].is_array());
        assert!(v.get("nextCursor").is_none());
    }

    #[test]
    fn rendered_pages_are_the_pages_serde_writes() {
        let docs = [
            json!({"id": "1", "a": [1, {"b": "\""}]}),
            json!({"id": "2"}),
        ];
        for n in 0..=docs.len() {
            let texts: Vec<String> = docs[..n].iter().map(Value::to_string).collect();
            let pages = [
                (
                    ListResponse::new(7, NonZeroU64::MIN, texts.clone()),
                    ListResponse::new(7, NonZeroU64::MIN, docs[..n].to_vec()),
                ),
                (
                    ListResponse::cursor_page(7, texts, Some("c".into())),
                    ListResponse::cursor_page(7, docs[..n].to_vec(), Some("c".into())),
                ),
            ];
            for (rendered, trees) in pages {
                assert_eq!(
                    rendered.to_json().unwrap(),
                    serde_json::to_vec(&trees).unwrap()
                );
            }
        }
    }

    #[test]
    fn cursor_pages_carry_next_cursor_and_no_start_index() {
        let page = |next: Option<&str>| {
            let r = ListResponse::cursor_page(3, vec![json!({})], next.map(str::to_string));
            serde_json::to_value(r).unwrap()
        };
        let middle = page(Some("c2"));
        assert_eq!(middle["nextCursor"], "c2");
        assert_eq!(middle["totalResults"], 3);
        assert!(middle.get("startIndex").is_none());
        assert!(page(None).get("nextCursor").is_none(), "last page");
    }
}
