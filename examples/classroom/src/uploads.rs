//! Base64 image upload.
//!
//! `POST /v1/uploads/images` takes `{"image": "<base64>"}` (a `data:image/…;base64,` prefix is
//! allowed). The decoded bytes must start with the magic bytes of PNG, JPEG, GIF or WebP
//! (field code `invalid_image` otherwise, bad base64 included) and be at most 5 MB (field code
//! `image_too_large` with `max_mb = 5`). A body over 10 MB is `PAYLOAD_TOO_LARGE` before any of
//! this runs.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use errata::{ApiError, Code, FieldError};
use errata_axum::{Json, Path};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::errors::{self, codes};

/// Largest decoded image, in megabytes.
pub const MAX_IMAGE_MB: i64 = 5;
/// Largest decoded image, in bytes.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// Errors of `POST /v1/uploads/images`.
pub const UPLOAD_ERRORS: &[Code] = &[codes::VALIDATION_ERROR, codes::PAYLOAD_TOO_LARGE];
errata_axum::error_set! {
    /// The codes of [`UPLOAD_ERRORS`] (errors of `POST /v1/uploads/images`).
    pub struct UploadErrors for crate::errors::catalog = UPLOAD_ERRORS;
}
/// Errors of `GET /v1/uploads/images/{id}`.
pub const DOWNLOAD_ERRORS: &[Code] = &[
    codes::NOT_FOUND,
    codes::PERMISSION_DENIED,
    codes::VALIDATION_ERROR,
];
errata_axum::error_set! {
    /// The codes of [`DOWNLOAD_ERRORS`] (errors of `GET /v1/uploads/images/{id}`).
    pub struct DownloadErrors for crate::errors::catalog = DOWNLOAD_ERRORS;
}

/// An image format recognized by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageFormat {
    /// `89 50 4E 47 0D 0A 1A 0A`.
    Png,
    /// `FF D8 FF`.
    Jpeg,
    /// `GIF87a` or `GIF89a`.
    Gif,
    /// `RIFF????WEBP`.
    Webp,
}

impl ImageFormat {
    /// Recognizes the format from the magic bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageFormat::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageFormat::Webp)
        } else {
            None
        }
    }

    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
        }
    }
}

fn invalid_image() -> ApiError {
    errors::validation_error().with_field_error("image", FieldError::new("invalid_image"))
}

fn too_large() -> ApiError {
    errors::validation_error().with_field_error(
        "image",
        FieldError::new("image_too_large").with_param("max_mb", MAX_IMAGE_MB),
    )
}

/// Decodes and checks a base64 image: its bytes and format, or the field error.
pub fn decode_image(text: &str) -> Result<(Vec<u8>, ImageFormat), ApiError> {
    let mut data = text.trim();
    if let Some(rest) = data.strip_prefix("data:") {
        let (meta, payload) = rest.split_once(',').ok_or_else(invalid_image)?;
        if !meta.ends_with(";base64") {
            return Err(invalid_image());
        }
        data = payload;
    }
    // Line breaks are common in base64 produced by mobile clients.
    let compact: String;
    if data.bytes().any(|b| b.is_ascii_whitespace()) {
        compact = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        data = &compact;
    }
    // Refuse oversized images before decoding them.
    if data.len() / 4 * 3 > MAX_IMAGE_BYTES + 3 {
        return Err(too_large());
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(data).map_err(|_| invalid_image())?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(too_large());
    }
    let format = ImageFormat::sniff(&bytes).ok_or_else(invalid_image)?;
    Ok((bytes, format))
}

/// `POST /v1/uploads/images` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadImage {
    /// Base64 of a PNG, JPEG, GIF or WebP image, at most 5 MB decoded.
    pub image: String,
}

/// An uploaded image.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    /// Id, for `GET /v1/uploads/images/{id}`.
    pub id: i64,
    /// Detected media type.
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: usize,
}

/// `POST /v1/uploads/images`.
#[utoipa::path(post, path = "/v1/uploads/images", tag = "uploads", security(("bearer" = [])),
    responses((status = 201, description = "Stored", body = Uploaded), UploadErrors))]
pub async fn upload(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<UploadImage>,
) -> Result<impl IntoResponse, ApiError> {
    let (bytes, format) = decode_image(&req.image)?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO images (user_id, content_type, data) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(user.id)
    .bind(format.content_type())
    .bind(&bytes)
    .fetch_one(&state.db)
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Uploaded {
            id,
            content_type: format.content_type().to_owned(),
            size: bytes.len(),
        }),
    ))
}

/// Path of `/v1/uploads/images/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ImageId {
    /// The image id.
    pub id: i64,
}

/// `GET /v1/uploads/images/{id}`: the image bytes, to their uploader only.
#[utoipa::path(get, path = "/v1/uploads/images/{id}", params(ImageId), tag = "uploads", security(("bearer" = [])),
    responses((status = 200, description = "The image bytes", content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/gif"), (Vec<u8> = "image/webp"))), DownloadErrors))]
pub async fn download(
    State(state): State<AppState>,
    user: AuthUser,
    Path(ImageId { id }): Path<ImageId>,
) -> Result<Response, ApiError> {
    let row: Option<(i64, String, Vec<u8>)> =
        sqlx::query_as("SELECT user_id, content_type, data FROM images WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.db)
            .await?;
    let Some((owner, content_type, data)) = row else {
        return Err(errors::not_found().with_details(serde_json::json!({"resource": "image"})));
    };
    if owner != user.id {
        return Err(errors::permission_denied());
    }
    let content_type = HeaderValue::from_str(&content_type).map_err(ApiError::internal)?;
    // Served as uploaded, never sniffed into something else (an "image" that is HTML).
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        data,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    fn field_code(err: &ApiError) -> &str {
        &err.field_errors()[0].1.code
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(ImageFormat::sniff(PNG), Some(ImageFormat::Png));
        assert_eq!(
            ImageFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(ImageFormat::sniff(b"GIF89a..."), Some(ImageFormat::Gif));
        assert_eq!(
            ImageFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageFormat::Webp)
        );
        assert_eq!(ImageFormat::sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(ImageFormat::sniff(b"%PDF-1.7"), None);
        assert_eq!(ImageFormat::sniff(b""), None);
    }

    #[test]
    fn decoding() {
        let b64 = STANDARD.encode(PNG);
        assert_eq!(decode_image(&b64).unwrap().1, ImageFormat::Png);
        assert_eq!(
            decode_image(&format!("data:image/png;base64,{b64}"))
                .unwrap()
                .0,
            PNG
        );
        assert_eq!(decode_image(b64.trim_end_matches('=')).unwrap().0, PNG);
        let wrapped: String = b64.chars().flat_map(|c| [c, '\n']).collect();
        assert_eq!(decode_image(&wrapped).unwrap().0, PNG);

        assert_eq!(
            field_code(&decode_image("not base64!!").unwrap_err()),
            "invalid_image"
        );
        assert_eq!(
            field_code(&decode_image(&STANDARD.encode(b"hello world")).unwrap_err()),
            "invalid_image"
        );
        assert_eq!(
            field_code(&decode_image("data:text/plain,hello").unwrap_err()),
            "invalid_image"
        );

        let mut big = PNG.to_vec();
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        let err = decode_image(&STANDARD.encode(&big)).unwrap_err();
        assert_eq!(field_code(&err), "image_too_large");
        let mut exact = PNG.to_vec();
        exact.resize(MAX_IMAGE_BYTES, 0);
        assert!(decode_image(&STANDARD.encode(&exact)).is_ok());
    }
}
