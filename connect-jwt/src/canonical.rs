//! The canonical request and its query string hash (qsh), as Atlassian Connect defines them.
//!
//! Jira signs `METHOD&path&sorted-query`; both ends must build byte-identical strings, so this
//! follows Atlassian's reference implementation (npm `atlassian-jwt`) rule by rule, including the
//! ones that look odd (prefix stripping of the base path, `&` in a path escaped as `%26`).

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;

/// Everything except RFC 3986 "unreserved" (`A-Z a-z 0-9 - . _ ~`) is percent-encoded.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a key or value the way `atlassian-jwt`'s `encodeRfc3986` does.
pub fn encode_rfc3986(value: &str) -> String {
    utf8_percent_encode(value, RFC3986).to_string()
}

/// Decodes a query component like Node's `querystring.unescape`: `+` is a space, valid `%XX`
/// sequences are decoded, invalid ones are kept literally, invalid UTF-8 becomes U+FFFD.
fn decode_component(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// JavaScript's default `Array.prototype.sort` compares UTF-16 code units, not code points.
fn cmp_utf16(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Canonical form of the query string: `jwt` removed, keys sorted, repeated keys' values sorted and
/// joined with `,`, everything RFC 3986 encoded.
pub fn canonical_query(query: &str) -> String {
    let mut params: Vec<(String, Vec<String>)> = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let key = decode_component(k);
        if key == "jwt" {
            continue;
        }
        let value = decode_component(v);
        match params.iter_mut().find(|(existing, _)| *existing == key) {
            Some((_, values)) => values.push(value),
            None => params.push((key, vec![value])),
        }
    }
    params.sort_by(|a, b| cmp_utf16(&a.0, &b.0));
    let mut out = String::with_capacity(query.len() + 8);
    for (i, (key, mut values)) in params.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        values.sort_by(|a, b| cmp_utf16(a, b));
        out.push_str(&encode_rfc3986(&key));
        out.push('=');
        for (j, v) in values.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str(&encode_rfc3986(v));
        }
    }
    out
}

/// Canonical form of the path: relative to the app's base path, `&` escaped as `%26`, a single
/// trailing `/` dropped, empty meaning `/`.
pub fn canonical_path(path: &str, base_path: &str) -> String {
    let mut p = path;
    if !base_path.is_empty() && p.starts_with(base_path) {
        p = &p[base_path.len()..];
    }
    if p.is_empty() {
        return "/".to_owned();
    }
    let mut out = String::with_capacity(p.len() + 4);
    if !p.starts_with('/') {
        out.push('/');
    }
    out.push_str(&p.replace('&', "%26"));
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// `METHOD&path&query` for a request. `path` and `query` are raw (as sent on the wire, without
/// `?`); `base_path` is the path of the app's (or product's) base URL, e.g. `""` or `/jira`.
pub fn canonical_request(method: &str, path: &str, query: &str, base_path: &str) -> String {
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        canonical_path(path, base_path),
        canonical_query(query)
    )
}

/// Splits an absolute or origin-relative URL into its raw path and query, without normalising
/// anything (the `url` crate would re-encode characters and change the hash).
pub fn split_url(url: &str) -> (&str, &str) {
    let without_fragment = url.split('#').next().unwrap_or("");
    let after_scheme = match without_fragment.find("://") {
        Some(i) => {
            let rest = &without_fragment[i + 3..];
            match rest.find(['/', '?']) {
                Some(j) => &rest[j..],
                None => "",
            }
        }
        None => without_fragment,
    };
    match after_scheme.split_once('?') {
        Some((p, q)) => (p, q),
        None => (after_scheme, ""),
    }
}

/// The path of a base URL (`https://x.atlassian.net/jira` → `/jira`, no path → `""`).
pub fn base_path_of(base_url: &str) -> &str {
    split_url(base_url).0
}

/// Canonical request of a full URL against a base URL.
pub fn canonical_request_from_url(method: &str, url: &str, base_url: &str) -> String {
    let (path, query) = split_url(url);
    canonical_request(method, path, query, base_path_of(base_url))
}

/// The query string hash: lower-case hex SHA-256 of the canonical request.
pub fn query_string_hash(canonical: &str) -> String {
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples_from_the_connect_documentation() {
        assert_eq!(canonical_request("get", "/", "", ""), "GET&/&");
        assert_eq!(
            canonical_request("GET", "/rest/api/3/issue/TEST-1/", "b=2&a=1&a=0", ""),
            "GET&/rest/api/3/issue/TEST-1&a=0,1&b=2"
        );
        assert_eq!(
            canonical_request("POST", "/exalate/installed", "", "/exalate"),
            "POST&/installed&"
        );
        assert_eq!(
            canonical_request("GET", "/a&b", "x=%7E&jwt=abc", ""),
            "GET&/a%26b&x=~"
        );
    }

    #[test]
    fn split_url_keeps_raw_text() {
        assert_eq!(
            split_url("https://h.example/p%20q?a=1+2#frag"),
            ("/p%20q", "a=1+2")
        );
        assert_eq!(split_url("https://h.example?a=1"), ("", "a=1"));
        assert_eq!(split_url("/only/path"), ("/only/path", ""));
        assert_eq!(base_path_of("https://h.example"), "");
        assert_eq!(base_path_of("https://h.example/base"), "/base");
    }

    proptest! {
        // Order of parameters never changes the canonical query.
        #[test]
        fn parameter_order_is_irrelevant(pairs in proptest::collection::vec(("[a-zA-Z0-9 ~*+&=%é]{0,6}", "[a-zA-Z0-9 ~*+&=%é]{0,6}"), 0..6)) {
            let encode = |pairs: &[(String, String)]| pairs.iter()
                .map(|(k, v)| format!("{}={}", encode_rfc3986(k), encode_rfc3986(v)))
                .collect::<Vec<_>>().join("&");
            let mut reversed = pairs.clone();
            reversed.reverse();
            prop_assert_eq!(canonical_query(&encode(&pairs)), canonical_query(&encode(&reversed)));
        }

        // Encoding then canonicalising is stable: the output only contains unreserved characters,
        // `%XX`, and the separators `=`, `&`, `,`.
        #[test]
        fn output_alphabet_is_closed(q in "\\PC{0,40}") {
            let c = canonical_query(&q);
            prop_assert!(c.chars().all(|ch| ch.is_ascii_alphanumeric() || "-._~%=&,".contains(ch)));
        }

        // A `jwt` parameter never influences the hash, wherever it is.
        #[test]
        fn jwt_parameter_is_ignored(q in "[a-z]{1,4}=[a-z0-9]{0,4}(&[a-z]{1,4}=[a-z0-9]{0,4}){0,3}", t in "[A-Za-z0-9._-]{1,20}") {
            prop_assert_eq!(canonical_query(&q), canonical_query(&format!("jwt={t}&{q}")));
            prop_assert_eq!(canonical_query(&q), canonical_query(&format!("{q}&jwt={t}")));
        }

        // `+` and `%20` are the same space; `%2B` is a literal plus.
        #[test]
        fn plus_is_space(v in "[a-z ]{0,10}") {
            let plus = v.replace(' ', "+");
            let pct = v.replace(' ', "%20");
            prop_assert_eq!(canonical_query(&format!("k={plus}")), canonical_query(&format!("k={pct}")));
            prop_assert_eq!(canonical_query("k=%2B"), "k=%2B");
        }

        // One trailing slash never changes the hash; the path is never empty and has no raw `&`.
        #[test]
        fn trailing_slash_is_irrelevant(p in "(/[a-z&%0-9]{1,5}){0,4}", base in "(/[a-z]{1,4})?") {
            let without = canonical_path(&format!("{base}{p}"), &base);
            let with = canonical_path(&format!("{base}{p}/"), &base);
            prop_assert_eq!(&without, &with);
            prop_assert!(without.starts_with('/'));
            prop_assert!(!without.contains('&'));
        }

        // Canonicalisation never panics on arbitrary input.
        #[test]
        fn never_panics(m in "\\PC{0,8}", u in "\\PC{0,80}", b in "\\PC{0,20}") {
            let _ = canonical_request_from_url(&m, &u, &b);
        }
    }
}
