//! Who may do what. Global permissions follow the user's site-admin flag; project permissions are
//! held per project, as a Jira permission scheme grants them: for each permission either the
//! default rule (every person holds it, except Administer Projects, which site admins hold) or an
//! explicit list of account ids (from the seed's `permissions`, or `PUT
//! /_emulator/projects/{key}/permissions`).
//!
//! People (basic auth, session cookie) are held to these permissions by the REST API. Apps (Connect
//! JWT) act with their scopes, as the `atlassian-addons-project-access` role lets them in Jira:
//! their own account holds every project permission but Administer Projects, whatever the lists say.

use crate::error::{ApiResult, JiraApiError};
use crate::model::{Project, SiteData, User};
use crate::site::Principal;
use std::collections::BTreeMap;

pub const GLOBAL_PERMISSIONS: &[(&str, &str)] = &[
    ("ADMINISTER", "Administer Jira"),
    ("SYSTEM_ADMIN", "Administer Jira system"),
    ("USER_PICKER", "Browse users and groups"),
    ("CREATE_SHARED_OBJECTS", "Share dashboards and filters"),
];

pub const PROJECT_PERMISSIONS: &[(&str, &str)] = &[
    ("BROWSE_PROJECTS", "Browse Projects"),
    ("CREATE_ISSUES", "Create Issues"),
    ("EDIT_ISSUES", "Edit Issues"),
    ("DELETE_ISSUES", "Delete Issues"),
    ("ADD_COMMENTS", "Add Comments"),
    ("EDIT_ALL_COMMENTS", "Edit All Comments"),
    ("DELETE_ALL_COMMENTS", "Delete All Comments"),
    ("CREATE_ATTACHMENTS", "Create Attachments"),
    ("DELETE_ALL_ATTACHMENTS", "Delete All Attachments"),
    ("ADMINISTER_PROJECTS", "Administer Projects"),
];

pub const BROWSE: &str = "BROWSE_PROJECTS";

pub fn is_project_permission(name: &str) -> bool {
    PROJECT_PERMISSIONS.iter().any(|(k, _)| *k == name)
}

pub fn has_global(d: &SiteData, account_id: &str, perm: &str) -> bool {
    let Some(u) = d.user(account_id) else {
        return false;
    };
    match perm {
        "ADMINISTER" | "SYSTEM_ADMIN" => u.admin,
        "USER_PICKER" | "CREATE_SHARED_OBJECTS" => true,
        _ => false,
    }
}

/// The default scheme: everyone holds every project permission; Administer Projects is for admins.
fn by_default(u: &User, perm: &str) -> bool {
    match perm {
        "ADMINISTER_PROJECTS" => u.admin,
        _ => true,
    }
}

fn is_app(u: &User) -> bool {
    u.account_type == "app"
}

/// Whether the user `account_id` holds `perm` in `project`.
pub fn holds(d: &SiteData, account_id: &str, project: &Project, perm: &str) -> bool {
    let Some(u) = d.user(account_id) else {
        return false;
    };
    if is_app(u) {
        return by_default(u, perm);
    }
    match project.permissions.get(perm) {
        Some(holders) => holders.iter().any(|a| a == account_id),
        None => by_default(u, perm),
    }
}

/// Whether `account_id` holds `perm` in the project with id `project_id` (false if there is none).
pub fn holds_in(d: &SiteData, account_id: &str, project_id: &str, perm: &str) -> bool {
    d.projects
        .iter()
        .find(|p| p.id == project_id)
        .is_some_and(|p| holds(d, account_id, p, perm))
}

/// Whether the caller may do `perm` in the project: people by the project's permissions, apps
/// always (their scopes were checked when the request was authenticated).
pub fn may(d: &SiteData, p: &Principal, project_id: &str, perm: &str) -> bool {
    match p {
        Principal::App { .. } => true,
        Principal::User { account_id } => holds_in(d, account_id, project_id, perm),
    }
}

/// The id of the issue `id_or_key` if the caller may see it; otherwise Jira's 404, which does not
/// tell a missing issue from a hidden one.
pub fn visible_issue(d: &SiteData, p: &Principal, id_or_key: &str) -> ApiResult<u64> {
    d.issue_id_by_id_or_key(id_or_key)
        .filter(|id| may(d, p, &d.issues[id].project_id, BROWSE))
        .ok_or_else(JiraApiError::issue_not_found)
}

/// Whether the caller may see the issue with this id (a missing one is not visible).
pub fn can_see_issue(d: &SiteData, p: &Principal, issue_id: u64) -> bool {
    d.issues
        .get(&issue_id)
        .is_some_and(|i| may(d, p, &i.project_id, BROWSE))
}

/// The account id of a person named by account id or email address.
pub fn person(d: &SiteData, who: &str) -> Result<String, String> {
    d.users
        .iter()
        .filter(|u| !is_app(u))
        .find(|u| u.account_id == who || u.email_address.as_deref() == Some(who))
        .map(|u| u.account_id.clone())
        .ok_or_else(|| format!("unknown user {who}"))
}

/// Resolves `{permission: [accountId or email, …]}` to account ids, checking every name.
pub fn resolve_map(
    d: &SiteData,
    map: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut out = BTreeMap::new();
    for (perm, who) in map {
        if !is_project_permission(perm) {
            return Err(format!("unknown project permission {perm}"));
        }
        let mut ids = who
            .iter()
            .map(|w| person(d, w))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort();
        ids.dedup();
        out.insert(perm.clone(), ids);
    }
    Ok(out)
}

/// Every project permission with the people who hold it in `project` (accountIds).
pub fn effective(d: &SiteData, project: &Project) -> BTreeMap<String, Vec<String>> {
    PROJECT_PERMISSIONS
        .iter()
        .map(|(perm, _)| {
            let ids = d
                .users
                .iter()
                .filter(|u| !is_app(u) && holds(d, &u.account_id, project, perm))
                .map(|u| u.account_id.clone())
                .collect();
            ((*perm).to_owned(), ids)
        })
        .collect()
}

/// Makes the person `account_id` hold exactly `perms` in `project`; everyone else keeps theirs.
pub fn set_for_person(
    d: &SiteData,
    project: &mut Project,
    account_id: &str,
    perms: &[String],
) -> Result<(), String> {
    if let Some(bad) = perms.iter().find(|p| !is_project_permission(p)) {
        return Err(format!("unknown project permission {bad}"));
    }
    let mut lists = effective(d, project);
    for (perm, ids) in lists.iter_mut() {
        ids.retain(|a| a != account_id);
        if perms.iter().any(|p| p == perm) {
            ids.push(account_id.to_owned());
            ids.sort();
        }
    }
    project.permissions = lists;
    Ok(())
}
