mod errors {
    errata::catalog!("../../../../examples/classroom/errors.toml");
}

fn main() {
    let _ = errors::already_enrolled(1);
}
