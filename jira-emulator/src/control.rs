//! The control API under `/_emulator/` (never on a real Jira path): reset or re-seed a site,
//! switch faults, read counters, look at installations, set who holds which project permission. Unauthenticated: the emulator listens on
//! loopback only and is a test tool.

use crate::faults::Faults;
use crate::model::{Seed, SiteData};
use crate::permissions;
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
            .route("/issues/{key}", web::get().to(issue_state))
            .route(
                "/projects/{key}/permissions",
                web::get().to(project_permissions),
            )
            .route(
                "/projects/{key}/permissions",
                web::put().to(set_project_permissions),
            )
            .route(
                "/projects/{key}/permissions",
                web::delete().to(clear_project_permissions),
            ),
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

fn no_project(key: &str) -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": format!("no such project {key}")}))
}

/// `{"project": KEY, "permissions": {PERMISSION: [accountId, …]}}`: every project permission and
/// the people holding it (apps act with their scopes and are not listed).
async fn project_permissions(site: web::Data<Site>, path: web::Path<String>) -> HttpResponse {
    let d = site.lock();
    match d.project_by_id_or_key(&path) {
        Some(p) => HttpResponse::Ok()
            .json(json!({"project": p.key, "permissions": permissions::effective(&d, p)})),
        None => no_project(&path),
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PermissionsChange {
    account_id: Option<String>,
    email: Option<String>,
    permissions: PermissionsSpec,
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum PermissionsSpec {
    /// With `accountId` or `email`: exactly the permissions that person holds in the project.
    Person(Vec<String>),
    /// The project's whole scheme: who holds each listed permission; the others get the default.
    Map(std::collections::BTreeMap<String, Vec<String>>),
}

/// `PUT /_emulator/projects/{key}/permissions`, either
/// `{"accountId" | "email": WHO, "permissions": [PERMISSION, …]}` (that person holds exactly
/// these in the project, nobody else changes) or `{"permissions": {PERMISSION: [WHO, …]}}`
/// (the listed permissions are held by exactly those people, the others return to the default).
async fn set_project_permissions(
    site: web::Data<Site>,
    path: web::Path<String>,
    body: web::Json<PermissionsChange>,
) -> HttpResponse {
    let body = body.into_inner();
    let mut d = site.lock();
    let Some(index) = d
        .projects
        .iter()
        .position(|p| p.id == *path || p.key.eq_ignore_ascii_case(&path))
    else {
        return no_project(&path);
    };
    let who = match (&body.account_id, &body.email) {
        (Some(a), None) => Some(a.as_str()),
        (None, Some(e)) => Some(e.as_str()),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return HttpResponse::BadRequest()
                .json(json!({"error": "give accountId or email, not both"}))
        }
    };
    let mut project = d.projects[index].clone();
    let result = match (who, body.permissions) {
        (Some(who), PermissionsSpec::Person(perms)) => permissions::person(&d, who)
            .and_then(|id| permissions::set_for_person(&d, &mut project, &id, &perms)),
        (None, PermissionsSpec::Map(map)) => {
            permissions::resolve_map(&d, &map).map(|m| project.permissions = m)
        }
        (Some(_), PermissionsSpec::Map(_)) => {
            Err("with accountId or email, permissions is a list of permission keys".into())
        }
        (None, PermissionsSpec::Person(_)) => Err(
            "a list of permissions needs accountId or email; otherwise give {PERMISSION: [who, ...]}"
                .into(),
        ),
    };
    match result {
        Ok(()) => {
            d.projects[index] = project;
            site.persist(&d);
            HttpResponse::NoContent().finish()
        }
        Err(e) => HttpResponse::BadRequest().json(json!({"error": e})),
    }
}

/// Back to the default: every person holds every project permission, admins Administer Projects.
async fn clear_project_permissions(site: web::Data<Site>, path: web::Path<String>) -> HttpResponse {
    let mut d = site.lock();
    let Some(p) = d
        .projects
        .iter_mut()
        .find(|p| p.id == *path || p.key.eq_ignore_ascii_case(&path))
    else {
        return no_project(&path);
    };
    p.permissions.clear();
    site.persist(&d);
    HttpResponse::NoContent().finish()
}
