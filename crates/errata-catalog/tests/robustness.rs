//! Malformed catalogs never make the loader panic, and a rejected catalog always says why, at a
//! place inside the file.

use errata_catalog::{check, Severity};
use proptest::prelude::*;
use proptest::sample::Index;

const CLASSROOM: &str = include_str!("../../../examples/classroom/errors.toml");

/// Lines that reach the deeper checks when spliced into a catalog.
const SNIPPETS: &[&str] = &[
    "[errors.X]",
    "[errors.lowerCase]",
    "[errors.ROUTE_NOT_FOUND]",
    "status = 600",
    "status = \"409\"",
    "number = \"E409001\"",
    "number = -1",
    "number = 99999",
    "domain = \"nowhere\"",
    "kind = \"rule\"",
    "message.en = \"{unclosed\"",
    "message.en = \"\"\"\n{a} }\"\"\"",
    "message.ko = '{x}'",
    "message.fr = \"x\"",
    "params = { a = \"integer\", x = 3 }",
    "aliases = [\"AUTH_FAILED\", \"X\", 1]",
    "alert = \"spike\"",
    "spike = { count = 0, window = \"5x\" }",
    "spike = 3",
    "ws_close = 70000",
    "[scheme]",
    "kind = \"status-seq\"",
    "prefix = \"\"",
    "domains = { a = 10, b = 1, c = 1 }",
    "[[upstreams.kakao.rules]]",
    "[upstreams.other]",
    "rules = [{ raise = \"NOPE\" }, 3]",
    "json = { code = [[]] }",
    "status = [1000, \"x\"]",
    "[fields.Bad]",
    "locales = []",
    "default_locale = 3",
    "[catalog]",
    "catalog = 1",
    "errors = []",
];

/// Checks `source` and asserts what the loader promises for any input: no panic, every span
/// inside the source, locating and rendering every diagnostic works, and a catalog that did not
/// load has an error saying why.
fn assert_sound(source: &str) {
    let checked = check(source);
    for d in &checked.diagnostics {
        assert!(
            d.span.start <= d.span.end && d.span.end <= source.len(),
            "span {:?} of {:?} is outside a source of {} bytes",
            d.span,
            d.message,
            source.len()
        );
        let loc = d.location(source);
        assert!(loc.line >= 1 && loc.column >= 1, "{loc:?}");
        assert!(d.render("errors.toml", source).contains(&d.message));
    }
    if checked.catalog.is_none() {
        assert!(
            checked
                .diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error),
            "rejected without an error: {:#?}",
            checked.diagnostics
        );
    }
}

/// One change to a catalog's lines.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(Index),
    Duplicate(Index),
    Swap(Index, Index),
    Insert(Index, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Delete),
        any::<Index>().prop_map(Mutation::Duplicate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (any::<Index>(), prop::sample::select(SNIPPETS)).prop_map(|(a, s)| Mutation::Insert(a, s)),
    ]
}

/// Applies `mutations` to `source`: line deletions, duplications and insertions, and swaps of
/// two characters anywhere in the text.
fn mutate(source: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = source.lines().map(str::to_owned).collect();
    for m in mutations {
        match m {
            Mutation::Delete(i) if !lines.is_empty() => {
                lines.remove(i.index(lines.len()));
            }
            Mutation::Duplicate(i) if !lines.is_empty() => {
                let at = i.index(lines.len());
                lines.insert(at, lines[at].clone());
            }
            Mutation::Swap(a, b) => {
                let mut chars: Vec<char> = lines.join("\n").chars().collect();
                if !chars.is_empty() {
                    let (a, b) = (a.index(chars.len()), b.index(chars.len()));
                    chars.swap(a, b);
                }
                lines = chars
                    .into_iter()
                    .collect::<String>()
                    .split('\n')
                    .map(str::to_owned)
                    .collect();
            }
            Mutation::Insert(i, snippet) => {
                let at = i.index(lines.len() + 1);
                lines.insert(at, (*snippet).to_owned());
            }
            Mutation::Delete(_) | Mutation::Duplicate(_) => {}
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[test]
fn classroom_catalog_is_sound() {
    assert_sound(CLASSROOM);
    assert!(check(CLASSROOM).catalog.is_some());
}

#[test]
fn truncated_catalogs_are_rejected_or_loaded_cleanly() {
    let bytes = CLASSROOM.as_bytes();
    let mut rejected = 0;
    for end in (0..bytes.len()).step_by(50) {
        // Cutting inside a multi-byte character leaves a replacement character, as a reader
        // decoding a cut file would.
        let source = String::from_utf8_lossy(&bytes[..end]);
        assert_sound(&source);
        if check(&source).catalog.is_none() {
            rejected += 1;
        }
    }
    // Before `[catalog]` is complete nothing can load.
    assert!(rejected >= 5, "only {rejected} truncations were rejected");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        assert_sound(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_toml_like_text_never_panics(text in "[\\[\\]{}=\"'.,#a-zA-Z0-9_ \n\\\\-]{0,300}") {
        assert_sound(&text);
    }

    #[test]
    fn mutated_classroom_catalogs_never_panic(
        mutations in prop::collection::vec(mutation(), 1..6)
    ) {
        assert_sound(&mutate(CLASSROOM, &mutations));
    }

    #[test]
    fn catalogs_spliced_from_snippets_never_panic(
        picks in prop::collection::vec(prop::sample::select(SNIPPETS), 0..25)
    ) {
        let source = format!(
            "[catalog]\nname = \"t\"\ndefault_locale = \"en\"\nlocales = [\"en\", \"ko\"]\n{}\n",
            picks.join("\n")
        );
        assert_sound(&source);
    }
}
