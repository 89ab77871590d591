//! The one error type of the HTTP edge: every failure becomes a status code and
//! `{"error": {"code", "message"}}`. Internal details are logged, never sent.

use crate::connect::auth::AuthError;
use crate::connect::install_keys::InstallKeyError;
use crate::connect::lifecycle::LifecycleError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn internal(context: &str, err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side. Please try again; if it persists, contact support.",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            resp.insert_header(("WWW-Authenticate", "JWT"));
        }
        resp.json(json!({"error": {"code": self.code, "message": self.message}}))
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(inner) => ApiError::internal("tenant store failed", &inner),
            AuthError::Disabled => ApiError::new(StatusCode::FORBIDDEN, e.code(), e.to_string()),
            other => ApiError::new(StatusCode::UNAUTHORIZED, other.code(), other.to_string()),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::Auth(a) => a.into(),
            LifecycleError::Key(InstallKeyError::Unavailable(ref why)) => {
                tracing::warn!(error = %why, "install key service unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "install_keys_unavailable",
                    "The signed-install key service could not be reached; Jira will retry.",
                )
            }
            LifecycleError::Key(k) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "jwt_key", k.to_string())
            }
            LifecycleError::NotSignedInstall | LifecycleError::IssuerMismatch => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "jwt_signed_install",
                e.to_string(),
            ),
            LifecycleError::InvalidPayload(_) => {
                ApiError::bad_request("invalid_payload", e.to_string())
            }
            LifecycleError::SiteNotAllowed(_) => {
                ApiError::bad_request("site_not_allowed", e.to_string())
            }
            LifecycleError::Store(inner) => ApiError::internal("tenant store failed", &inner),
        }
    }
}

/// actix's own extractor errors (bad JSON, body too large, bad query) as our JSON errors.
pub fn json_config(limit: usize) -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError as J;
            let api = match &err {
                J::OverflowKnownLength { .. } | J::Overflow { .. } => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "The request body is too large.",
                ),
                J::ContentType => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "content_type",
                    "Send the body as application/json.",
                ),
                _ => ApiError::bad_request(
                    "malformed_json",
                    "The request body is not valid JSON for this endpoint.",
                ),
            };
            actix_web::error::InternalError::from_response(err, api.error_response()).into()
        })
}

pub fn payload_config(limit: usize) -> actix_web::web::PayloadConfig {
    actix_web::web::PayloadConfig::new(limit)
}
