//! The filter and PATCH-path grammar (RFC 7644 §3.4.2.2 ABNF, §3.10), as a PEG.
//!
//! Precedence, lowest first: `or`, `and`, then `not (...)`, grouping and attribute expressions
//! (RFC 7644 §3.4.2.2, Table 4). Keywords match case-insensitively and must end at a word
//! boundary, so `userName eq "x" ornament` is an error rather than an `or`.

use super::{CompValue, CompareOp, Filter};
use crate::scim::path::{AttrPath, PatchPath};

peg::parser! {
    grammar scim() for str {
        /// Optional whitespace.
        rule _ = quiet!{[' ' | '\t' | '\r' | '\n']*}
        /// Required whitespace.
        rule __ = quiet!{[' ' | '\t' | '\r' | '\n']+}

        rule word_end() = !['a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' | '$' | ':' | '.']

        /// A case-insensitive keyword.
        rule kw(k: &'static str) = kw_text(k) word_end()
        rule kw_text(k: &'static str) = s:$([_]*<{k.len()}>) {?
            if s.eq_ignore_ascii_case(k) { Ok(()) } else { Err(k) }
        }

        pub rule filter() -> Filter = _ f:expr() _ { f }

        pub rule patch_path() -> Result<PatchPath, crate::scim::error::Error>
            = p:attr_path() f:(_ "[" _ f:expr() _ "]" { f })? sub:("." s:$(name_char()+) { s })? {
                let mut attr = p?;
                match (f, sub) {
                    (None, None) => Ok(PatchPath::Attr { attr, filter: None }),
                    (Some(f), sub) if attr.sub.is_none() => {
                        attr.sub = sub.map(str::to_string);
                        Ok(PatchPath::Attr { attr, filter: Some(f) })
                    }
                    _ => Err(crate::scim::error::Error::invalid_path(
                        "a value filter must follow the attribute name directly",
                    )),
                }
            }

        rule expr() -> Filter = precedence!{
            x:(@) _ kw("or") _ y:@ { Filter::Or(Box::new(x), Box::new(y)) }
            --
            x:(@) _ kw("and") _ y:@ { Filter::And(Box::new(x), Box::new(y)) }
            --
            kw("not") _ "(" _ f:expr() _ ")" { Filter::Not(Box::new(f)) }
            "(" _ f:expr() _ ")" { f }
            a:attr_expr() { a }
        }

        rule attr_expr() -> Filter
            = p:path() _ "[" _ inner:expr() _ "]" tail:("." sub:$(name_char()+) _ t:tail() { (sub, t) })? {?
                let p = p?;
                let inner = match tail {
                    None => inner,
                    Some((sub, tail)) => {
                        let sub_path = AttrPath::from_token(sub).map_err(|_| "attribute name")?;
                        inner.and(tail(sub_path))
                    }
                };
                Ok(Filter::ValuePath(p, Box::new(inner)))
            }
            / p:path() _ t:tail() {? Ok(t(p?)) }

        /// What follows an attribute path: `pr`, or an operator and a value.
        rule tail() -> Box<dyn FnOnce(AttrPath) -> Filter>
            = kw("pr") { Box::new(Filter::Present) }
            / op:compare_op() _ v:comp_value() {
                Box::new(move |p| Filter::Compare(p, op, v))
            }

        rule path() -> Result<AttrPath, &'static str>
            = s:$(path_char()+) { AttrPath::from_token(s).map_err(|_| "attribute path") }

        rule attr_path() -> Result<AttrPath, crate::scim::error::Error>
            = s:$(path_char()+) { AttrPath::from_token(s) }

        rule path_char() = ['a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' | '$' | ':' | '.']
        rule name_char() = ['a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' | '$']

        rule compare_op() -> CompareOp
            = kw("eq") { CompareOp::Eq } / kw("ne") { CompareOp::Ne }
            / kw("co") { CompareOp::Co } / kw("sw") { CompareOp::Sw }
            / kw("ew") { CompareOp::Ew } / kw("gt") { CompareOp::Gt }
            / kw("ge") { CompareOp::Ge } / kw("lt") { CompareOp::Lt }
            / kw("le") { CompareOp::Le }

        rule comp_value() -> CompValue
            = kw("true") { CompValue::Bool(true) }
            / kw("false") { CompValue::Bool(false) }
            / kw("null") { CompValue::Null }
            / n:number() { CompValue::Number(n) }
            / s:string() { CompValue::Str(s) }
            / u:unquoted() { CompValue::Str(u.to_string()) }

        rule number() -> serde_json::Number
            = s:$("-"? ['0'..='9']+ ("." ['0'..='9']+)? (['e' | 'E'] ['+' | '-']? ['0'..='9']+)?)
              !(!([' ' | '\t' | '\r' | '\n' | ')' | ']']) [_]) {?
                serde_json::from_str(s).map_err(|_| "number")
            }

        rule string() -> String
            = s:$("\"" ("\\" [_] / [^ '"' | '\\'])* "\"") {?
                serde_json::from_str(s).map_err(|_| "JSON string")
            }

        /// Lenient: a bare token such as `jyoung` (Microsoft's legacy `externalId eq jyoung`).
        rule unquoted() -> &'input str
            = $([^ ' ' | '\t' | '\r' | '\n' | '(' | ')' | '[' | ']' | '"']+)
    }
}

/// Parses a whole filter expression.
pub(crate) fn filter(input: &str) -> Result<Filter, peg::error::ParseError<peg::str::LineCol>> {
    scim::filter(input)
}

/// Parses a PATCH path; the outer error is a syntax error, the inner one a semantic one.
pub(crate) fn patch_path(
    input: &str,
) -> Result<crate::scim::error::Result<PatchPath>, peg::error::ParseError<peg::str::LineCol>> {
    scim::patch_path(input)
}
