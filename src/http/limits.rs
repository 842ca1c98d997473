//! Limits the HTTP adapter enforces before a request reaches the protocol code.

/// Largest SCIM request body accepted, in bytes: 413 beyond it (case D1 in docs/clients.md),
/// by `Content-Length` before reading and by a capped read otherwise. The largest body a client
/// needs, a group PATCH with the most members one request may carry
/// (`scim::discovery::MAX_MEMBERS_PER_REQUEST`), is about 70 KB. Bulk is not supported, so this
/// is not advertised anywhere (`bulk.maxPayloadSize` is 0).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
