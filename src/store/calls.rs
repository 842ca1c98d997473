//! Counting backend calls by kind, so tests and benchmarks can state what each SCIM operation
//! costs (design: "every DynamoDB call the store makes should be countable").

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A kind of backend call. The memory store counts its operations with the DynamoDB call they
/// correspond to, so the two stores' costs read the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Call {
    /// Point read.
    GetItem,
    /// Batch point read.
    BatchGetItem,
    /// Unconditional or conditional single write.
    PutItem,
    /// Single update expression.
    UpdateItem,
    /// Single delete.
    DeleteItem,
    /// Key-condition read of a partition or index.
    Query,
    /// Full-table read.
    Scan,
    /// Atomic multi-item write.
    TransactWriteItems,
    /// Batch write.
    BatchWriteItem,
}

impl Call {
    /// Every kind, in display order.
    pub const ALL: [Call; 9] = [
        Call::GetItem,
        Call::BatchGetItem,
        Call::PutItem,
        Call::UpdateItem,
        Call::DeleteItem,
        Call::Query,
        Call::Scan,
        Call::TransactWriteItems,
        Call::BatchWriteItem,
    ];

    /// The DynamoDB API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Call::GetItem => "GetItem",
            Call::BatchGetItem => "BatchGetItem",
            Call::PutItem => "PutItem",
            Call::UpdateItem => "UpdateItem",
            Call::DeleteItem => "DeleteItem",
            Call::Query => "Query",
            Call::Scan => "Scan",
            Call::TransactWriteItems => "TransactWriteItems",
            Call::BatchWriteItem => "BatchWriteItem",
        }
    }
}

/// Thread-safe counters, one per [`Call`].
#[derive(Debug, Default)]
pub struct Calls {
    counts: [AtomicU64; 9],
    items: AtomicU64,
}

impl Calls {
    /// Counts one call.
    pub fn record(&self, call: Call) {
        self.counts[call as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts items a read returned (listing pages): what a query is billed for grows with
    /// them, so tests can show that a page costs O(page) and not O(start index).
    pub fn record_items(&self, n: usize) {
        self.items.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Items read by listing queries so far (see [`Calls::record_items`]).
    pub fn items_read(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }

    /// The counts so far.
    pub fn snapshot(&self) -> CallCounts {
        CallCounts(std::array::from_fn(|i| {
            self.counts[i].load(Ordering::Relaxed)
        }))
    }
}

/// A snapshot of [`Calls`]; subtract two to get the cost of what happened in between.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts([u64; 9]);

impl CallCounts {
    /// Calls of one kind.
    pub fn get(&self, call: Call) -> u64 {
        self.0[call as usize]
    }

    /// Calls made since `earlier`.
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        CallCounts(std::array::from_fn(|i| {
            self.0[i].saturating_sub(earlier.0[i])
        }))
    }

    /// Total calls of every kind.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// `GetItem=1 Query=2`: only the non-zero kinds, in a stable order.
impl fmt::Display for CallCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for call in Call::ALL {
            let n = self.get(call);
            if n > 0 {
                if !first {
                    f.write_str(" ")?;
                }
                write!(f, "{}={n}", call.as_str())?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}
