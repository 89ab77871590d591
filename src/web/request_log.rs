//! The span and the log line of one HTTP request. A raw request target carries secrets (Connect's
//! `?jwt=…`, an invitation code in `/api/connect-requests/{code}`), so a request is logged by its
//! route pattern and its path with codes cut out, never with its query string.
//!
//! Requests are logged at debug level (`RUST_LOG=exalate=debug` shows them); a 5xx is a warning,
//! since it is ours to fix.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::Error;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

/// What the request span and line show of a request: method, route pattern and a redacted path.
pub struct RedactedRequestSpan;

impl RootSpanBuilder for RedactedRequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        tracing::debug_span!(
            "request",
            method = %request.method(),
            route = %route,
            path = %redact_path(request.path()),
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        // Route and path go on the line itself, not only on the span: the span is debug level,
        // so at the default level a 5xx warning would otherwise say nothing of what failed.
        let (status, error, route, path) = match outcome {
            Ok(res) => (
                res.status(),
                res.response().error().map(|e| e.to_string()),
                res.request()
                    .match_pattern()
                    .unwrap_or_else(|| "default".into()),
                redact_path(res.request().path()),
            ),
            Err(e) => (
                e.as_response_error().status_code(),
                Some(e.to_string()),
                "default".into(),
                String::new(),
            ),
        };
        span.record("status", status.as_u16());
        let _entered = span.enter();
        let error = error.as_deref().unwrap_or("");
        if status.is_server_error() {
            tracing::warn!(%route, %path, status = status.as_u16(), %error, "request failed");
        } else if status.is_client_error() {
            tracing::debug!(%route, %path, status = status.as_u16(), %error, "request refused");
        } else {
            tracing::debug!(%route, %path, status = status.as_u16(), "request answered");
        }
    }
}

/// The path with every segment that could be a secret replaced: invitation codes (`exa1.…`) and
/// anything long enough to be a token.
pub fn redact_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let decoded = percent_decoded_prefix(seg);
            if decoded.starts_with("exa1.") || seg.len() > 64 {
                "[redacted]"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Enough of a segment, percent-decoded, to recognise a code's prefix written as `exa1%2E…`.
fn percent_decoded_prefix(seg: &str) -> String {
    let head: String = seg.chars().take(24).collect();
    percent_encoding::percent_decode_str(&head)
        .decode_utf8_lossy()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::redact_path;

    #[test]
    fn codes_and_long_segments_are_cut_out_of_a_path() {
        assert_eq!(
            redact_path("/api/connect-requests/exa1.abc.def"),
            "/api/connect-requests/[redacted]"
        );
        assert_eq!(
            redact_path("/api/connect-requests/EXA1%2Eabc"),
            "/api/connect-requests/[redacted]"
        );
        let long = "x".repeat(65);
        assert_eq!(redact_path(&format!("/a/{long}/b")), "/a/[redacted]/b");
        assert_eq!(
            redact_path("/api/issues/TEST-3/status"),
            "/api/issues/TEST-3/status"
        );
    }
}
