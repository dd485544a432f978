mod errors {
    errata::catalog!("shop.toml");
}

use errata::ParamValue;

fn main() {
    // Integer parameters take any integer type, no cast.
    let left: usize = 3;
    let e = errors::out_of_stock(errors::params::OutOfStock { item: "pen", left });
    assert_eq!(e.param("left"), Some(&ParamValue::Int(3)));
    assert_eq!(e.param("item"), Some(&ParamValue::Str("pen".into())));
    let retry: u16 = 30;
    assert_eq!(
        errors::rate_limit_exceeded(retry).param("retry_after"),
        Some(&ParamValue::Int(30))
    );
    let _ = errors::rate_limit_exceeded(7u8);
    let _ = errors::rate_limit_exceeded(7i64);

    // Two parameters of one type are named: they cannot be swapped silently.
    let e = errors::transfer_refused(errors::params::TransferRefused {
        to: String::from("savings"),
        from: "checking",
        amount: 10u32,
        fee: 0.5f32,
        insured: true,
    });
    assert_eq!(e.param("from"), Some(&ParamValue::Str("checking".into())));
    assert_eq!(e.param("to"), Some(&ParamValue::Str("savings".into())));
    assert_eq!(e.param("fee"), Some(&ParamValue::Num(0.5)));

    // Keywords are escaped: the code `MATCH` and the parameter `type`.
    let e = errors::r#match("size");
    assert_eq!(e.code(), errors::codes::MATCH);
    assert_eq!(e.param("type"), Some(&ParamValue::Str("size".into())));
}
