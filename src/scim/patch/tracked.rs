//! The document a PATCH runs against, taken by value and changed in place. Operations reach
//! its members through [`Tracked::member_mut`], which keeps the members of that name as they
//! were before the first change to them; at the end, comparing those few members tells
//! whether the request changed anything. A PATCH needs no copy of the whole document made up
//! front to find out that it is a no-op (Entra re-sends unchanged values).

use serde_json::{Map, Value};

/// The document's members, with the ones an operation asked to change kept as they were.
pub(super) struct Tracked<'a> {
    members: &'a mut Map<String, Value>,
    kept: Kept,
}

/// Members as they were before the first change to them: for each name asked for (compared
/// without case, as attribute names are), every member so named.
#[derive(Debug, Default)]
pub(super) struct Kept(Vec<(String, Vec<(String, Value)>)>);

impl<'a> Tracked<'a> {
    pub(super) fn new(members: &'a mut Map<String, Value>) -> Self {
        Tracked {
            members,
            kept: Kept::default(),
        }
    }

    /// The members, to read.
    pub(super) fn members(&self) -> &Map<String, Value> {
        self.members
    }

    /// The members, to change the one named `name` (in any case) and no other: what a
    /// caller does to another member goes unseen.
    pub(super) fn member_mut(&mut self, name: &str) -> &mut Map<String, Value> {
        self.keep(name);
        self.members
    }

    /// Keeps the members named `name` as they are now, unless already kept.
    pub(super) fn keep(&mut self, name: &str) {
        if self
            .kept
            .0
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            return;
        }
        let now = named(self.members, name)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.kept.0.push((name.to_string(), now));
    }

    /// What was kept, once the operations are done.
    pub(super) fn into_kept(self) -> Kept {
        self.kept
    }
}

impl Kept {
    /// Whether any kept member is gone, new or holds another value in `members` (member
    /// order aside, as in `Value`'s equality).
    pub(super) fn differs_from(&self, members: &Map<String, Value>) -> bool {
        self.0.iter().any(|(name, before)| {
            named(members, name).count() != before.len()
                || before.iter().any(|(k, v)| members.get(k) != Some(v))
        })
    }
}

fn named<'m>(
    members: &'m Map<String, Value>,
    name: &'m str,
) -> impl Iterator<Item = (&'m String, &'m Value)> {
    members.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_a_kept_member_that_changed_counts() {
        type Edit = fn(&mut Tracked<'_>);
        let cases: [(&str, Edit, bool); 7] = [
            ("nothing asked", |_| {}, false),
            (
                "same value written back",
                |t| {
                    t.member_mut("title").insert("title".into(), json!("x"));
                },
                false,
            ),
            (
                "new value",
                |t| {
                    t.member_mut("title").insert("title".into(), json!("y"));
                },
                true,
            ),
            (
                "member removed",
                |t| {
                    t.member_mut("title").shift_remove("title");
                },
                true,
            ),
            (
                "member added",
                |t| {
                    t.member_mut("nickName")
                        .insert("nickName".into(), json!("n"));
                },
                true,
            ),
            (
                "renamed to another case",
                |t| {
                    let m = t.member_mut("TITLE");
                    let v = m.shift_remove("title").unwrap_or_default();
                    m.insert("Title".into(), v);
                },
                true,
            ),
            (
                "moved to the end with its value",
                |t| {
                    let m = t.member_mut("title");
                    let v = m.shift_remove("title").unwrap_or_default();
                    m.insert("title".into(), v);
                },
                false,
            ),
        ];
        for (name, edit, changed) in cases {
            let mut doc = json!({"title": "x", "userName": "u", "active": true});
            let members = doc.as_object_mut().unwrap();
            let mut tracked = Tracked::new(members);
            edit(&mut tracked);
            let kept = tracked.into_kept();
            assert_eq!(kept.differs_from(members), changed, "{name}");
        }
    }
}
