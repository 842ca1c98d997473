//! The change feed: every committed [`Change`](crate::change::Change) becomes one
//! [`Event`](event::Event) that the vendor's application pulls in order or receives pushed,
//! signed. The mapping and the signing are pure; the pipeline that assigns `seq`, stores and
//! publishes lives with the stores and the Lambda adapters.

pub mod delivery;
pub(crate) mod event;
pub(crate) mod eventbridge;
pub(crate) mod functions;
pub mod lambda;
pub mod pipeline;
pub mod queue;
pub mod streams;
pub(crate) mod webhook;
pub(crate) mod wiring;

pub use event::{Event, TYPES};
pub use webhook::{UrlPolicy, WebhookError, WebhookSecret, check_address, check_url, retry_delay};
