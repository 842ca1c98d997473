//! Input generators: structured (grammar-shaped filters and paths, PATCH operations), seeded
//! (the corpus and the recorded fixtures, mutated) and byte-level (arbitrary strings).

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::support::fixtures;

/// Lines of a corpus file under `tests/fuzz/corpus/`.
pub fn corpus(name: &str) -> Vec<String> {
    fixtures::text(&format!("tests/fuzz/corpus/{name}"))
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every recorded request body under `tests/fixtures/*/*.json`, with its file name.
pub fn fixtures() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let clients = std::fs::read_dir(fixtures::path("tests/fixtures")).expect("tests/fixtures");
    let mut dirs: Vec<_> = clients
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        for file in fixtures::files(&dir.display().to_string()) {
            if file.extension().is_some_and(|e| e == "json") {
                let name = file.display().to_string();
                let value = serde_json::from_str(&fixtures::text(&name)).expect("fixture is JSON");
                out.push((name, value));
            }
        }
    }
    out
}

/// Fixture bodies that are PATCH requests.
pub fn patch_fixtures() -> Vec<Value> {
    fixtures()
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| v.get("Operations").is_some())
        .collect()
}

/// Fixture bodies that are POST/PUT bodies.
pub fn create_fixtures() -> Vec<Value> {
    fixtures()
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| v.get("Operations").is_none())
        .collect()
}

/// Tokens that matter to the filter and path grammar.
const TOKENS: &[&str] = &[
    " ",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "\\",
    ".",
    ":",
    ",",
    " and ",
    " or ",
    "not ",
    " eq ",
    " pr",
    " co ",
    " gt ",
    "true",
    "null",
    "1e999",
    "-",
    "$ref",
    "urn:",
    "2.0:User:",
    "\\u0000",
    "\u{0}",
    "é",
    "\u{10FFFF}",
    "ẞ",
    "\r\n",
    "\t",
];

/// One edit of a byte string.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Insert a grammar token at a position.
    Token(usize, usize),
    /// Insert a random byte.
    Byte(usize, u8),
    /// Delete `len` bytes at a position.
    Delete(usize, usize),
    /// Duplicate a range at its end (grows nesting and lists).
    Duplicate(usize, usize),
    /// Overwrite a byte.
    Flip(usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<usize>(), 0..TOKENS.len()).prop_map(|(p, t)| Edit::Token(p, t)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Byte(p, b)),
        2 => (any::<usize>(), 1usize..8).prop_map(|(p, n)| Edit::Delete(p, n)),
        1 => (any::<usize>(), 1usize..24).prop_map(|(p, n)| Edit::Duplicate(p, n)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Flip(p, b)),
    ]
}

/// Applies byte-level edits; the result goes back to text lossily (the parsers take `&str`).
pub fn mutate_text(seed: &str, edits: &[Edit]) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for e in edits {
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
        match *e {
            Edit::Token(p, t) => {
                let i = at(p, bytes.len());
                bytes.splice(i..i, TOKENS[t].bytes());
            }
            Edit::Byte(p, b) => {
                let i = at(p, bytes.len());
                bytes.insert(i, b);
            }
            Edit::Delete(p, n) => {
                let i = at(p, bytes.len());
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Duplicate(p, n) => {
                let i = at(p, bytes.len());
                let end = (i + n).min(bytes.len());
                let copy: Vec<u8> = bytes[i..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Edit::Flip(p, b) if !bytes.is_empty() => {
                let i = p % bytes.len();
                bytes[i] = b;
            }
            Edit::Flip(..) => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Seeds, mutated by up to `max_edits` byte-level edits.
pub fn mutated(seeds: Vec<String>, max_edits: usize) -> impl Strategy<Value = String> {
    (
        prop::sample::select(seeds),
        prop::collection::vec(edit(), 0..=max_edits),
    )
        .prop_map(|(s, e)| mutate_text(&s, &e))
}

const ATTRS: &[&str] = &[
    "userName",
    "UserName",
    "name.givenName",
    "name.familyName",
    "emails",
    "emails.value",
    "emails.type",
    "active",
    "externalId",
    "id",
    "meta.created",
    "meta.lastModified",
    "members",
    "members.value",
    "members.$ref",
    "displayName",
    "title",
    "roles.primary",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:x:y",
    "1bad",
    "a.b.c",
    "x",
];

const OPS: &[&str] = &[
    "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Gt", "xx",
];

fn comp_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("true".to_string()),
        Just("False".to_string()),
        Just("null".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        "[a-zA-Z0-9@._é -]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        "[a-zA-Z0-9@._-]{1,8}",
        Just("\"2011-05-13T04:42:34Z\"".to_string()),
    ]
}

/// Grammar-shaped filter text: mostly valid, with wrong attribute names and operators mixed in.
pub fn filter_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (
            prop::sample::select(ATTRS),
            prop::sample::select(OPS),
            comp_value()
        )
            .prop_map(|(a, o, v)| format!("{a} {o} {v}")),
        prop::sample::select(ATTRS).prop_map(|a| format!("{a} pr")),
    ];
    leaf.prop_recursive(6, 48, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} OR {b}")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            inner.clone().prop_map(|a| format!("({a})")),
            (prop::sample::select(ATTRS), inner.clone()).prop_map(|(p, a)| format!("{p}[{a}]")),
            (prop::sample::select(ATTRS), inner, comp_value())
                .prop_map(|(p, a, v)| format!("{p}[{a}].value eq {v}")),
        ]
    })
}

/// Grammar-shaped PATCH paths.
pub fn patch_path_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(ATTRS).prop_map(str::to_string),
        (prop::sample::select(ATTRS), filter_text()).prop_map(|(a, f)| format!("{a}[{f}]")),
        (
            prop::sample::select(ATTRS),
            filter_text(),
            prop::sample::select(ATTRS)
        )
            .prop_map(|(a, f, s)| format!("{a}[{f}].{s}")),
    ]
}

/// Text from every source: seeds mutated, grammar-shaped (and mutated), arbitrary.
pub fn any_text(
    seeds: Vec<String>,
    shaped: impl Strategy<Value = String> + 'static,
) -> impl Strategy<Value = String> {
    let shaped = shaped.boxed();
    prop_oneof![
        4 => mutated(seeds, 6),
        3 => shaped.clone(),
        2 => (shaped, prop::collection::vec(edit(), 1..4)).prop_map(|(s, e)| mutate_text(&s, &e)),
        1 => any::<String>(),
        1 => "[ -~]{0,80}",
    ]
}

/// Leaf JSON values, weighted to the types SCIM attributes have and the quirks clients send.
pub fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        Just(json!("True")),
        Just(json!("")),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-zA-Z0-9@. -]{0,10}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
        Just(json!({"value": "u-1"})),
        Just(json!([{"value": "u-2", "display": "B"}])),
        Just(json!({"type": "work", "value": "w@x.y", "primary": true})),
        Just(json!([])),
        Just(json!({})),
        Just(json!({"givenName": "G", "name.familyName": "F"})),
    ]
}

/// Arbitrary JSON of bounded size.
pub fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z.:$]{1,10}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Keys worth writing into a mutated object.
const KEYS: &[&str] = &[
    "op",
    "path",
    "value",
    "Operations",
    "schemas",
    "userName",
    "members",
    "displayName",
    "emails",
    "active",
    "id",
    "meta",
    "externalId",
    "name",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "name.givenName",
    "groups",
    "password",
];

const OP_NAMES: &[&str] = &[
    "add", "Add", "replace", "Replace", "remove", "REMOVE", "copy", "",
];

/// One structural edit of a JSON document, at the node numbered `at` in pre-order.
#[derive(Debug, Clone)]
pub enum JsonEdit {
    /// Replace the node by a leaf.
    Replace(usize, Value),
    /// Remove the node from its parent.
    Remove(usize),
    /// Insert a key (objects) or element (arrays) into the node.
    Insert(usize, usize, Value),
    /// Set `op` of the node (when an object) to one of the op names.
    Op(usize, usize),
    /// Set `path` of the node (when an object) to a generated path.
    Path(usize, String),
    /// Wrap the node in an array.
    Wrap(usize),
    /// Turn the node into its JSON text (Entra's stringified values).
    Stringify(usize),
    /// Duplicate an array's elements.
    Double(usize),
}

pub fn json_edit() -> impl Strategy<Value = JsonEdit> {
    let at = any::<usize>();
    prop_oneof![
        3 => (at, leaf()).prop_map(|(a, v)| JsonEdit::Replace(a, v)),
        2 => at.prop_map(JsonEdit::Remove),
        2 => (at, 0..KEYS.len(), json_value()).prop_map(|(a, k, v)| JsonEdit::Insert(a, k, v)),
        2 => (at, 0..OP_NAMES.len()).prop_map(|(a, o)| JsonEdit::Op(a, o)),
        3 => (at, any_text(corpus("patch_paths.txt"), patch_path_text()))
            .prop_map(|(a, p)| JsonEdit::Path(a, p)),
        1 => at.prop_map(JsonEdit::Wrap),
        1 => at.prop_map(JsonEdit::Stringify),
        1 => at.prop_map(JsonEdit::Double),
    ]
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(o) => o.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Applies one edit to the node numbered `*n` (pre-order); returns whether it was applied.
/// `Remove` is applied by the parent, hence the `parent` pass.
fn edit_at(v: &mut Value, n: &mut usize, e: &JsonEdit) -> bool {
    if *n == 0 {
        apply_here(v, e);
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(items) => {
            for i in 0..items.len() {
                if *n == 0 && matches!(e, JsonEdit::Remove(_)) {
                    items.remove(i);
                    return true;
                }
                if edit_at(&mut items[i], n, e) {
                    return true;
                }
            }
            false
        }
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if *n == 0 && matches!(e, JsonEdit::Remove(_)) {
                    map.shift_remove(&k);
                    return true;
                }
                if let Some(child) = map.get_mut(&k)
                    && edit_at(child, n, e)
                {
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

fn apply_here(v: &mut Value, e: &JsonEdit) {
    match e {
        JsonEdit::Replace(_, leaf) => *v = leaf.clone(),
        JsonEdit::Remove(_) => *v = Value::Null,
        JsonEdit::Insert(_, k, x) => match v {
            Value::Object(map) => {
                map.insert(KEYS[*k].to_string(), x.clone());
            }
            Value::Array(items) => items.push(x.clone()),
            _ => {}
        },
        JsonEdit::Op(_, o) => {
            if let Value::Object(map) = v {
                map.insert("op".into(), json!(OP_NAMES[*o]));
            }
        }
        JsonEdit::Path(_, p) => {
            if let Value::Object(map) = v {
                map.insert("path".into(), json!(p));
            }
        }
        JsonEdit::Wrap(_) => *v = Value::Array(vec![v.take()]),
        JsonEdit::Stringify(_) => *v = Value::String(v.to_string()),
        JsonEdit::Double(_) => {
            if let Value::Array(items) = v {
                let copy = items.clone();
                items.extend(copy);
            }
        }
    }
}

/// Applies edits, each at a node chosen modulo the current node count.
pub fn mutate_json(seed: &Value, edits: &[JsonEdit]) -> Value {
    let mut doc = seed.clone();
    for e in edits {
        let at = match e {
            JsonEdit::Replace(a, _)
            | JsonEdit::Remove(a)
            | JsonEdit::Insert(a, ..)
            | JsonEdit::Op(a, _)
            | JsonEdit::Path(a, _)
            | JsonEdit::Wrap(a)
            | JsonEdit::Stringify(a)
            | JsonEdit::Double(a) => *a,
        };
        let mut n = at % count_nodes(&doc);
        edit_at(&mut doc, &mut n, e);
    }
    doc
}

/// Seed documents with up to `max` structural edits.
pub fn mutated_json(seeds: Vec<Value>, max: usize) -> impl Strategy<Value = Value> {
    (
        prop::sample::select(seeds),
        prop::collection::vec(json_edit(), 0..=max),
    )
        .prop_map(|(s, e)| mutate_json(&s, &e))
}

/// A generated PATCH body: 1–6 operations built from the op names, paths and leaves.
pub fn patch_body() -> impl Strategy<Value = Value> {
    let op = (
        prop::sample::select(OP_NAMES),
        prop::option::of(any_text(corpus("patch_paths.txt"), patch_path_text())),
        prop_oneof![leaf(), json_value()],
    )
        .prop_map(|(op, path, value)| {
            let mut m = Map::new();
            m.insert("op".into(), json!(op));
            if let Some(p) = path {
                m.insert("path".into(), json!(p));
            }
            m.insert("value".into(), value);
            Value::Object(m)
        });
    prop::collection::vec(op, 0..6).prop_map(|ops| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
    })
}
