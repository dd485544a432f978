mod errors {
    errata::catalog!("clashing_names.toml");
}

fn main() {}
