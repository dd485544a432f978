mod errors {
    errata::catalog!("../../../../examples/classroom/errors.toml");
}

fn main() {
    let _ = errors::already_enroled();
    let _ = errors::codes::LECTURE_MISSING;
}
