/// Say why a test did not run its check; the caller returns right after. Under `CI=true`
/// the missing tool fails the test instead: CI installs every tool the tests use
/// (`.ci/run`), so a test there can only pass by running.
pub fn skipped(what: &str) {
    if std::env::var_os("CI").is_some_and(|ci| ci == "true") {
        panic!(
            "needs {what}, which CI must install (`.ci/run`): under CI=true a missing tool fails the test"
        );
    }
    println!("skipped: needs {what}");
}
