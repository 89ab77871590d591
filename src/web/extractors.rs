//! Request extractors that authenticate before a handler runs: [`JiraJwt`] for requests Jira
//! signs (qsh of the exact request), [`ContextJwt`] for our frontend's calls (context-qsh allowed).

use super::error::ApiError;
use crate::connect::auth::{Authenticated, QshMode, RequestParts};
use crate::state::AppState;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use std::future::Future;
use std::pin::Pin;

async fn authenticate(req: HttpRequest, mode: QshMode) -> Result<Authenticated, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered")
        .clone();
    let authorization = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok());
    let parts = RequestParts {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.query_string(),
        authorization,
    };
    let verifier = state.verifier();
    let result = verifier.verify(parts, mode, false).await;
    if let Err(e) = &result {
        // The request line (request_log.rs) names the route; the raw path may hold a code.
        tracing::debug!(code = e.code(), "token refused");
    }
    Ok(result?)
}

/// A request signed by Jira for exactly this URL.
pub struct JiraJwt(pub Authenticated);

impl FromRequest for JiraJwt {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(req, QshMode::Exact).await.map(JiraJwt) })
    }
}

/// A request from our own frontend: `AP.context.getToken()` or the page's session token.
pub struct ContextJwt(pub Authenticated);

impl FromRequest for ContextJwt {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            authenticate(req, QshMode::AllowContext)
                .await
                .map(ContextJwt)
        })
    }
}
