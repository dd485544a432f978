mod errors {
    errata::catalog!("broken.toml");
}

fn main() {}
