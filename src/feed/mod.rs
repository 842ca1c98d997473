//! The change feed: every committed [`Change`](crate::change::Change) becomes one
//! [`Event`](event::Event) that the vendor's application pulls in order or receives pushed,
//! signed. The mapping and the signing are pure; the pipeline that assigns `seq`, stores and
//! publishes lives with the stores and the Lambda adapters.

pub mod delivery;
pub mod event;
pub mod eventbridge;
pub mod functions;
pub mod lambda;
pub mod pipeline;
pub mod queue;
pub mod streams;
pub mod webhook;
pub mod wiring;

pub use event::{Event, TYPES};
pub use webhook::{UrlPolicy, WebhookError, WebhookSecret, check_address, check_url, retry_delay};
