//! The store suite: one behaviour suite, written once over `S: Store`, run against every store;
//! plus the DynamoDB cost tests. DynamoDB runs on the emulator: `scripts/with-emulator.sh cargo
//! test --test store` (without `SCIM_TEST_DYNAMODB` the DynamoDB tests report that they skipped).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

#[path = "../support/mod.rs"]
mod support;

mod behaviour;
mod cost;
mod errors;
mod helpers;
mod pending;
mod reliability;

/// Generates one `#[tokio::test]` per behaviour test for a store made by `$make`
/// (an `async fn() -> Option<S>`; `None` skips).
macro_rules! behaviour_suite {
    ($module:ident, $make:path, [$($test:ident),* $(,)?]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let Some(store) = $make().await else { return };
                    crate::behaviour::$test(std::sync::Arc::new(store)).await;
                }
            )*
        }
    };
}

macro_rules! all_behaviour {
    ($module:ident, $make:path) => {
        behaviour_suite!(
            $module,
            $make,
            [
                create_then_get_returns_the_record,
                update_requires_the_expected_version,
                user_names_are_unique_case_insensitively,
                rename_moves_the_unique_name,
                delete_frees_the_name_and_checks_the_version,
                group_display_names_are_unique,
                external_id_is_indexed_but_not_unique,
                every_lookup_finds_its_resource,
                filter_and_sort_apply_to_listings,
                paging_has_correct_totals_and_stable_order,
                members_add_remove_clear_and_are_idempotent,
                missing_members_are_refused,
                deleting_a_user_removes_its_memberships,
                deleting_a_group_removes_its_members,
                concurrent_creates_of_one_name_let_exactly_one_win,
                concurrent_member_adds_all_survive,
                the_tenant_boundary_holds_for_every_read_and_write,
                counts_stay_exact_under_concurrent_creates_and_deletes,
                index_pages_resume_in_id_order_across_writes,
                cursor_pages_visit_every_resource_once,
                a_refused_member_change_changes_nothing_at_any_size,
                a_large_member_change_is_all_or_nothing_to_readers,
                concurrent_replaces_end_in_one_of_the_lists,
                a_delete_racing_member_changes_leaves_no_membership,
                thirty_concurrent_member_changes_all_succeed,
                values_past_the_limits_are_refused_before_any_write,
                every_work_email_finds_its_user,
                a_costly_filter_is_refused_not_run,
            ]
        );
    };
}

all_behaviour!(memory, crate::helpers::memory_store);
all_behaviour!(dynamo, crate::helpers::dynamo_store);
