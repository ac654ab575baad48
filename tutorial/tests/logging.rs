//! The programs' logging setup (its own test binary: a process has one
//! global subscriber).

use tracing::Level;
use tracing_log::log;

#[test]
fn dependencies_log_records_stop_at_the_filters_level_before_the_bridge() {
    // SAFETY: no other thread runs yet in this test binary.
    std::env::remove_var("RUST_LOG");
    tutorial::cli::init_logging_at(Level::INFO);
    // tungstenite's trace! calls must be turned away by `log`'s own level
    // check, not formatted into records the subscriber then drops.
    assert_eq!(log::max_level(), log::LevelFilter::Info);
    assert!(!log::log_enabled!(target: "tungstenite::protocol", log::Level::Trace));
}
