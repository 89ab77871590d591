//! Headers every answer carries. Pages may be framed only by the Jira sites we may talk to and
//! Atlassian's own origins (Atlassian's advice for iframe apps), run scripts only from us and from
//! Atlassian's all.js, never sniff types, and send no Referer (page URLs carry a `jwt`). Over
//! https, browsers are told to stay on https.

use crate::configuration::Settings;
use actix_web::middleware::DefaultHeaders;

pub fn headers(settings: &Settings) -> DefaultHeaders {
    let mut h = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Content-Security-Policy", content_security_policy(settings)));
    if settings.base_url().starts_with("https://") {
        h = h.add(("Strict-Transport-Security", "max-age=31536000"));
    }
    h
}

/// One policy for pages and API alike: the API answers JSON, which a browser never runs.
pub fn content_security_policy(settings: &Settings) -> String {
    let mut ancestors = vec![
        "'self'".to_owned(),
        "https://*.atlassian.net".to_owned(),
        "https://*.atlassian.com".to_owned(),
    ];
    for pattern in &settings.jira.allowed_hosts {
        let p = pattern.trim().to_ascii_lowercase();
        if p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-*:[]".contains(c))
        {
            continue;
        }
        let port = if p.starts_with('*') { "" } else { ":*" };
        ancestors.push(format!("https://{p}{port}"));
        if settings.jira.allow_http {
            ancestors.push(format!("http://{p}{port}"));
        }
    }
    ancestors.dedup();
    let mut scripts = vec!["'self'".to_owned()];
    if let Ok(u) = url::Url::parse(&settings.connect.all_js_url) {
        let origin = u.origin().ascii_serialization();
        if origin != "null" {
            scripts.push(origin);
        }
    }
    format!(
        "frame-ancestors {}; script-src {}; object-src 'none'; base-uri 'self'; form-action 'self'",
        ancestors.join(" "),
        scripts.join(" ")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn pages_are_framed_by_jira_only_and_run_our_scripts_only() {
        let s = crate::configuration::load(None).expect("defaults");
        let csp = super::content_security_policy(&s);
        assert!(
            csp.contains("frame-ancestors 'self' https://*.atlassian.net"),
            "{csp}"
        );
        assert!(csp.contains("https://*.jira.com"), "{csp}");
        assert!(!csp.contains("http://"), "no plain http by default: {csp}");
        assert!(
            csp.contains("script-src 'self' https://connect-cdn.atl-paas.net"),
            "{csp}"
        );
        assert!(csp.contains("object-src 'none'"), "{csp}");
    }
}
