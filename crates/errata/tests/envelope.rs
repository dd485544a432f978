//! The catalog's `[envelope]` table: parameters and numbers on the wire, in every envelope.

use errata::{ApiError, Catalog, Envelope, RenderContext, Renderer};
use serde_json::{json, Value};

const CATALOG: &str = r#"
[catalog]
name = "shop"
default_locale = "en"
locales = ["en", "ko"]

[scheme]
kind = "status-seq"

[envelope]
number = "code_number"
flat_code = "number"

[errors.OUT_OF_STOCK]
status = 409
number = "E409001"
message.en = "Only {available} of {sku} left."
message.ko = "{sku} 재고가 {available}개 남았습니다."
params = { sku = "string", available = "integer" }

[errors.ORDER_NOT_FOUND]
status = 404
number = "E404001"
message.en = "The order does not exist."
message.ko = "주문을 찾을 수 없습니다."
"#;

fn body(r: &Renderer, err: &ApiError, envelope: Envelope) -> Value {
    let ctx = RenderContext {
        envelope: Some(envelope),
        request_id: Some("req-1"),
        ..Default::default()
    };
    serde_json::from_slice(&r.render(err, &ctx).body).unwrap()
}

#[test]
fn parameters_and_numbers_travel_in_every_envelope() {
    let r = Renderer::new(Catalog::from_toml(CATALOG).unwrap());
    let err = ApiError::from_code("OUT_OF_STOCK", 409)
        .with_param("sku", "A-1")
        .with_param("available", 3)
        // Not declared by the entry: never rendered.
        .with_param("internal", "secret");
    assert_eq!(
        body(&r, &err, Envelope::Nested),
        json!({"error": {"code": "OUT_OF_STOCK", "code_number": "E409001",
            "message": "Only 3 of A-1 left.", "params": {"sku": "A-1", "available": 3}},
            "status": 409, "request_id": "req-1"})
    );
    let problem = body(&r, &err, Envelope::Problem);
    assert_eq!(problem["code"], "OUT_OF_STOCK");
    assert_eq!(problem["code_number"], "E409001");
    assert_eq!(problem["params"], json!({"sku": "A-1", "available": 3}));
    // Seed 004's flat body: the number is the code.
    assert_eq!(
        body(&r, &err, Envelope::Flat),
        json!({"status": 409, "code": "E409001", "code_number": "E409001",
            "message": "Only 3 of A-1 left.", "params": {"sku": "A-1", "available": 3},
            "request_id": "req-1"})
    );
}

#[test]
fn fixed_bodies_carry_the_number_too() {
    let r = Renderer::new(Catalog::from_toml(CATALOG).unwrap());
    let err = ApiError::from_code("ORDER_NOT_FOUND", 404);
    let ctx = RenderContext::default();
    assert_eq!(
        std::str::from_utf8(&r.render(&err, &ctx).body).unwrap(),
        r#"{"error":{"code":"ORDER_NOT_FOUND","code_number":"E404001","message":"The order does not exist."},"status":404}"#
    );
    let flat = Renderer::new(Catalog::from_toml(CATALOG).unwrap()).with_envelope(Envelope::Flat);
    assert_eq!(
        std::str::from_utf8(&flat.render(&err, &ctx).body).unwrap(),
        r#"{"status":404,"code":"E404001","code_number":"E404001","message":"The order does not exist."}"#
    );
}

#[test]
fn the_catalog_picks_the_renderers_envelope() {
    let source = CATALOG.replace("flat_code = \"number\"", "format = \"flat\"");
    let r = Renderer::new(Catalog::from_toml(&source).unwrap());
    assert_eq!(r.envelope(), Envelope::Flat);
    let out = r.render(
        &ApiError::from_code("ORDER_NOT_FOUND", 404),
        &RenderContext::default(),
    );
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(v["code"], "ORDER_NOT_FOUND");
}

#[test]
fn params_render_without_any_envelope_config() {
    let catalog = Catalog::from_toml(
        r#"
        [catalog]
        name = "demo"
        default_locale = "en"
        locales = ["en"]
        "#,
    )
    .unwrap();
    let r = Renderer::new(catalog);
    let v = body(
        &r,
        &ApiError::from_code("RATE_LIMIT_EXCEEDED", 429).with_param("retry_after", 30),
        Envelope::Nested,
    );
    assert_eq!(v["error"]["params"], json!({"retry_after": 30}));
    assert!(v["error"].get("code_number").is_none());
}

#[test]
fn bad_envelope_tables_are_located_errors() {
    for (table, wanted) in [
        ("format = \"xml\"", "is not an envelope format"),
        (
            "flat_code = \"id\"",
            "`flat_code` must be `code` or `number`",
        ),
        ("params = \"message\"", "collides with a member"),
        ("number = \"request_id\"", "collides with a member"),
        ("number = \"a b\"", "cannot name an envelope member"),
        ("params = \"n\"\nnumber = \"n\"", "name the same member"),
        ("colour = \"red\"", "unknown key `colour` in `[envelope]`"),
    ] {
        let source = format!(
            "[catalog]\nname = \"x\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n[envelope]\n{table}\n"
        );
        let err = Catalog::from_toml(&source).unwrap_err().to_string();
        assert!(err.contains(wanted), "{table}: {err}");
    }
}
