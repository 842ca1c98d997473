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
//! By default (CI, every `cargo test`) each target runs a short, fixed pass: the first
//! `FUZZ_CASES` inputs (default 1024) of a fixed seed, the same inputs on every run. On demand, a
//! long run on a fresh seed:
//!
//! ```text
//! FUZZ_SECONDS=600 cargo test --test fuzz -- --nocapture
//! ```
//!
//! runs each target for that long (`FUZZ_SEED=<u64>` fixes the seed; without it the clock picks
//! one) and prints its number of executions and seed. A failing input is shrunk (proptest's value
//! trees) and printed with the seed and count that replay it exactly:
//! `FUZZ_SEED=<seed> FUZZ_CASES=<n> cargo test --test fuzz`. The PATCH invariants (`id`/`meta.created` never change, removes are
//! idempotent, a rejected PATCH leaves the resource unchanged) are property tests next to the
//! code (`src/scim/patch/tests.rs`); here they are checked again, on fixture-shaped inputs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

#[path = "../support/mod.rs"]
mod support;

mod inputs;
mod targets;

use std::fmt::Debug;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// The seed of the default pass: fixed, so CI sees the same inputs on every run.
const DEFAULT_SEED: u64 = 0x5C1A_2026;
/// Inputs per target in the default pass.
const DEFAULT_CASES: u64 = 1024;

/// How long each target runs: a number of inputs, or (on demand) a time budget.
#[derive(Debug, Clone, Copy)]
enum Budget {
    Cases(u64),
    Time(Duration),
}

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|s| s.trim().parse().ok())
}

/// `FUZZ_SECONDS` (a long run) or `FUZZ_CASES` (default [`DEFAULT_CASES`]).
fn budget() -> Budget {
    match env::<f64>("FUZZ_SECONDS").filter(|s| s.is_finite() && *s >= 0.0) {
        Some(secs) => Budget::Time(Duration::from_secs_f64(secs.min(24.0 * 3600.0))),
        None => Budget::Cases(env("FUZZ_CASES").unwrap_or(DEFAULT_CASES)),
    }
}

/// The run's seed: `FUZZ_SEED`; else the clock for a timed run, [`DEFAULT_SEED`] otherwise.
fn seed(budget: Budget) -> u64 {
    env("FUZZ_SEED").unwrap_or_else(|| match budget {
        Budget::Cases(_) => DEFAULT_SEED,
        Budget::Time(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    })
}

/// Most shrinking steps after a failure.
const SHRINK_STEPS: usize = 4096;

/// Runs `target` on inputs drawn from `strategy` until the budget is spent. A target reports
/// a broken property with `Err`; a panic counts as a failure too. The inputs depend only on the
/// seed, so the first `n` of a seed are the same in a counted and a timed run.
pub fn fuzz<S, F>(name: &str, strategy: S, mut target: F)
where
    S: Strategy,
    S::Value: Debug,
    F: FnMut(&S::Value) -> Result<(), String>,
{
    let budget = budget();
    let seed = seed(budget);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let started = Instant::now();
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
    // Bounded by count or by time (a timed run makes at least one batch, even at 0 s).
    let done = |execs: u64| match budget {
        Budget::Cases(n) => execs >= n,
        Budget::Time(t) => execs > 0 && started.elapsed() >= t,
    };
    while !done(execs) {
        for _ in 0..32 {
            if matches!(budget, Budget::Cases(n) if execs >= n) {
                break;
            }
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
                "{name}: failed after {execs} executions (replay with FUZZ_SEED={seed} \
                 FUZZ_CASES={execs}): {message}\nminimal input: {input:#?}"
            );
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
