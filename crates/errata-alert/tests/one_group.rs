//! One group per problem: a storm through errata's edge layer and the capture layer, clients
//! asking in Korean and in English, a parameterized message for ten SKUs and a fixed one with
//! causes that differ only in numbers, gives exactly one alert per problem, written in the
//! operator's locale, with the parameters' values kept as sampled tags.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use errata::ApiError;
use errata_alert::{Alert, Alerting, Config, Timing};
use errata_catalog::Catalog;
use tower::{Layer, ServiceExt};

use support::Recorder;

const CATALOG: &str = r#"
[catalog]
name = "shop"
version = "1.0.0"
default_locale = "ko"
locales = ["ko", "en"]

[errors.OUT_OF_STOCK]
status = 409
message.ko = "{sku} 상품은 품절입니다."
message.en = "{sku} is out of stock."
params = { sku = "string" }
alert = "always"

[errors.INVENTORY_DOWN]
status = 503
message.ko = "재고 서비스에 연결할 수 없습니다."
message.en = "The inventory service cannot be reached."
"#;

fn app(catalog: &Catalog) -> Router {
    let renderer = Arc::new(errata::Renderer::new(catalog.clone()));
    Router::new()
        .route(
            "/stock/{sku}",
            get(|Path(sku): Path<String>| async move {
                Err::<(), _>(ApiError::from_code("OUT_OF_STOCK", 409).with_param("sku", sku))
            }),
        )
        .route(
            "/inventory/{n}",
            get(|Path(n): Path<u32>| async move {
                Err::<(), _>(
                    ApiError::from_code("INVENTORY_DOWN", 503)
                        .with_cause(format!("connect to 10.0.0.{n}:5432 failed after {n} ms")),
                )
            }),
        )
        .layer(errata_axum::ErrataLayer::new(renderer))
}

/// Sends the storm (locales alternating) through the capture layer; returns the alerts.
async fn storm(config: Config) -> Vec<Alert> {
    let catalog = Catalog::from_toml(CATALOG).expect("catalog");
    let recorder = Recorder::default();
    let (layer, handle) = Alerting::from_config(config)
        .catalog(&catalog)
        .store_memory()
        .console(false)
        .sink(recorder.clone())
        .timing(Timing {
            group_wait: Duration::from_millis(50),
            ..Timing::default()
        })
        .start()
        .await
        .expect("pipeline starts");
    let service = layer.layer(app(&catalog));
    for i in 0..200u32 {
        let locale = if i % 2 == 0 {
            "ko-KR,ko;q=0.9"
        } else {
            "en-US,en;q=0.8"
        };
        let uri = if i % 4 < 2 {
            format!("/stock/A-{}", i % 10)
        } else {
            format!("/inventory/{}", i % 7 + 1)
        };
        let resp = service
            .clone()
            .oneshot(
                Request::get(uri)
                    .header("accept-language", locale)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(resp.status() == 409 || resp.status() == 503);
    }
    handle.shutdown().await;
    recorder.take()
}

fn by_code<'a>(alerts: &'a [Alert], code: &str) -> Vec<&'a Alert> {
    alerts.iter().filter(|a| a.code == code).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_locales_and_parameters_give_one_group_per_problem() {
    let env = |k: &str| (k == "ERRATA_LOCALE").then(|| "en".to_string());
    let alerts = storm(Config::from_lookup(env).unwrap()).await;
    let stock = by_code(&alerts, "OUT_OF_STOCK");
    let down = by_code(&alerts, "INVENTORY_DOWN");
    assert_eq!(alerts.len(), stock.len() + down.len(), "{alerts:#?}");
    let groups = |v: &[&Alert]| {
        let mut fps: Vec<&str> = v.iter().map(|a| a.fingerprint.as_str()).collect();
        fps.dedup();
        fps.len()
    };
    assert_eq!(groups(&stock), 1, "one group for ten SKUs in two locales");
    assert_eq!(
        groups(&down),
        1,
        "one group for causes that differ in numbers only"
    );
    assert_eq!(stock.iter().map(|a| a.count).sum::<u64>(), 100);
    assert_eq!(down.iter().map(|a| a.count).sum::<u64>(), 100);

    // Written in the operator's locale, from the code and the parameters.
    let first = stock[0];
    assert_eq!(first.sample.locale.as_deref(), Some("en"));
    assert!(
        first.sample.message.ends_with(" is out of stock.")
            && first.sample.message.starts_with("A-"),
        "{}",
        first.sample.message
    );
    assert_eq!(
        down[0].sample.message,
        "The inventory service cannot be reached."
    );
    // The SKUs are sampled tags.
    let tags = first.params_text().expect("tags");
    assert!(tags.starts_with("sku: 10 distinct, e.g. A-"), "{tags}");
    assert!(down[0].params.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_default_to_the_catalogs_default_locale() {
    let alerts = storm(Config::default()).await;
    let stock = by_code(&alerts, "OUT_OF_STOCK");
    assert!(!stock.is_empty());
    for a in &stock {
        assert_eq!(a.sample.locale.as_deref(), Some("ko"));
        assert!(
            a.sample.message.ends_with("상품은 품절입니다."),
            "{}",
            a.sample.message
        );
    }
}

#[tokio::test]
async fn an_operator_locale_outside_the_catalog_is_a_located_error() {
    let catalog = Catalog::from_toml(CATALOG).unwrap();
    let env = |k: &str| (k == "ERRATA_LOCALE").then(|| "fr".to_string());
    let err = Alerting::from_config(Config::from_lookup(env).unwrap())
        .catalog(&catalog)
        .store_memory()
        .start()
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("ERRATA_LOCALE: \"fr\""),
        "{err}"
    );
}
