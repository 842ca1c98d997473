//! The embedded store: everything in process memory, for local runs and tests.
