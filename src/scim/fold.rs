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

#[cfg(test)]
mod tests {
    use super::fold_case;

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
