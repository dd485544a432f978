mod errors {
    errata::catalog!("no_such_catalog.toml");
}

fn main() {}
