//! The admin console's built files (frontend/dist, embedded at compile time) and the HTML shell of
//! every module page, with what the frontend needs (session token, page, site, base URL) injected.

use actix_web::{web, HttpResponse};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "frontend/dist/"]
#[allow_missing = true]
struct Frontend;

/// `GET /assets/app/{path}`: hashed file names, so they can be cached for a year.
pub async fn asset(path: web::Path<String>) -> HttpResponse {
    match Frontend::get(path.as_str()) {
        Some(file) => HttpResponse::Ok()
            .content_type(file.metadata.mimetype())
            .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
            .body(file.data.into_owned()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// The built `index.html` with `head` (already escaped meta tags) inserted, or `None` when the
/// console was not built.
pub fn shell(head: &str) -> Option<String> {
    let file = Frontend::get("index.html")?;
    let html = String::from_utf8_lossy(&file.data).into_owned();
    // First in <head>, so these win over anything the built page may carry.
    Some(match html.find("<head>") {
        Some(i) => format!("{}\n{head}\n{}", &html[..i + 6], &html[i + 6..]),
        None => format!("{head}{html}"),
    })
}
