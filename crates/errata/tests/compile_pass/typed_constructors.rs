mod errors {
    errata::catalog!("../../../../examples/classroom/errors.toml");
}

fn main() {
    let err = errors::rate_limit_exceeded(30);
    assert_eq!(err.code(), errors::codes::RATE_LIMIT_EXCEEDED);
    let _ = errors::kakao_account_not_available();
    let _ = errors::route_not_found();
}
