//! Which hosts the app may call. Every outgoing URL (a site's baseUrl at install, a destination
//! typed into the wizard, a redirect) goes through here, so user input cannot make the server
//! reach internal services (SSRF).

use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("that is not a valid URL")]
    Invalid,
    #[error("only https URLs are accepted")]
    Scheme,
    #[error("URLs with a user name or password are not accepted")]
    Credentials,
    #[error("the host {0} is not an allowed Jira host")]
    HostNotAllowed(String),
}

#[derive(Debug, Clone)]
pub struct HostAllowlist {
    exact: Vec<String>,
    suffixes: Vec<String>,
    allow_http: bool,
}

impl HostAllowlist {
    pub fn new(patterns: &[String], allow_http: bool) -> Self {
        let mut exact = Vec::new();
        let mut suffixes = Vec::new();
        for p in patterns {
            let p = p.trim().to_ascii_lowercase();
            if p.is_empty() {
                continue;
            }
            match p.strip_prefix("*.") {
                Some(s) => suffixes.push(format!(".{s}")),
                None => exact.push(p),
            }
        }
        HostAllowlist {
            exact,
            suffixes,
            allow_http,
        }
    }

    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let host = host.trim_end_matches('.');
        self.exact.iter().any(|e| e == host)
            || self
                .suffixes
                .iter()
                .any(|s| host.len() > s.len() && host.ends_with(s.as_str()))
    }

    pub fn check(&self, url: &Url) -> Result<(), UrlError> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            _ => return Err(UrlError::Scheme),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Credentials);
        }
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => format!("[{ip}]"),
            None => return Err(UrlError::Invalid),
        };
        if self.host_allowed(&host) {
            Ok(())
        } else {
            Err(UrlError::HostNotAllowed(host))
        }
    }

    pub fn check_str(&self, raw: &str) -> Result<Url, UrlError> {
        let raw = raw.trim();
        if raw.len() > 2048 {
            return Err(UrlError::Invalid);
        }
        let url = Url::parse(raw).map_err(|_| UrlError::Invalid)?;
        self.check(&url)?;
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> HostAllowlist {
        HostAllowlist::new(&["*.atlassian.net".into(), "".into()], false)
    }

    #[test]
    fn hostile_urls_are_refused() {
        let l = list();
        assert!(l.check_str("https://acme.atlassian.net").is_ok());
        assert!(l.check_str("https://ACME.Atlassian.NET./").is_ok());
        for bad in [
            "https://atlassian.net",
            "https://evil.com/?x=.atlassian.net",
            "https://acme.atlassian.net.evil.com",
            "https://evilatlassian.net",
            "http://acme.atlassian.net",
            "https://user:pw@acme.atlassian.net",
            "file:///etc/passwd",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://localhost",
            "javascript:alert(1)",
            "not a url",
            "https://0x7f.0.0.1/",
        ] {
            assert!(l.check_str(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn exact_ip_and_http_only_when_configured() {
        let l = HostAllowlist::new(&["127.0.0.1".into()], true);
        assert!(l.check_str("http://127.0.0.1:8101").is_ok());
        // The url crate normalises hex and octal forms, so they cannot sneak past a name check.
        assert!(l.check_str("http://0x7f.0.0.1:8101").is_ok());
        assert!(l.check_str("http://127.0.0.2:8101").is_err());
    }
}
