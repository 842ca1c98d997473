//! A JSON object's top-level members as their text: names borrowed from the document unless
//! they contain escapes, values as `RawValue`s, in document order. Reading a stored document
//! this way costs a scan, not a tree: the embedded feed compares two versions member by member,
//! and a response copies the members a projection keeps as they are.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// An object's members. A document has a dozen or so, so a scan finds one faster than hashing
/// would.
#[derive(Debug, Default)]
pub struct RawMembers<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> RawMembers<'a> {
    /// Reads the members of the JSON object `text`.
    ///
    /// # Errors
    /// When `text` is not a JSON object.
    pub fn parse(text: &'a str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }

    /// The member `name`'s value.
    pub fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, raw)| *raw)
    }

    /// The members in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'a RawValue)> {
        self.0.iter().map(|(name, raw)| (name.as_ref(), *raw))
    }
}

impl<'de> Deserialize<'de> for RawMembers<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = RawMembers<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMembers<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(Name(name)) = map.next_key()? {
                    members.push((name, map.next_value::<&'de RawValue>()?));
                }
                Ok(RawMembers(members))
            }
        }
        deserializer.deserialize_map(Object)
    }
}

/// A member's name, borrowed when it has no escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_order_text_and_names() {
        let doc = r#"{"b":{"x": 1},"a\"q":[1,2],"c":"s"}"#;
        let members = RawMembers::parse(doc).unwrap();
        let read: Vec<(&str, &str)> = members.iter().map(|(n, r)| (n, r.get())).collect();
        assert_eq!(
            read,
            [("b", r#"{"x": 1}"#), ("a\"q", "[1,2]"), ("c", r#""s""#)]
        );
        assert_eq!(members.get("c").map(RawValue::get), Some(r#""s""#));
        assert!(members.get("d").is_none());
        assert!(RawMembers::parse("[1]").is_err());
    }
}
