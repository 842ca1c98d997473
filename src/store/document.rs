//! A resource document as a store hands it over: its tree, or the compact JSON text the store
//! keeps. A read that only renders the document (a lookup, a `GET`) copies the text into the
//! response without building the tree (`service::render`); whatever needs the values (a
//! filter, a sort, a PATCH) asks for the tree, parsed once.

use std::sync::Arc;

use serde_json::Value;

use super::{StoreError, StoreResult};

/// A resource's document.
#[derive(Debug, Clone)]
pub enum Document {
    /// Parsed (every document the service writes, and the DynamoDB store's reads).
    Tree(Value),
    /// Compact JSON text of an object, as `serde_json` wrote it (the embedded store's reads).
    Text(Arc<str>),
}

impl Document {
    /// The tree, parsed from the text if need be.
    ///
    /// # Errors
    /// `Internal` when the text is not JSON (corrupt data: the store only keeps what
    /// `serde_json` wrote).
    pub fn into_tree(self) -> StoreResult<Value> {
        match self {
            Document::Tree(v) => Ok(v),
            Document::Text(t) => parse(&t),
        }
    }

    /// The tree, parsed in place the first time it is asked for.
    ///
    /// # Errors
    /// As [`Document::into_tree`].
    pub fn tree(&mut self) -> StoreResult<&Value> {
        self.tree_mut().map(|v| &*v)
    }

    /// The tree to change, parsed in place the first time it is asked for.
    ///
    /// # Errors
    /// As [`Document::into_tree`].
    pub fn tree_mut(&mut self) -> StoreResult<&mut Value> {
        if let Document::Text(t) = self {
            *self = Document::Tree(parse(t)?);
        }
        match self {
            Document::Tree(v) => Ok(v),
            // Replaced by its tree just above.
            Document::Text(_) => Err(StoreError::Internal("a document left unparsed".into())),
        }
    }

    /// The tree: borrowed when parsed, else parsed from the text into a copy (the text stays,
    /// for a reader that renders it).
    ///
    /// # Errors
    /// As [`Document::into_tree`].
    pub fn to_tree(&self) -> StoreResult<std::borrow::Cow<'_, Value>> {
        match self {
            Document::Tree(v) => Ok(std::borrow::Cow::Borrowed(v)),
            Document::Text(t) => parse(t).map(std::borrow::Cow::Owned),
        }
    }

    /// The compact JSON text, serialised from the tree if need be.
    ///
    /// # Errors
    /// `Internal` if the tree cannot be serialised (a `Value` always can).
    pub fn to_text(&self) -> StoreResult<std::borrow::Cow<'_, str>> {
        match self {
            Document::Text(t) => Ok(std::borrow::Cow::Borrowed(t)),
            Document::Tree(v) => serde_json::to_string(v)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| StoreError::Internal(Box::new(e))),
        }
    }

    /// The document as it is written: its compact text, serialised once. Both stores keep
    /// that text (the embedded store as it is, DynamoDB as the item's `doc`), and the answer
    /// to the write renders from it without serialising the tree a second time.
    ///
    /// # Errors
    /// As [`compact`].
    pub fn written(tree: &Value) -> StoreResult<Self> {
        compact(tree).map(Document::Text)
    }

    /// The tree if it has been parsed.
    pub fn parsed(&self) -> Option<&Value> {
        match self {
            Document::Tree(v) => Some(v),
            Document::Text(_) => None,
        }
    }
}

fn parse(text: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Internal(Box::new(e)))
}

/// `tree` as compact JSON text, serialised into a reused buffer and then copied into an
/// allocation of exactly its length: a growing `String` shrunk with `into_boxed_str`
/// reallocates and leaves holes that showed up as RSS growth under a PATCH-heavy sync.
///
/// # Errors
/// `Internal` if the tree cannot be serialised (a `Value` always can).
pub fn compact(tree: &Value) -> StoreResult<Arc<str>> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        serde_json::to_writer(&mut *buf, tree).map_err(|e| StoreError::Internal(Box::new(e)))?;
        std::str::from_utf8(&buf)
            .map(Arc::from)
            .map_err(|e| StoreError::Internal(Box::new(e)))
    })
}

impl From<Value> for Document {
    fn from(v: Value) -> Self {
        Document::Tree(v)
    }
}

/// The same document, whichever form each side is in.
impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Document::Tree(a), Document::Tree(b)) => a == b,
            (Document::Text(a), Document::Text(b)) if a == b => true,
            (a, b) => a.clone().into_tree().ok() == b.clone().into_tree().ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_and_tree_of_one_document_are_the_same() {
        let tree = json!({"id": "1", "userName": "a"});
        let text = Document::Text(Arc::from(tree.to_string()));
        assert_eq!(text, Document::Tree(tree.clone()));
        let mut parsed = text.clone();
        assert_eq!(parsed.tree().ok(), Some(&tree));
        assert_eq!(parsed.parsed(), Some(&tree));
        assert_eq!(text.into_tree().ok(), Some(tree));
    }

    #[test]
    fn corrupt_text_is_an_internal_error() {
        let mut doc = Document::Text(Arc::from("{\"id\":"));
        assert!(matches!(doc.tree(), Err(StoreError::Internal(_))));
        assert!(matches!(doc.into_tree(), Err(StoreError::Internal(_))));
    }
}
