//! The app descriptor: `atlassian-connect.json` at the repository root is a template; the key,
//! name and baseUrl come from configuration. Rendered once at start-up and served as bytes.

use serde_json::Value;

const TEMPLATE: &str = include_str!("../../atlassian-connect.json");

#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    #[error("the descriptor template does not render to valid JSON: {0}")]
    Invalid(#[from] serde_json::Error),
}

#[derive(Debug, Clone)]
pub struct Descriptor {
    pub json: Value,
    pub bytes: actix_web::web::Bytes,
}

/// Renders the template. Values are inserted as JSON string contents, so no value can break out.
pub fn render(
    app_key: &str,
    app_name: &str,
    base_url: &str,
) -> Result<Descriptor, DescriptorError> {
    let esc = |s: &str| {
        let quoted = serde_json::to_string(s).expect("strings serialise");
        quoted[1..quoted.len() - 1].to_owned()
    };
    let text = TEMPLATE
        .replace("{{appKey}}", &esc(app_key))
        .replace("{{appName}}", &esc(app_name))
        .replace("{{baseUrl}}", &esc(base_url));
    let json: Value = serde_json::from_str(&text)?;
    let bytes = serde_json::to_vec_pretty(&json)?.into();
    Ok(Descriptor { json, bytes })
}

/// Every URL the descriptor asks Jira to call or show (lifecycle and module URLs), without
/// query strings, for the test that checks each one is routed.
pub fn declared_urls(json: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("url", Value::String(s)) if s.starts_with('/') => {
                            out.push(s.split('?').next().unwrap_or(s).to_owned())
                        }
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(Value::Object(lifecycle)) = json.get("lifecycle") {
        out.extend(
            lifecycle
                .values()
                .filter_map(|v| v.as_str().map(str::to_owned)),
        );
    }
    if let Some(modules) = json.get("modules") {
        walk(modules, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_with_config_values_and_escapes() {
        let d = render("k\"ey", "Exalate", "https://ex.example.com").unwrap();
        assert_eq!(d.json["key"], "k\"ey");
        assert_eq!(d.json["baseUrl"], "https://ex.example.com");
        assert_eq!(d.json["apiMigrations"]["signed-install"], true);
        assert_eq!(d.json["apiMigrations"]["context-qsh"], true);
        let urls = declared_urls(&d.json);
        assert!(urls.contains(&"/lifecycle/installed".to_owned()));
        assert!(urls.contains(&"/pages/admin/connections".to_owned()));
    }
}
