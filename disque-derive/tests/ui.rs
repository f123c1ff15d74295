//! Compile errors of `#[derive(Job)]` / `#[derive(JobSet)]`, with their
//! `.stderr` snapshots (regenerate with `TRYBUILD=overwrite`), and inputs that
//! must compile.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    for topic in ["attributes", "durations", "combinations", "shape", "jobset"] {
        t.compile_fail(format!("tests/ui/{topic}/*.rs"));
    }
    t.pass("tests/ui/pass/*.rs");
}
