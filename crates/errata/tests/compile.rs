//! Typed constructors: a code that is not in the catalog, a missing parameter or a parameter
//! of the wrong type does not compile.

#[test]
fn catalog_mistakes_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.pass("tests/compile_pass/*.rs");
    t.compile_fail("tests/compile_fail/*.rs");
}
