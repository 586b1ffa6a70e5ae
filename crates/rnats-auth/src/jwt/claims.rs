//! Typed claims (nats-io/jwt v2 `claims.go`, `operator_claims.go`, `account_claims.go`,
//! `user_claims.go`, `types.go`) with the reference's defaults: in a version 2 claim a missing
//! numeric limit is **0** (a real limit), in a version 1 claim it is -1 (unlimited). Unknown
//! fields are ignored, as Go's decoder does.

use super::{DecodeError, Verified};
use crate::permissions::{Permissions, ResponsePermission, Rule, SubjectPermission};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::time::Duration;

/// The standard fields of every claim.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ClaimsData {
    pub aud: String,
    pub exp: i64,
    pub jti: String,
    pub iat: i64,
    pub iss: String,
    pub name: String,
    pub nbf: i64,
    pub sub: String,
}

/// Allow and deny lists (`jwt: types.go Permission`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct JwtPermission {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

impl JwtPermission {
    fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }
    fn to_subject_permission(&self) -> Option<SubjectPermission> {
        if self.is_empty() {
            return None;
        }
        Some(SubjectPermission {
            allow: (!self.allow.is_empty())
                .then(|| self.allow.iter().map(|s| Rule::parse(s)).collect()),
            deny: self.deny.iter().map(|s| Rule::parse(s)).collect(),
        })
    }
}

/// `resp`: allowed responses (`ttl` in nanoseconds).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct JwtResponse {
    pub max: i64,
    pub ttl: i64,
}

/// `pub`, `sub`, `resp`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct JwtPermissions {
    #[serde(rename = "pub")]
    pub publish: JwtPermission,
    #[serde(rename = "sub")]
    pub subscribe: JwtPermission,
    pub resp: Option<JwtResponse>,
}

impl JwtPermissions {
    /// No rule at all.
    pub fn is_empty(&self) -> bool {
        self.publish.is_empty() && self.subscribe.is_empty() && self.resp.is_none()
    }

    /// As the server's permission model (`None` when unrestricted).
    pub fn to_permissions(&self) -> Option<Permissions> {
        if self.is_empty() {
            return None;
        }
        Some(Permissions {
            publish: self.publish.to_subject_permission(),
            subscribe: self.subscribe.to_subject_permission(),
            response: self.resp.as_ref().map(|r| ResponsePermission {
                max: if r.max == 0 { 1 } else { r.max },
                expires: (r.ttl > 0).then(|| Duration::from_nanos(r.ttl as u64)),
            }),
        })
    }
}

/// A connect-time window, `HH:MM:SS`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct TimeRange {
    pub start: String,
    pub end: String,
}

/// `src`: a JSON array or a comma-separated string.
fn cidr_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Src {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Option::<Src>::deserialize(d)? {
        None => Vec::new(),
        Some(Src::List(v)) => v,
        Some(Src::Text(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// The user permission and limit fields (also a scoped signing key's template).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct UserPermissionLimits {
    #[serde(flatten)]
    pub permissions: JwtPermissions,
    #[serde(deserialize_with = "cidr_list")]
    pub src: Vec<String>,
    pub times: Vec<TimeRange>,
    pub times_location: String,
    pub subs: Option<i64>,
    pub data: Option<i64>,
    pub payload: Option<i64>,
    pub bearer_token: bool,
    pub proxy_required: bool,
    pub allowed_connection_types: Vec<String>,
}

impl UserPermissionLimits {
    /// Every field is at its zero value (what a scoped signing key requires of its users).
    pub fn is_empty(&self) -> bool {
        *self == UserPermissionLimits::default()
    }
}

/// The `nats` object of a user claim.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct UserNats {
    #[serde(flatten)]
    pub limits: UserPermissionLimits,
    pub issuer_account: String,
    pub tags: Vec<String>,
}

/// A user claim.
#[derive(Debug, Clone, PartialEq)]
pub struct UserClaims {
    pub data: ClaimsData,
    pub nats: UserNats,
    pub version: i64,
}

/// Numeric limit with the version's default for a missing value.
pub fn limit(v: Option<i64>, version: i64) -> i64 {
    v.unwrap_or(if version < 2 { -1 } else { 0 })
}

fn parse<T: for<'de> Deserialize<'de>>(
    v: &serde_json::Value,
    what: &'static str,
) -> Result<T, DecodeError> {
    serde_json::from_value(v.clone()).map_err(|e| DecodeError::Json(what, e.to_string()))
}

/// The kind-specific fields live under `nats` (v1 claims only moved `type` to the top level).
fn nats_of(v: &Verified) -> &serde_json::Value {
    v.payload.get("nats").unwrap_or(&serde_json::Value::Null)
}

fn nats_or_default<T: for<'de> Deserialize<'de> + Default>(v: &Verified) -> Result<T, DecodeError> {
    match nats_of(v) {
        serde_json::Value::Null => Ok(T::default()),
        n => parse(n, "payload"),
    }
}

impl UserClaims {
    pub(crate) fn from_verified(v: Verified) -> Result<Self, DecodeError> {
        Ok(UserClaims {
            data: parse(&v.payload, "payload")?,
            nats: nats_or_default(&v)?,
            version: v.version,
        })
    }

    /// The account the user belongs to: `issuer_account` when signed by a signing key.
    pub fn account_id(&self) -> &str {
        if self.nats.issuer_account.is_empty() {
            &self.data.iss
        } else {
            &self.nats.issuer_account
        }
    }
}

/// A signing key entry: a plain key or a scope with a user template.
#[derive(Debug, Clone, PartialEq)]
pub enum SigningKey {
    Plain(String),
    Scoped {
        key: String,
        role: String,
        template: Box<UserPermissionLimits>,
    },
}

impl SigningKey {
    /// The public key.
    pub fn key(&self) -> &str {
        match self {
            SigningKey::Plain(k) => k,
            SigningKey::Scoped { key, .. } => key,
        }
    }
}

impl<'de> Deserialize<'de> for SigningKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Scope {
            #[serde(default)]
            key: String,
            #[serde(default)]
            role: String,
            #[serde(default)]
            template: Box<UserPermissionLimits>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Plain(String),
            Scope(Box<Scope>),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Plain(k) => SigningKey::Plain(k),
            Raw::Scope(s) => {
                let s = *s;
                SigningKey::Scoped {
                    key: s.key,
                    role: s.role,
                    template: s.template,
                }
            }
        })
    }
}

/// Account limits (`OperatorLimits`: NATS and JetStream parts; JetStream ignored here).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AccountLimits {
    pub subs: Option<i64>,
    pub data: Option<i64>,
    pub payload: Option<i64>,
    pub imports: Option<i64>,
    pub exports: Option<i64>,
    pub wildcards: Option<bool>,
    pub disallow_bearer: bool,
    pub conn: Option<i64>,
    pub leaf: Option<i64>,
}

/// An import or export in an account claim.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct JwtExport {
    pub name: String,
    pub subject: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub token_req: bool,
    pub response_type: String,
    pub response_threshold: i64,
    pub revocations: BTreeMap<String, i64>,
    /// 1-based position of the subject token that must be the importing account (0: none).
    pub account_token_position: u64,
}

impl JwtExport {
    /// Why `account_token_position` is invalid (jwt `Export.Validate`): it must name a `*`
    /// token of the subject.
    pub fn account_token_position_issue(&self) -> Option<String> {
        let pos = self.account_token_position;
        if pos == 0 {
            return None;
        }
        let tokens: Vec<&str> = self.subject.split('.').collect();
        if !tokens.iter().any(|t| *t == "*" || *t == ">") {
            return Some(format!(
                "Account Token Position can only be used with wildcard subjects: {}",
                self.subject
            ));
        }
        let tok = usize::try_from(pos - 1).ok().and_then(|i| tokens.get(i));
        match tok {
            None => Some(format!(
                "Account Token Position {pos} exceeds length of subject '{}'",
                self.subject
            )),
            Some(&"*") => None,
            Some(t) => Some(format!(
                "Account Token Position {pos} matches '{t}' but must match a * in: {}",
                self.subject
            )),
        }
    }
}

/// An import in an account claim.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct JwtImport {
    pub name: String,
    pub subject: String,
    pub account: String,
    pub token: String,
    pub to: String,
    pub local_subject: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub share: bool,
}

/// The `nats` object of an account claim.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AccountNats {
    pub imports: Vec<JwtImport>,
    pub exports: Vec<JwtExport>,
    pub limits: AccountLimits,
    pub signing_keys: Vec<SigningKey>,
    pub revocations: BTreeMap<String, i64>,
    pub default_permissions: JwtPermissions,
    pub tags: Vec<String>,
}

/// An account claim.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountClaims {
    pub data: ClaimsData,
    pub nats: AccountNats,
    pub version: i64,
}

impl AccountClaims {
    pub(crate) fn from_verified(v: Verified) -> Result<Self, DecodeError> {
        Ok(AccountClaims {
            data: parse(&v.payload, "payload")?,
            nats: nats_or_default(&v)?,
            version: v.version,
        })
    }

    /// The signing key entry for `key`, if the account lists it.
    pub fn signing_key(&self, key: &str) -> Option<&SigningKey> {
        self.nats.signing_keys.iter().find(|k| k.key() == key)
    }

    /// What makes the claims unusable apart from time (`jwt: account_claims.go Validate`):
    /// more imports or exports than the account's limits allow.
    pub fn validation_issues(&self) -> Vec<String> {
        let mut v = Vec::new();
        let l = &self.nats.limits;
        let imports = limit(l.imports, self.version);
        if imports >= 0 && self.nats.imports.len() as i64 > imports {
            v.push("the account contains more imports than allowed by the operator".to_string());
        }
        let exports = limit(l.exports, self.version);
        if exports >= 0 && self.nats.exports.len() as i64 > exports {
            v.push("the account contains more exports than allowed by the operator".to_string());
        }
        for x in &self.nats.exports {
            if let Some(issue) = x.account_token_position_issue() {
                v.push(issue);
            }
        }
        for i in self.nats.imports.iter().filter(|i| !i.token.is_empty()) {
            // jwt `Import.Validate`: the activation's import type must be the import's.
            let Ok(act) = super::decode(&i.token, super::Kind::Activation) else {
                continue;
            };
            let kind = act
                .payload
                .get("nats")
                .and_then(|n| n.get("kind"))
                .and_then(|k| k.as_str())
                .unwrap_or_default();
            if kind != i.kind {
                v.push(format!(
                    "mismatch between token import type {kind} and type of import {}",
                    i.kind
                ));
            }
        }
        v
    }

    /// Whether a user issued at `iat` with key `user` is revoked: its `iat` is at or before the
    /// revocation time of its key or of `"*"` (`accounts.go isRevoked`).
    pub fn is_revoked(&self, user: &str, iat: i64) -> bool {
        let r = &self.nats.revocations;
        r.get(user).is_some_and(|&t| t >= iat) || r.get("*").is_some_and(|&t| t >= iat)
    }
}

/// The `nats` object of an operator claim.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct OperatorNats {
    pub signing_keys: Vec<String>,
    pub account_server_url: String,
    pub system_account: String,
    pub assert_server_version: String,
    pub strict_signing_key_usage: bool,
    pub tags: Vec<String>,
}

/// An operator claim.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorClaims {
    pub data: ClaimsData,
    pub nats: OperatorNats,
    pub version: i64,
}

impl OperatorClaims {
    pub(crate) fn from_verified(v: Verified) -> Result<Self, DecodeError> {
        Ok(OperatorClaims {
            data: parse(&v.payload, "payload")?,
            nats: nats_or_default(&v)?,
            version: v.version,
        })
    }
}
