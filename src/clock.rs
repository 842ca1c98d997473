//! The one clock of the crate, injectable so tests move time instead of sleeping.
//!
//! Two readings, because two kinds of decision are made against time: wall time (seconds or
//! milliseconds since the Unix epoch) for what is stamped or compared with stamps (token and
//! assertion expiry, cache entries, request caps), and a monotonic [`Instant`] for intervals
//! that a step of the system clock must neither stretch nor shrink (how long a fetched secret is
//! trusted). [`SystemClock`] reads the system; [`ManualClock`] moves both readings together,
//! only when told to.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Time since 1970-01-01T00:00:00Z.
    fn since_epoch(&self) -> Duration;

    /// A monotonic reading, for intervals.
    fn instant(&self) -> Instant;

    /// Whole seconds since the Unix epoch: the unit of JWT claims and the admin API's stamps.
    fn now(&self) -> i64 {
        i64::try_from(self.since_epoch().as_secs()).unwrap_or(i64::MAX)
    }

    /// Milliseconds since the Unix epoch: the unit of cache entries and request caps.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.since_epoch().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The system's clocks: `SystemTime` for wall time, `Instant` for intervals.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn since_epoch(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to (tests, benchmarks), to the millisecond. Clones share
/// the time, so a test keeps one and hands another to the code under test.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Manual>);

#[derive(Debug)]
struct Manual {
    /// Milliseconds since the epoch at creation, and the monotonic reading it maps to.
    start_ms: u64,
    origin: Instant,
    /// Milliseconds moved since creation.
    moved_ms: AtomicU64,
}

impl ManualClock {
    /// A clock standing at `ms` milliseconds since the Unix epoch.
    pub fn at(ms: u64) -> Self {
        ManualClock(Arc::new(Manual {
            start_ms: ms,
            origin: Instant::now(),
            moved_ms: AtomicU64::new(0),
        }))
    }

    /// A clock standing at the system's current time (for code that compares with stamps
    /// made by the system clock, such as tokens signed by another process).
    pub fn starting_now() -> Self {
        Self::at(SystemClock.now_ms())
    }

    /// Moves the clock forward by `by` (both readings).
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.moved_ms.fetch_add(ms, Ordering::SeqCst);
    }

    fn moved(&self) -> Duration {
        Duration::from_millis(self.0.moved_ms.load(Ordering::SeqCst))
    }
}

impl Clock for ManualClock {
    fn since_epoch(&self) -> Duration {
        Duration::from_millis(self.0.start_ms) + self.moved()
    }

    fn instant(&self) -> Instant {
        self.0.origin + self.moved()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_both_readings_together_and_clones_share_it() {
        let clock = ManualClock::at(100_000);
        let shared = clock.clone();
        let before = shared.instant();
        clock.advance(Duration::from_millis(60_500));
        assert_eq!(shared.now_ms(), 160_500);
        assert_eq!(shared.now(), 160);
        assert_eq!(shared.instant() - before, Duration::from_millis(60_500));
    }

    #[test]
    fn the_system_clock_reads_the_system() {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let read = u64::try_from(SystemClock.now()).unwrap();
        assert!(read.abs_diff(unix) <= 1, "{read} against {unix}");
        assert!(
            SystemClock.now_ms() / 1000 >= read,
            "milliseconds agree with seconds"
        );
    }
}
