mod errors {
    errata::catalog!("../../../../examples/classroom/errors.toml");
}

fn main() {
    let _ = errors::rate_limit_exceeded();
}
