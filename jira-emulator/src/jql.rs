//! The JQL subset the emulator understands: `project`, `key`/`issuekey`, `id`, `issuetype`/`type`,
//! `summary`/`text` (`~`), `created`/`updated` with absolute or relative dates; `=`, `!=`, `<`,
//! `<=`, `>`, `>=`, `in`, `not in`, `~`; `AND`, `OR`, `NOT`, parentheses; `ORDER BY` on
//! created, updated, key, id. Errors use Jira's wording.

use crate::model::{Issue, SiteData};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(String),
    LParen,
    RParen,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < cs.len() {
        let c = cs[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            '"' | '\'' => {
                let q = c;
                i += 1;
                let mut v = String::new();
                while i < cs.len() && cs[i] != q {
                    if cs[i] == '\\' && i + 1 < cs.len() {
                        i += 1;
                    }
                    v.push(cs[i]);
                    i += 1;
                }
                if i >= cs.len() {
                    return Err("the quoted string is not terminated".into());
                }
                i += 1;
                out.push(Tok::Str(v));
            }
            '=' | '~' => {
                out.push(Tok::Op(c.to_string()));
                i += 1
            }
            '!' | '<' | '>' => {
                if i + 1 < cs.len() && (cs[i + 1] == '=' || (c == '!' && cs[i + 1] == '~')) {
                    out.push(Tok::Op(format!("{c}{}", cs[i + 1])));
                    i += 2;
                } else if c == '!' {
                    return Err("expecting '=' after '!'".into());
                } else {
                    out.push(Tok::Op(c.to_string()));
                    i += 1;
                }
            }
            _ => {
                let mut v = String::new();
                while i < cs.len() && !cs[i].is_whitespace() && !"(),=!<>~\"'".contains(cs[i]) {
                    v.push(cs[i]);
                    i += 1;
                }
                out.push(Tok::Word(v));
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Clause {
        field: String,
        op: String,
        values: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Query {
    expr: Option<Expr>,
    order: Vec<(String, bool)>,
}

const FIELDS: &[&str] = &[
    "project",
    "key",
    "issuekey",
    "id",
    "issuetype",
    "type",
    "summary",
    "text",
    "created",
    "updated",
    "createddate",
    "updateddate",
];

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            if self.next() != Some(Tok::RParen) {
                return Err("expecting ')'".into());
            }
            return Ok(e);
        }
        self.clause()
    }
    fn value(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Word(w)) => {
                // Functions: now(), currentUser(), startOfDay() … only now() is meaningful here.
                if self.peek() == Some(&Tok::LParen) {
                    self.pos += 1;
                    if self.next() != Some(Tok::RParen) {
                        return Err(format!("expecting ')' after {w}("));
                    }
                    return Ok(format!("{}()", w.to_lowercase()));
                }
                Ok(w)
            }
            Some(Tok::Str(s)) => Ok(s),
            other => Err(format!("expecting a value but got {other:?}")),
        }
    }
    fn clause(&mut self) -> Result<Expr, String> {
        let field = match self.next() {
            Some(Tok::Word(w)) | Some(Tok::Str(w)) => w.to_lowercase(),
            other => return Err(format!("expecting a field name but got {other:?}")),
        };
        if !FIELDS.contains(&field.as_str()) && !field.starts_with("issue.property[") {
            return Err(format!(
                "Field '{field}' does not exist or you do not have permission to view it."
            ));
        }
        let op = match self.next() {
            Some(Tok::Op(o)) => o,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") => "in".into(),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not") => {
                if self.peek_word("in") {
                    self.pos += 1;
                    "not in".into()
                } else {
                    return Err("expecting 'in' after 'not'".into());
                }
            }
            other => return Err(format!("expecting an operator but got {other:?}")),
        };
        let values = if op == "in" || op == "not in" {
            if self.next() != Some(Tok::LParen) {
                return Err(format!("expecting '(' after '{op}'"));
            }
            let mut vs = vec![self.value()?];
            while self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
                vs.push(self.value()?);
            }
            if self.next() != Some(Tok::RParen) {
                return Err("expecting ')' to close the list".into());
            }
            vs
        } else {
            vec![self.value()?]
        };
        Ok(Expr::Clause { field, op, values })
    }
}

pub fn parse(jql: &str) -> Result<Query, String> {
    let toks = tokenize(jql).map_err(|e| format!("Error in the JQL Query: {e}."))?;
    // Split off ORDER BY.
    let mut cut = toks.len();
    for i in 0..toks.len().saturating_sub(1) {
        if matches!((&toks[i], &toks[i + 1]), (Tok::Word(a), Tok::Word(b)) if a.eq_ignore_ascii_case("order") && b.eq_ignore_ascii_case("by"))
        {
            cut = i;
            break;
        }
    }
    let mut order = Vec::new();
    if cut < toks.len() {
        let rest = &toks[cut + 2..];
        let mut i = 0;
        while i < rest.len() {
            let Tok::Word(f) = &rest[i] else {
                return Err("Error in the JQL Query: expecting a field after ORDER BY.".into());
            };
            let f = f.to_lowercase();
            if !["created", "updated", "key", "issuekey", "id"].contains(&f.as_str()) {
                return Err(format!(
                    "Field '{f}' does not exist or you do not have permission to view it."
                ));
            }
            i += 1;
            let mut asc = true;
            if let Some(Tok::Word(d)) = rest.get(i) {
                if d.eq_ignore_ascii_case("desc") {
                    asc = false;
                    i += 1;
                } else if d.eq_ignore_ascii_case("asc") {
                    i += 1;
                }
            }
            order.push((f, asc));
            if rest.get(i) == Some(&Tok::Comma) {
                i += 1;
            }
        }
    }
    let expr = if cut == 0 {
        None
    } else {
        let mut p = Parser {
            toks: toks[..cut].to_vec(),
            pos: 0,
        };
        let e = p.or().map_err(|e| {
            if e.starts_with("Field") {
                e
            } else {
                format!("Error in the JQL Query: {e}.")
            }
        })?;
        if p.pos != cut {
            return Err("Error in the JQL Query: unexpected text after the query.".into());
        }
        Some(e)
    };
    Ok(Query { expr, order })
}

impl Query {
    pub fn is_bounded(&self) -> bool {
        self.expr.is_some()
    }

    /// Matching issue ids, in the query's order (default: newest first).
    pub fn run(&self, d: &SiteData, now: DateTime<Utc>) -> Result<Vec<u64>, String> {
        let mut hits = Vec::new();
        for i in d.issues.values() {
            let ok = match &self.expr {
                Some(e) => eval(e, i, d, now)?,
                None => true,
            };
            if ok {
                hits.push(i);
            }
        }
        let order = if self.order.is_empty() {
            vec![("id".to_owned(), false)]
        } else {
            self.order.clone()
        };
        hits.sort_by(|a, b| {
            for (f, asc) in &order {
                let o = match f.as_str() {
                    "created" => a.created.cmp(&b.created),
                    "updated" => a.updated.cmp(&b.updated),
                    _ => a.id.cmp(&b.id),
                };
                let o = if *asc { o } else { o.reverse() };
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.id.cmp(&b.id)
        });
        Ok(hits.into_iter().map(|i| i.id).collect())
    }
}

fn parse_date(v: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let v = v.trim();
    if v == "now()" {
        return Ok(now);
    }
    // Relative: -5m, -1h, 2d, -1w (units w d h m).
    if let Some(unit) = v.chars().last() {
        let num = &v[..v.len() - unit.len_utf8()];
        if let Ok(n) = num.parse::<i64>() {
            let d = match unit {
                'm' => Duration::minutes(n),
                'h' => Duration::hours(n),
                'd' => Duration::days(n),
                'w' => Duration::weeks(n),
                _ => return Err(format!("Date value '{v}' for field is invalid.")),
            };
            return Ok(now + d);
        }
    }
    for f in [
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, f) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(v, f) {
            return Ok(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")));
        }
    }
    Err(format!(
        "Date value '{v}' for field is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    ))
}

fn eval(e: &Expr, i: &Issue, d: &SiteData, now: DateTime<Utc>) -> Result<bool, String> {
    Ok(match e {
        Expr::And(a, b) => eval(a, i, d, now)? && eval(b, i, d, now)?,
        Expr::Or(a, b) => eval(a, i, d, now)? || eval(b, i, d, now)?,
        Expr::Not(a) => !eval(a, i, d, now)?,
        Expr::Clause { field, op, values } => {
            let field = field.as_str();
            // issue.property[KEY].PATH: a value inside an issue entity property.
            if let Some(rest) = field.strip_prefix("issue.property[") {
                let (key, path) = rest.split_once(']').unwrap_or((rest, ""));
                let mut v = i
                    .properties
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v);
                for part in path
                    .trim_start_matches('.')
                    .split('.')
                    .filter(|p| !p.is_empty())
                {
                    v = v.and_then(|x| x.as_object()).and_then(|o| {
                        o.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(part))
                            .map(|(_, v)| v)
                    });
                }
                let actual = v.map(|x| {
                    x.as_str()
                        .map(str::to_lowercase)
                        .unwrap_or_else(|| x.to_string().to_lowercase())
                });
                let hit = actual.is_some_and(|a| values.iter().any(|w| w.to_lowercase() == a));
                return Ok(match op.as_str() {
                    "=" | "in" => hit,
                    "!=" | "not in" => !hit,
                    _ => {
                        return Err(format!(
                            "The operator '{op}' is not supported by the '{field}' field."
                        ))
                    }
                });
            }
            match field {
                "created" | "updated" | "createddate" | "updateddate" => {
                    let at = if field.starts_with("created") {
                        i.created
                    } else {
                        i.updated
                    };
                    // JQL dates have minute precision.
                    let at = at
                        - Duration::seconds(at.timestamp() % 60)
                        - Duration::nanoseconds(at.timestamp_subsec_nanos() as i64);
                    let t = parse_date(&values[0], now)?;
                    match op.as_str() {
                        "=" => at == t,
                        "!=" => at != t,
                        ">" => at > t,
                        ">=" => at >= t,
                        "<" => at < t,
                        "<=" => at <= t,
                        _ => {
                            return Err(format!(
                                "The operator '{op}' is not supported by the '{field}' field."
                            ))
                        }
                    }
                }
                "summary" | "text" => {
                    let hay = i.summary.to_lowercase();
                    let needle = values[0].to_lowercase().replace('*', "");
                    match op.as_str() {
                        "~" => hay.contains(&needle),
                        "!~" => !hay.contains(&needle),
                        _ => {
                            return Err(format!(
                                "The operator '{op}' is not supported by the '{field}' field."
                            ))
                        }
                    }
                }
                _ => {
                    let actual: Vec<String> = match field {
                        "project" => d
                            .project_by_id_or_key(&i.project_id)
                            .map(|p| {
                                vec![p.key.to_lowercase(), p.id.clone(), p.name.to_lowercase()]
                            })
                            .unwrap_or_default(),
                        "key" | "issuekey" | "id" => vec![i.key.to_lowercase(), i.id.to_string()],
                        _ => d
                            .issue_type(&i.issue_type_id)
                            .map(|t| vec![t.name.to_lowercase(), t.id.clone()])
                            .unwrap_or_default(),
                    };
                    let hit = values.iter().any(|v| actual.contains(&v.to_lowercase()));
                    match op.as_str() {
                        "=" | "in" => hit,
                        "!=" | "not in" => !hit,
                        _ => {
                            return Err(format!(
                                "The operator '{op}' is not supported by the '{field}' field."
                            ))
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Seed, SiteData, DEFAULT_SEED};

    fn data() -> SiteData {
        let seed: Seed = serde_json::from_str(DEFAULT_SEED).unwrap();
        SiteData::from_seed(&seed).unwrap()
    }

    fn keys(jql: &str) -> Vec<String> {
        let d = data();
        let q = parse(jql).unwrap();
        q.run(&d, Utc::now())
            .unwrap()
            .into_iter()
            .map(|id| d.issues[&id].key.clone())
            .collect()
    }

    #[test]
    fn subset_works() {
        assert_eq!(
            keys("project = TEST ORDER BY key ASC"),
            ["TEST-1", "TEST-2"]
        );
        assert_eq!(keys("project in (SUP)"), ["SUP-1"]);
        assert_eq!(
            keys("key in (TEST-2, SUP-1) order by key"),
            ["TEST-2", "SUP-1"]
        );
        assert_eq!(keys("project = TEST AND issuetype = Bug"), ["TEST-1"]);
        assert_eq!(keys("updated >= -5m AND project = 'SUP'"), ["SUP-1"]);
        assert!(keys("updated >= \"2999-01-01 00:00\"").is_empty());
        assert_eq!(keys("updated >= \"2000/01/01\" and (project = SUP or key = TEST-1) order by updated desc, key").len(), 2);
        assert_eq!(keys("summary ~ toner"), ["SUP-1"]);
        assert_eq!(keys("NOT project = TEST"), ["SUP-1"]);
        let mut d = data();
        let id = *d.issues.keys().next().unwrap();
        d.issues.get_mut(&id).unwrap().properties.insert(
            "exalate.twin".into(),
            serde_json::json!({"origin": "c1:10001"}),
        );
        let q =
            parse("project = TEST AND issue.property[exalate.twin].origin = \"c1:10001\"").unwrap();
        assert_eq!(q.run(&d, Utc::now()).unwrap(), vec![id]);
    }

    #[test]
    fn errors_use_jira_words() {
        assert!(parse("foo = bar").unwrap_err().contains("does not exist"));
        assert!(parse("project = ")
            .unwrap_err()
            .starts_with("Error in the JQL Query"));
        assert!(!parse("order by key").unwrap().is_bounded());
        let d = data();
        assert!(parse("updated >= yesterdayish")
            .unwrap()
            .run(&d, Utc::now())
            .unwrap_err()
            .contains("invalid"));
    }
}
