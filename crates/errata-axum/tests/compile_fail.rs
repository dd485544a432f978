//! Misuse that must not compile, with a message that says what to write instead.

#[test]
fn valid_around_axum_json_says_what_to_use() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
