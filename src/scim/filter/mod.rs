//! SCIM filters (RFC 7644 §3.4.2.2): the tree, its parser and its evaluator.
//!
//! Keywords, operators and attribute names are case-insensitive; comparison values are decoded
//! as JSON. Two lenient forms that real clients send are accepted: unquoted string values
//! (`externalId eq jyoung`, from Microsoft's older documentation) and the non-RFC
//! `emails[type eq "work"].value eq "x"` lookup Entra uses, which means the same as
//! `emails[type eq "work" and value eq "x"]` and is parsed into that tree.

mod eval;
pub(crate) mod grammar;

pub use eval::{
    MAX_FILTER_WORK_BYTES, Work, compare_json, matches, matches_element, matches_within,
};

use std::fmt;

use crate::scim::error::{Error, Result};
use crate::scim::fold::Folded;
use crate::scim::path::AttrPath;

/// Longest filter accepted, in bytes. Entra's lookups are well under 200 bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses and brackets accepted.
pub const MAX_FILTER_DEPTH: usize = 16;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Both sides match.
    And(Box<Filter>, Box<Filter>),
    /// Either side matches.
    Or(Box<Filter>, Box<Filter>),
    /// The inner filter does not match.
    Not(Box<Filter>),
    /// The attribute has a non-empty value (`pr`).
    Present(AttrPath),
    /// The attribute compares to a value.
    Compare(AttrPath, CompareOp, CompValue),
    /// Some element of a multi-valued (or complex) attribute matches the inner filter, whose
    /// paths are relative to the element.
    ValuePath(AttrPath, Box<Filter>),
}

/// Comparison operators (RFC 7644 §3.4.2.2, Table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// contains
    Co,
    /// starts with
    Sw,
    /// ends with
    Ew,
    /// greater than
    Gt,
    /// greater than or equal to
    Ge,
    /// less than
    Lt,
    /// less than or equal to
    Le,
}

impl CompareOp {
    /// The operator keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

/// A comparison value: a JSON literal.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// A string (quoted, or unquoted in the lenient form), with its case folding.
    Str(Folded),
}

impl Filter {
    /// Parses a filter expression.
    ///
    /// # Errors
    /// `invalidFilter` when the expression does not follow the grammar, is longer than
    /// [`MAX_FILTER_LEN`] or nests deeper than [`MAX_FILTER_DEPTH`].
    pub fn parse(input: &str) -> Result<Filter> {
        check_limits(input)?;
        grammar::filter(input).map_err(|e| {
            Error::invalid_filter(format!(
                "invalid filter at column {}: expected {}",
                e.location.column, e.expected
            ))
        })
    }

    /// Conjunction helper for building trees.
    pub fn and(self, other: Filter) -> Filter {
        Filter::And(Box::new(self), Box::new(other))
    }

    /// Whether any attribute path in the filter satisfies `pred` (value-path attributes included).
    pub fn mentions(&self, pred: &dyn Fn(&AttrPath) -> bool) -> bool {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.mentions(pred) || b.mentions(pred),
            Filter::Not(f) => f.mentions(pred),
            Filter::Present(p) | Filter::Compare(p, _, _) => pred(p),
            Filter::ValuePath(p, _) => pred(p),
        }
    }
}

/// Rejects inputs that are too long or nest too deeply, before any parsing work.
///
/// The grammar is recursive: bounding depth here bounds the parser's stack.
///
/// # Errors
/// `invalidFilter` naming the limit.
pub(crate) fn check_limits(input: &str) -> Result<()> {
    if input.len() > MAX_FILTER_LEN {
        return Err(Error::invalid_filter(format!(
            "filter is {} bytes long; at most {MAX_FILTER_LEN} are accepted",
            input.len()
        )));
    }
    let (mut depth, mut max, mut quoted, mut escaped) = (0usize, 0usize, false, false);
    for c in input.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' | '[' if !quoted => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | ']' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if max > MAX_FILTER_DEPTH {
        return Err(Error::invalid_filter(format!(
            "filter nests {max} levels deep; at most {MAX_FILTER_DEPTH} are accepted"
        )));
    }
    Ok(())
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::And(a, b) => write!(f, "{} and {}", Grouped(a), Grouped(b)),
            Filter::Or(a, b) => write!(f, "{} or {}", Grouped(a), Grouped(b)),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare(p, op, v) => write!(f, "{p} {} {v}", op.as_str()),
            Filter::ValuePath(p, inner) => write!(f, "{p}[{inner}]"),
        }
    }
}

/// Prints a sub-filter, parenthesised when it is itself a binary operation, so that printing
/// and parsing back gives the same tree whatever the precedence.
struct Grouped<'a>(&'a Filter);

impl fmt::Display for Grouped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Filter::And(..) | Filter::Or(..) => write!(f, "({})", self.0),
            other => write!(f, "{other}"),
        }
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Str(s) => {
                let quoted = serde_json::to_string(s.as_str()).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
        }
    }
}

#[cfg(test)]
mod tests;
