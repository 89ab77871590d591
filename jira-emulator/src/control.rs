//! The control API under `/_emulator/` (never on a real Jira path): reset or re-seed a site,
//! switch faults, read counters, look at installations. Unauthenticated: the emulator listens on
//! loopback only and is a test tool.

use crate::faults::Faults;
use crate::model::{Seed, SiteData};
use crate::site::Site;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_emulator")
            .route("/info", web::get().to(info))
            .route("/reset", web::post().to(reset))
            .route("/seed", web::post().to(seed))
            .route("/faults", web::get().to(get_faults))
            .route("/faults", web::put().to(put_faults))
            .route("/faults", web::delete().to(clear_faults))
            .route("/counters", web::get().to(counters))
            .route("/counters", web::delete().to(reset_counters))
            .route("/installations", web::get().to(installations))
            .route("/issues/{key}", web::get().to(issue_state)),
    );
}

async fn info(site: web::Data<Site>) -> HttpResponse {
    let base = site.base_url();
    HttpResponse::Ok().json(json!({
        "site": site.name, "baseUrl": base,
        "installKeysUrl": format!("{base}/_emulator/install-keys"),
        "allJsUrl": format!("{base}/_emulator/all.js"),
    }))
}

fn replace_data(site: &Site, data: SiteData) {
    let mut d = site.lock();
    // Installed apps survive a reset: only Jira content is re-seeded.
    let installations = std::mem::take(&mut d.installations);
    let app_users: Vec<_> = d
        .users
        .iter()
        .filter(|u| u.account_type == "app")
        .cloned()
        .collect();
    *d = data;
    d.installations = installations;
    d.users.extend(app_users);
    site.persist(&d);
}

async fn reset(site: web::Data<Site>) -> HttpResponse {
    match SiteData::from_seed(&site.seed) {
        Ok(data) => {
            replace_data(&site, data);
            site.counters.reset();
            *site.faults.faults.lock().expect("faults") = Faults::default();
            HttpResponse::NoContent().finish()
        }
        Err(e) => HttpResponse::InternalServerError().json(json!({"error": e})),
    }
}

async fn seed(site: web::Data<Site>, body: web::Json<Seed>) -> HttpResponse {
    match SiteData::from_seed(&body) {
        Ok(data) => {
            replace_data(&site, data);
            HttpResponse::NoContent().finish()
        }
        Err(e) => HttpResponse::BadRequest().json(json!({"error": e})),
    }
}

async fn get_faults(site: web::Data<Site>) -> HttpResponse {
    HttpResponse::Ok().json(site.faults.faults.lock().expect("faults").clone())
}

async fn put_faults(site: web::Data<Site>, body: web::Json<Faults>) -> HttpResponse {
    *site.faults.faults.lock().expect("faults") = body.into_inner();
    HttpResponse::NoContent().finish()
}

async fn clear_faults(site: web::Data<Site>) -> HttpResponse {
    *site.faults.faults.lock().expect("faults") = Faults::default();
    HttpResponse::NoContent().finish()
}

async fn counters(site: web::Data<Site>) -> HttpResponse {
    HttpResponse::Ok().json(site.counters.snapshot())
}

async fn reset_counters(site: web::Data<Site>) -> HttpResponse {
    site.counters.reset();
    HttpResponse::NoContent().finish()
}

async fn installations(site: web::Data<Site>) -> HttpResponse {
    let d = site.lock();
    let list: Vec<Value> = d
        .installations
        .iter()
        .map(|i| json!({"appKey": i.app_key, "clientKey": i.client_key, "baseUrl": i.base_url,
                        "installed": i.installed, "enabled": i.enabled, "appAccountId": i.app_account_id,
                        "scopes": i.scopes}))
        .collect();
    HttpResponse::Ok().json(list)
}

/// The whole stored issue (properties, remote links, attachment hashes), for assertions.
async fn issue_state(site: web::Data<Site>, path: web::Path<String>) -> HttpResponse {
    let d = site.lock();
    match d
        .issue_id_by_id_or_key(&path)
        .and_then(|id| d.issues.get(&id))
    {
        Some(i) => {
            let atts: Vec<_> = i
                .attachment_ids
                .iter()
                .filter_map(|a| d.attachments.get(a))
                .collect();
            HttpResponse::Ok().json(json!({"issue": i, "attachments": atts}))
        }
        None => HttpResponse::NotFound().json(json!({"error": "no such issue"})),
    }
}
