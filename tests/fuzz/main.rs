//! A bounded, randomized fuzz harness: the closest to `cargo fuzz` that runs on the stable
//! toolchain inside `cargo test`.
//!
//! Why not `cargo fuzz`: it needs a nightly compiler, `cargo-fuzz` and `libfuzzer-sys`, none of
//! which are part of this project's toolchain or dependency set. This harness has no coverage
//! feedback; it makes up for it with volume and with inputs shaped like the real ones:
//! grammar-shaped filters and paths, the recorded client fixtures (`tests/fixtures`) and the
//! seed corpus (`tests/fuzz/corpus`) mutated structurally (JSON) and byte by byte, plus
//! arbitrary strings.
//!
//! Each target runs for `FUZZ_SECONDS` seconds (default 6; the test threads run them two at a
//! time on this machine, so the binary takes about 20 s) and prints its number of executions.
//! `FUZZ_SEED=<u64>` replays a run. A failing input is shrunk (proptest's value trees) and
//! printed with the seed. The PATCH invariants (`id`/`meta.created` never change, removes are
//! idempotent, a rejected PATCH leaves the resource unchanged) are property tests next to the
//! code (`src/scim/patch/tests.rs`); here they are checked again, on fixture-shaped inputs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

mod inputs;
mod targets;

use std::fmt::Debug;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Time each target runs for.
fn budget() -> Duration {
    let secs = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(6.0);
    Duration::from_secs_f64(secs.min(3600.0))
}

/// The run's seed: `FUZZ_SEED`, or the clock.
fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        })
}

/// Most shrinking steps after a failure.
const SHRINK_STEPS: usize = 4096;

/// Runs `target` on inputs drawn from `strategy` until the budget is spent. A target reports
/// a broken property with `Err`; a panic counts as a failure too.
pub fn fuzz<S, F>(name: &str, strategy: S, mut target: F)
where
    S: Strategy,
    S::Value: Debug,
    F: FnMut(&S::Value) -> Result<(), String>,
{
    let seed = seed();
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let started = Instant::now();
    let deadline = started + budget();
    let mut execs: u64 = 0;
    let mut run = |value: &S::Value| -> Result<(), String> {
        catch_unwind(AssertUnwindSafe(|| target(value))).unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("panicked: {msg}"))
        })
    };
    // Bounded by time; at least one batch runs even with FUZZ_SECONDS=0.
    loop {
        for _ in 0..32 {
            let mut tree = strategy
                .new_tree(&mut runner)
                .unwrap_or_else(|e| panic!("{name}: cannot generate: {e:?}"));
            execs += 1;
            let Err(first) = run(&tree.current()) else {
                continue;
            };
            let (mut input, mut message) = (tree.current(), first);
            let mut steps = 0;
            if tree.simplify() {
                while steps < SHRINK_STEPS {
                    steps += 1;
                    let candidate = tree.current();
                    match run(&candidate) {
                        Err(m) => {
                            (input, message) = (candidate, m);
                            if !tree.simplify() {
                                break;
                            }
                        }
                        Ok(()) => {
                            if !tree.complicate() {
                                break;
                            }
                        }
                    }
                }
            }
            panic!(
                "{name}: failed after {execs} executions (replay with FUZZ_SEED={seed}): \
                 {message}\nminimal input: {input:#?}"
            );
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    // Straight to stderr: the harness captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "fuzz {name}: {execs} executions in {secs:.1} s ({:.0}/s), FUZZ_SEED={seed}",
        execs as f64 / secs.max(1e-9)
    );
}
