use axum::extract::FromRequest;
use errata_axum::Valid;

#[derive(serde::Deserialize, validator::Validate)]
struct Signup {
    #[validate(email)]
    email: String,
}

fn extractor<E: FromRequest<()>>() {}

fn main() {
    extractor::<Valid<axum::Json<Signup>>>();
}
