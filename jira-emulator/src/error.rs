//! Jira's error body: `{"errorMessages": [...], "errors": {...}}` with the status Jira uses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct JiraApiError {
    pub status: StatusCode,
    pub messages: Vec<String>,
    pub errors: BTreeMap<String, String>,
}

impl JiraApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        JiraApiError {
            status,
            messages: vec![message.into()],
            errors: BTreeMap::new(),
        }
    }
    pub fn field(status: StatusCode, field: &str, message: impl Into<String>) -> Self {
        let mut errors = BTreeMap::new();
        errors.insert(field.to_owned(), message.into());
        JiraApiError {
            status,
            messages: vec![],
            errors,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn issue_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        )
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "You are not authenticated. Authentication required to perform this operation.",
        )
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
}

impl std::fmt::Display for JiraApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} {:?}", self.status, self.messages, self.errors)
    }
}

impl ResponseError for JiraApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .json(json!({"errorMessages": self.messages, "errors": self.errors}))
    }
}

pub type ApiResult<T> = Result<T, JiraApiError>;
