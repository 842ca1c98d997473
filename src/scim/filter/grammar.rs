//! The grammar of filters, attribute paths, PATCH paths and attribute lists (RFC 7644
//! §3.4.2.2 ABNF, §3.10, §3.4.2.5), as one PEG: every path is read here, nowhere by hand.
//!
//! Precedence, lowest first: `or`, `and`, then `not (...)`, grouping and attribute expressions
//! (RFC 7644 §3.4.2.2, Table 4). Keywords match case-insensitively and must end at a word
//! boundary, so `userName eq "x" ornament` is an error rather than an `or`. The lenient forms
//! real clients send are recognised here and given their meaning by `compat`.

use super::{CompValue, CompareOp, Filter};
use crate::scim::compat;
use crate::scim::path::{AttrPath, AttrRef, PatchPath};

peg::parser! {
    grammar scim() for str {
        /// Optional whitespace.
        rule _ = quiet!{[' ' | '\t' | '\r' | '\n']*}

        rule word_end() = !path_char()

        /// A case-insensitive keyword.
        rule kw(k: &'static str) = kw_text(k) word_end()
        rule kw_text(k: &'static str) = s:$([_]*<{k.len()}>) {?
            if s.eq_ignore_ascii_case(k) { Ok(()) } else { Err(k) }
        }

        pub rule filter() -> Filter = _ f:expr() _ { f }

        /// RFC 7644 §3.5.2: `PATH = attrPath / valuePath [subAttr]`, or a whole extension
        /// addressed by its schema URN.
        pub rule patch_path() -> PatchPath
            = _ u:schema_urn() _ { PatchPath::Schema(u.to_string()) }
            / _ urn:qualifier()? name:attr_name() _ "[" _ f:expr() _ "]" sub:("." s:attr_name() { s })? _ {
                let attr = AttrPath { urn: urn.map(str::to_string), name: name.to_string(), sub: sub.map(str::to_string) };
                PatchPath::Attr { attr, filter: Some(f) }
            }
            / _ attr:attr_path() _ { PatchPath::Attr { attr, filter: None } }

        /// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5): comma-separated attribute
        /// paths or schema URNs; empty entries are skipped.
        pub rule attr_list() -> Vec<AttrRef>
            = entries:(_ e:list_entry()? _ { e }) ** "," { entries.into_iter().flatten().collect() }

        rule list_entry() -> AttrRef
            = r:attr_ref() f:(_ bracketed())? { if f.is_some() { compat::attributes::with_value_filter(r) } else { r } }

        /// A whole schema or one attribute of it.
        rule attr_ref() -> AttrRef
            = u:schema_urn() { AttrRef::Schema(u.to_string()) }
            / p:attr_path() { AttrRef::Attr(p) }

        /// A bracketed value filter, skipped as text (quoted strings and nesting respected).
        rule bracketed() = "[" ( quoted() / bracketed() / [^ '[' | ']' | '"'] )* "]"

        /// RFC 7644 §3.10: `attrPath = [URI ":"] ATTRNAME *1subAttr`.
        pub rule attr_path() -> AttrPath
            = urn:qualifier()? name:attr_name() sub:("." s:attr_name() { s })? word_end() {
                AttrPath { urn: urn.map(str::to_string), name: name.to_string(), sub: sub.map(str::to_string) }
            }

        /// The URN before an attribute name: everything up to the last `:` of the path.
        rule qualifier() -> &'input str
            = u:$(kw_text("urn") (":" urn_segment() &":")*) ":" { u }

        /// A schema URN alone: `urn:...:<version>:<Resource>`. The version segment tells it from
        /// a path into the schema, which has one segment more (`...:2.0:User:userName`).
        pub rule schema_urn() -> &'input str
            = u:$(kw_text("urn") (":" !(version() ":" urn_segment()? word_end()) urn_segment())* ":" version() ":" urn_segment()?) word_end() { u }

        rule version() = ['0'..='9' | '.']+
        rule urn_segment() = ['a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' | '$' | '.']+

        /// RFC 7643 §2.1: `ATTRNAME = ALPHA *(nameChar)`; `$ref` is the one reserved exception.
        rule attr_name() -> &'input str
            = $(['a'..='z' | 'A'..='Z'] ['a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-']*)
            / $("$ref")

        rule path_char() = ['a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' | '$' | ':' | '.']

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
            = p:attr_path() _ "[" _ inner:expr() _ "]" tail:("." sub:attr_name() _ t:tail() { (sub, t) })? {
                match tail {
                    None => Filter::ValuePath(p, Box::new(inner)),
                    Some((sub, tail)) => compat::filter::value_path_tail(p, inner, tail(AttrPath::new(sub))),
                }
            }
            / p:attr_path() _ t:tail() { t(p) }

        /// What follows an attribute path: `pr`, or an operator and a value.
        rule tail() -> Box<dyn FnOnce(AttrPath) -> Filter>
            = kw("pr") { Box::new(Filter::Present) }
            / op:compare_op() _ v:comp_value() {
                Box::new(move |p| Filter::Compare(p, op, v))
            }

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
            / s:string() { CompValue::Str(s.into()) }
            / u:unquoted() { compat::filter::unquoted_value(u) }

        rule number() -> serde_json::Number
            = s:$("-"? ['0'..='9']+ ("." ['0'..='9']+)? (['e' | 'E'] ['+' | '-']? ['0'..='9']+)?)
              !(!([' ' | '\t' | '\r' | '\n' | ')' | ']']) [_]) {?
                serde_json::from_str(s).map_err(|_| "number")
            }

        /// A JSON string as text: a backslash escapes the next character, so `"\\"` ends
        /// where it should.
        rule quoted() = "\"" ("\\" [_] / [^ '"' | '\\'])* "\""

        rule string() -> String
            = s:$(quoted()) {?
                serde_json::from_str(s).map_err(|_| "JSON string")
            }

        /// A bare token (`externalId eq jyoung`): see `compat::filter::unquoted_value`.
        rule unquoted() -> &'input str
            = $([^ ' ' | '\t' | '\r' | '\n' | '(' | ')' | '[' | ']' | '"']+)
    }
}

pub(crate) use scim::{attr_list, attr_path, filter, patch_path, schema_urn};
