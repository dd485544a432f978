mod errors {
    errata::catalog!("../compile_pass/shop.toml");
}

fn main() {
    // A string parameter does not take a number, nor an integer one a float.
    let _ = errors::out_of_stock(errors::params::OutOfStock { item: 3, left: 1.5 });
}
