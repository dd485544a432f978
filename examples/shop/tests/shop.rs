//! The shop over real HTTP on loopback: every error, whoever produced it, in the envelope with
//! its original status; successes untouched.

use std::net::SocketAddr;

use errata_axum::test::parse_error;
use reqwest::header::{HeaderMap, ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE, ORIGIN};

const TOKEN: &str = "s3cret-token";

async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, shop::app(TOKEN)).await.unwrap() });
    addr
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn send(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.unwrap();
    Reply {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.bytes().await.unwrap().to_vec(),
    }
}

/// Checks an error reply: the status, the code, the envelope, the request id echoed.
fn error(reply: &Reply, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(
        reply.status,
        status,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.headers[CONTENT_TYPE], "application/json");
    let e = parse_error(reply.status, &reply.body);
    assert_eq!(e.code, code, "{}", e.json);
    assert!(!e.message.is_empty());
    let id = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(e.json["request_id"], id);
    e.json
}

#[tokio::test]
async fn every_error_is_in_the_envelope_with_its_own_status() {
    let addr = serve().await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");
    let authed = |req: reqwest::RequestBuilder| req.bearer_auth(TOKEN);

    // tower-http's bearer check: a foreign 401.
    let r = send(http.get(url("/orders/1"))).await;
    error(&r, 401, "UNAUTHENTICATED");
    let r = send(http.get(url("/orders/1")).bearer_auth("wrong")).await;
    error(&r, 401, "UNAUTHENTICATED");

    // A success is untouched.
    let r = send(authed(http.get(url("/orders/1")))).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["items"],
        2
    );
    assert_eq!(r.headers["x-request-id"].len(), 32);

    // The catalog's own errors, with their parameters in the message.
    let r = send(authed(http.get(url("/orders/7")))).await;
    let json = error(&r, 404, "ORDER_NOT_FOUND");
    assert_eq!(json["error"]["message"], "There is no order 7.");
    let r = send(authed(http.get(url("/stock/mug-01"))).header("accept-language", "ko")).await;
    let json = error(&r, 409, "OUT_OF_STOCK");
    assert_eq!(json["error"]["message"], "mug-01 재고가 3개 남았습니다.");

    // A handler's own (409, Json): re-wrapped, status kept, its words gone.
    let r = send(authed(http.post(url("/orders/1/reserve")))).await;
    error(&r, 409, "CONFLICT");
    assert!(!String::from_utf8_lossy(&r.body).contains("another session"));

    // A panic: 500, nothing of it in the body; the server keeps serving.
    let r = send(authed(http.get(url("/crash")))).await;
    error(&r, 500, "SERVER_ERROR");
    assert!(!String::from_utf8_lossy(&r.body).contains("inventory"));

    // A handler past its deadline: HANDLER_TIMEOUT, not 408 and not 504.
    let r = send(authed(http.get(url("/report")))).await;
    error(&r, 503, "HANDLER_TIMEOUT");

    // The router's own answers.
    let r = send(authed(http.get(url("/nope")))).await;
    error(&r, 404, "ROUTE_NOT_FOUND");
    let r = send(authed(http.delete(url("/orders/1")))).await;
    let json = error(&r, 405, "METHOD_NOT_ALLOWED");
    assert!(r.headers.contains_key("allow"), "{json}");

    // CORS: an error answered to the allowed origin keeps its CORS headers, so the browser
    // lets the frontend read the envelope.
    let r = send(
        http.get(url("/orders/7"))
            .header(ORIGIN, "https://shop.example")
            .bearer_auth(TOKEN),
    )
    .await;
    error(&r, 404, "ORDER_NOT_FOUND");
    assert_eq!(
        r.headers[ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://shop.example"
    );
    let r = send(
        http.get(url("/orders/1"))
            .header(ORIGIN, "https://shop.example"),
    )
    .await;
    error(&r, 401, "UNAUTHENTICATED");
    assert_eq!(
        r.headers[ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://shop.example"
    );

    // problem+json on request.
    let r =
        send(authed(http.get(url("/orders/7"))).header("accept", "application/problem+json")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.headers[CONTENT_TYPE], "application/problem+json");
}
