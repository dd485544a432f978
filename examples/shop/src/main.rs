//! `cargo run -p shop -- 127.0.0.1:3000` (token from `SHOP_TOKEN`, default `letmein`).

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let token = std::env::var("SHOP_TOKEN").unwrap_or_else(|_| "letmein".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("shop listening on {addr}");
    axum::serve(listener, shop::app(&token)).await
}
