//! Client quirks, each decided in one place.
//!
//! The protocol code (`filter`, `path`, `patch`, `input`) and the HTTP adapter are written
//! against RFC 7643/7644; wherever a real client sends something the RFCs do not allow, or
//! allow with a meaning that would break that client, they call one of the functions here.
//! Each function names the client, the behaviour, its case in `docs/clients.md` and the
//! recorded request under `tests/fixtures/` (or the test) that pins it, so a quirk can be
//! found, tested and, one day, retired on its own. A new quirk goes into the file of the
//! part it bends, with a row in `docs/clients.md`:
//!
//! - `input`: POST/PUT bodies and the values PATCH writes (booleans, nulls, bare ids, arrays);
//! - `patch`: PatchOp bodies (op names, path-less values, member removal, missing targets);
//! - `filter`: filter expressions (unquoted values, Entra's `.value eq` tail, string booleans);
//! - `attributes`: the `attributes` / `excludedAttributes` lists;
//! - `http`: request paths and headers (endpoint case, slashes, `Content-Type`). The HTTP
//!   layer does the I/O and asks these pure functions for each decision.

pub(crate) mod attributes;
pub(crate) mod filter;
pub(crate) mod http;
pub(crate) mod input;
pub(crate) mod patch;
