//! Compile errors of `#[derive(Job)]` / `#[derive(JobSet)]`, with their
//! `.stderr` snapshots (regenerate with `TRYBUILD=overwrite`), and inputs that
//! must compile. They live in this crate, not in `disque-derive`, so that the
//! derive crate does not depend on `disque` (as `thiserror` does it).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    for topic in ["attributes", "durations", "combinations", "shape", "jobset"] {
        t.compile_fail(format!("tests/ui/{topic}/*.rs"));
    }
    t.pass("tests/ui/pass/*.rs");
    if cfg!(feature = "json") {
        t.pass("tests/ui/pass_json/*.rs");
    }
}
