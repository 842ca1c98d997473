//! Case folding: the one rule by which `caseExact: false` values are compared, made unique and
//! indexed. The filter evaluator, the unique guards, the lookup indexes and sorting all call
//! [`fold_case`], so they cannot drift apart.
//!
//! The rule is Unicode simple case folding (the `C` and `S` mappings of `CaseFolding.txt`),
//! character by character. Unlike `str::to_lowercase` it does not depend on a character's
//! position: `str::to_lowercase` turns a capital sigma at the end of a word into a final
//! sigma (ς) and elsewhere into σ, so `"ΟΔΟΣ" sw "ΟΔΟΣ"` compared the folded `οδος` with the
//! folded value `οδος` but `"ΟΔΟΣΑ" sw "ΟΔΟΣ"` compared `οδοσα` with `οδος` and missed.
//! Simple folding maps Σ, σ and ς all to σ. It maps each character to exactly one character,
//! so a match in the folded text is a match at the same characters of the original; full
//! folding (ß → ss) would not keep that property, and no directory client expects `Straße` to
//! equal `STRASSE`.

use std::cmp::Ordering;

use icu_casemap::CaseMapper;

/// Folds `value` for comparisons, unique names and index keys of `caseExact: false`
/// attributes (Unicode simple case folding).
pub fn fold_case(value: &str) -> String {
    // ASCII folds to ASCII lower case; skipping the table keeps the common case cheap.
    if value.is_ascii() {
        return value.to_ascii_lowercase();
    }
    let mapper = CaseMapper::new();
    value.chars().map(|c| mapper.simple_fold(c)).collect()
}

/// The characters of `value`, folded one by one, without building a string.
fn folded_chars(value: &str) -> impl DoubleEndedIterator<Item = char> + Clone + '_ {
    let mapper = CaseMapper::new();
    value.chars().map(move |c| mapper.simple_fold(c))
}

/// A comparison value folded once, when a filter is parsed, and compared with document values
/// folded on the fly: a scan of thousands of documents folds (and allocates) nothing for the
/// filter's side, and nothing for the document's side unless a `co` meets non-ASCII text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    raw: String,
    folded: String,
}

impl Folded {
    /// Keeps `raw` as written (printing, seeding new elements, exact comparisons) and its
    /// folding (comparisons of `caseExact: false` attributes).
    pub fn new(raw: String) -> Self {
        let folded = fold_case(&raw);
        Folded { raw, folded }
    }

    /// The value as the client wrote it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The value as [`fold_case`] folds it.
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// How `value`, folded, orders against this folded value.
    pub fn cmp_folded(&self, value: &str) -> Ordering {
        if value.is_ascii() {
            let theirs = value.bytes().map(|b| b.to_ascii_lowercase());
            return theirs.cmp(self.folded.bytes());
        }
        folded_chars(value).cmp(self.folded.chars())
    }

    /// Whether `value`, folded, starts with this folded value.
    pub fn is_prefix_of_folded(&self, value: &str) -> bool {
        let mut theirs = folded_chars(value);
        self.folded.chars().all(|c| theirs.next() == Some(c))
    }

    /// Whether `value`, folded, ends with this folded value.
    pub fn is_suffix_of_folded(&self, value: &str) -> bool {
        let mut theirs = folded_chars(value).rev();
        self.folded.chars().rev().all(|c| theirs.next() == Some(c))
    }

    /// Whether `value`, folded, contains this folded value.
    pub fn is_within_folded(&self, value: &str) -> bool {
        let needle = self.folded.as_bytes();
        if needle.is_empty() {
            return true;
        }
        if value.is_ascii() {
            // ASCII folds to ASCII lower case byte for byte, and a non-ASCII byte of the needle
            // can never equal an ASCII byte, so comparing windows is exact.
            return value
                .as_bytes()
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle));
        }
        fold_case(value).contains(self.folded.as_str())
    }
}

impl std::ops::Deref for Folded {
    type Target = str;

    fn deref(&self) -> &str {
        &self.raw
    }
}

impl From<String> for Folded {
    fn from(raw: String) -> Self {
        Folded::new(raw)
    }
}

impl From<&str> for Folded {
    fn from(raw: &str) -> Self {
        Folded::new(raw.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::{Folded, Ordering, fold_case};

    #[test]
    fn folded_comparisons_agree_with_folding_both_sides() {
        let values = [
            "Alice@Contoso.COM",
            "alice",
            "ALICE",
            "ΟΔΟΣΑ",
            "οδος",
            "\u{212A}elvin",
            "Kelvin",
            "Straße",
            "",
            "b",
        ];
        let literals = [
            "alice",
            "ALI",
            "CONTOSO.com",
            "ΟΔΟΣ",
            "ος",
            "kel",
            "SSE",
            "",
            "ß",
        ];
        for value in values {
            for literal in literals {
                let f = Folded::from(literal);
                let (v, c) = (fold_case(value), fold_case(literal));
                let at = format!("{value:?} vs {literal:?}");
                assert_eq!(f.cmp_folded(value), v.as_str().cmp(c.as_str()), "cmp {at}");
                assert_eq!(f.is_prefix_of_folded(value), v.starts_with(&c), "sw {at}");
                assert_eq!(f.is_suffix_of_folded(value), v.ends_with(&c), "ew {at}");
                assert_eq!(f.is_within_folded(value), v.contains(&c), "co {at}");
            }
        }
        assert_eq!(Folded::from("B").cmp_folded("a"), Ordering::Less);
    }

    #[test]
    fn folding_is_position_independent_and_unicode_aware() {
        let rows = [
            ("ascii", "Alice@Contoso.COM", "alice@contoso.com"),
            ("final sigma at the end", "ΟΔΟΣ", "οδοσ"),
            ("final sigma written small", "οδος", "οδοσ"),
            ("sigma inside a word", "ΟΔΟΣΑ", "οδοσα"),
            ("german sharp s stays one character", "Straße", "straße"),
            ("capital sharp s", "STRAẞE", "straße"),
            ("kelvin sign", "\u{212A}elvin", "kelvin"),
            ("micro sign", "\u{00B5}m", "\u{03BC}m"),
            ("cyrillic", "Пётр", "пётр"),
            (
                "cherokee small letters fold to capitals",
                "\u{AB70}",
                "\u{13A0}",
            ),
        ];
        for (name, input, want) in rows {
            assert_eq!(fold_case(input), want, "{name}");
        }
    }

    #[test]
    fn folding_is_idempotent_and_keeps_the_character_count() {
        for s in ["ΣΊΣΥΦΟΣ", "İstanbul", "ǅemal", "ﬁle", "ᾈ"] {
            let once = fold_case(s);
            assert_eq!(fold_case(&once), once, "{s}");
            assert_eq!(once.chars().count(), s.chars().count(), "{s}");
        }
    }
}
