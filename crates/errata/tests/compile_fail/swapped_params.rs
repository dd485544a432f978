mod errors {
    errata::catalog!("../compile_pass/shop.toml");
}

fn main() {
    // Positional strings could be swapped unnoticed: entries with two or more parameters
    // take them by name.
    let _ = errors::out_of_stock("pen", 3);
}
