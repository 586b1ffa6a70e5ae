//! Scoped signing key templates (nats-server `auth.go processUserPermissionsTemplate`):
//! `{{name()}}`, `{{subject()}}`, `{{account-name()}}`, `{{account-subject()}}`, `{{tag(x)}}`,
//! `{{account-tag(x)}}` in a scope's pub/sub rules are replaced by values from the user and
//! account claims. Multi-valued placeholders (tags) produce every combination, at most 4096.

use super::claims::JwtPermission;
use rnats_proto::subject::is_valid_subject;

/// Where placeholder values come from.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub user_name: &'a str,
    pub user_key: &'a str,
    pub account_name: &'a str,
    pub account_key: &'a str,
    pub user_tags: &'a [String],
    pub account_tags: &'a [String],
}

const MAX_GENERATED: usize = 4096;

fn tag_values(tags: &[String], name: &str) -> Vec<String> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    tags.iter()
        .filter_map(|t| {
            t.to_ascii_lowercase()
                .strip_prefix(&prefix)
                .map(str::to_string)
        })
        .collect()
}

fn values(op: &str, cx: &Context<'_>) -> Result<Vec<String>, String> {
    let op = op.trim();
    let (name, arg) = match (op.find('('), op.strip_suffix(')')) {
        (Some(i), Some(body)) => (op[..i].trim().to_ascii_lowercase(), body[i + 1..].trim()),
        _ => return Err(format!("template operation in {op:?} is not valid")),
    };
    let arg = arg.trim_matches('"');
    Ok(match name.as_str() {
        "name" => vec![cx.user_name.to_string()],
        "subject" => vec![cx.user_key.to_string()],
        "account-name" => vec![cx.account_name.to_string()],
        "account-subject" => vec![cx.account_key.to_string()],
        "tag" => tag_values(cx.user_tags, arg),
        "account-tag" => tag_values(cx.account_tags, arg),
        _ => return Err(format!("template operation {name:?} is not known")),
    })
}

/// Expand one subject: every combination of the placeholders' values. A tag placeholder with
/// no matching tag yields no subjects.
pub fn expand(subject: &str, cx: &Context<'_>) -> Result<Vec<String>, String> {
    expand_with(subject, cx, false)
}

/// As [`expand`]; with `strict` (deny lists, the reference's `failOnBadSubject`), a tag
/// placeholder with no matching tag is an error rather than zero subjects.
fn expand_with(subject: &str, cx: &Context<'_>, strict: bool) -> Result<Vec<String>, String> {
    let mut out = vec![String::new()];
    let mut rest = subject;
    while let Some(i) = rest.find("{{") {
        let Some(j) = rest[i..].find("}}") else {
            return Err(format!("unterminated template in {subject:?}"));
        };
        let lit = &rest[..i];
        let op = &rest[i + 2..i + j];
        let vals = values(op, cx)?;
        if strict && vals.is_empty() {
            return Err(format!(
                "generated invalid subject {subject:?}: {:?} is not defined",
                op.trim()
            ));
        }
        if out.len().saturating_mul(vals.len()) > MAX_GENERATED {
            return Err("template generates too many subjects".into());
        }
        out = out
            .iter()
            .flat_map(|p| vals.iter().map(move |v| format!("{p}{lit}{v}")))
            .collect();
        rest = &rest[i + j + 2..];
    }
    Ok(out.into_iter().map(|p| format!("{p}{rest}")).collect())
}

/// Expand a permission: invalid generated subjects are dropped from allow lists and fail deny
/// lists, as does a deny entry whose tag placeholder has no value (a dropped deny rule would
/// widen the user's permissions); an allow list emptied by expansion denies everything.
pub fn expand_permission(p: &JwtPermission, cx: &Context<'_>) -> Result<JwtPermission, String> {
    let mut allow = Vec::new();
    for s in &p.allow {
        let (subj, queue) = match s.split_once(' ') {
            Some((a, q)) => (a, Some(q)),
            None => (s.as_str(), None),
        };
        for e in expand(subj, cx)? {
            if is_valid_subject(e.as_bytes()) {
                allow.push(queue.map_or(e.clone(), |q| format!("{e} {q}")));
            }
        }
    }
    let mut deny = Vec::new();
    for s in &p.deny {
        for e in expand_with(s, cx, true)? {
            let subj = e.split(' ').next().unwrap_or_default();
            if !is_valid_subject(subj.as_bytes()) {
                return Err(format!("generated invalid subject {e:?}"));
            }
            deny.push(e);
        }
    }
    if !p.allow.is_empty() && allow.is_empty() {
        deny.push(">".into());
    }
    Ok(JwtPermission { allow, deny })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion() {
        let tags = vec!["dept:eng".to_string(), "dept:ops".to_string()];
        let cx = Context {
            user_name: "bob",
            user_key: "UKEY",
            account_name: "acc",
            account_key: "AKEY",
            user_tags: &tags,
            account_tags: &[],
        };
        assert_eq!(expand("{{name()}}.>", &cx), Ok(vec!["bob.>".to_string()]));
        assert_eq!(
            expand("{{ account-name() }}.{{tag(dept)}}", &cx),
            Ok(vec!["acc.eng".to_string(), "acc.ops".to_string()])
        );
        assert!(expand("{{nope()}}", &cx).is_err());
        let p = JwtPermission {
            allow: vec!["{{tag(missing)}}.x".into()],
            deny: vec![],
        };
        let e = expand_permission(&p, &cx).expect("expands");
        assert!(e.allow.is_empty());
        assert_eq!(e.deny, [">"]);
    }

    /// nats-server refuses a user whose template deny entry names a tag the user lacks
    /// (`failOnBadSubject`); dropping the rule would let the user past the deny.
    #[test]
    fn deny_with_undefined_tag_is_an_error() {
        let tags = vec!["dept:eng".to_string()];
        let cx = Context {
            user_tags: &tags,
            ..Context::default()
        };
        let p = JwtPermission {
            allow: vec![">".into()],
            deny: vec!["{{tag(team)}}.private.>".into()],
        };
        let err = expand_permission(&p, &cx).expect_err("undefined tag in deny refuses");
        assert!(err.contains("team"), "{err}");
        let p = JwtPermission {
            allow: vec![">".into()],
            deny: vec!["{{tag(dept)}}.private.>".into()],
        };
        let e = expand_permission(&p, &cx).expect("defined tag expands");
        assert_eq!(e.deny, ["eng.private.>"]);
        let p = JwtPermission {
            allow: vec![">".into()],
            deny: vec!["{{account-tag(team)}}.>".into()],
        };
        assert!(expand_permission(&p, &cx).is_err());
    }
}
