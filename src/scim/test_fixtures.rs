//! The recorded client requests under `tests/fixtures/`, for the unit tests of this folder.

/// A recorded request body, `fixture!("entra", "b6_create_user")` for
/// `tests/fixtures/entra/b6_create_user.json`, parsed as JSON.
macro_rules! fixture {
    ($client:literal, $name:literal) => {
        serde_json::from_str::<serde_json::Value>(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $client,
            "/",
            $name,
            ".json"
        )))
        .expect($name)
    };
}
