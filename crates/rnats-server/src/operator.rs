//! Operator mode at runtime: the trusted operators and the account resolver (`MEMORY`, filled
//! from `resolver_preload`). Every decision is delegated to `rnats_auth::operator`; this module
//! owns the state and the clock.

use crate::imports::{DEFAULT_THRESHOLD, Export, Import, Kind, LinkConfig, ResponseType};
use crate::opts::{Options, Resolver};
use rnats_auth::AuthFailure;
use rnats_auth::jwt::AccountClaims;
use rnats_auth::jwt::time::{TimePolicy, check};
use rnats_auth::operator::{AccountSource, Trust, activation_valid};
use rustc_hash::FxHashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// Trust and resolved accounts.
#[derive(Debug)]
pub struct OperatorState {
    pub trust: Trust,
    accounts: RwLock<FxHashMap<String, Arc<AccountClaims>>>,
    /// The directory of a `full`/`cache` resolver (`<account>.jwt` files).
    pub dir: Option<PathBuf>,
    /// The base URL of a URL resolver.
    pub url: Option<String>,
    /// Directory resolver deletes: `None` (not allowed), `Some(hard)`.
    pub delete: Option<bool>,
    /// Serialises claims updates (check `iat`, write, replace): two concurrent updates of one
    /// account can then never leave the older JWT in place.
    update: std::sync::Mutex<()>,
}

/// Why operator mode could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OperatorError {
    #[error(transparent)]
    Trust(#[from] rnats_auth::operator::TrustError),
    #[error("account resolver directory {dir:?}: {err}")]
    Dir { dir: PathBuf, err: std::io::Error },
}

impl OperatorState {
    /// Build from the options (`None` outside operator mode). Preloaded accounts that fail
    /// verification are left out with a warning; ones outside their validity are kept (and
    /// refused at connect time), with the reference's warning.
    pub fn new(o: &Options, now: SystemTime) -> Result<Option<Self>, OperatorError> {
        Self::load(o, now, true)
    }

    /// [`Self::new`]; with `writable == false` nothing is written (no directory created, no
    /// preload stored): what `rnats explain` needs to look at a server's state offline.
    pub fn load(
        o: &Options,
        now: SystemTime,
        writable: bool,
    ) -> Result<Option<Self>, OperatorError> {
        if !o.operator_mode() {
            return Ok(None);
        }
        let trust = if o.operators.is_empty() {
            Trust::from_keys(&o.trusted_keys)?
        } else {
            let (t, claims) = Trust::from_operators(&o.operators, now, &o.clock_skew)?;
            for c in claims {
                tracing::info!("Trusted Operators");
                tracing::info!("  System  : {:?}", c.nats.system_account);
                tracing::info!("  Operator: {:?}", c.data.name);
                tracing::info!("  Issued  : {}", fmt_unix(c.data.iat));
                tracing::info!(
                    "  Expires : {}",
                    if c.data.exp == 0 {
                        "Never".to_string()
                    } else {
                        fmt_unix(c.data.exp)
                    }
                );
            }
            t
        };
        let mut trust = trust;
        if !o.resolver_pinned_accounts.is_empty() {
            trust.pinned = o.resolver_pinned_accounts.clone();
            // The system account is always allowed.
            if let Some(sys) = o.system_account_name() {
                trust.pinned.push(sys);
            }
        }
        let policy = o.clock_skew;
        let mut accounts = FxHashMap::default();
        let dir = match &o.resolver {
            Some(Resolver::Dir { dir, .. }) => Some(dir.clone()),
            _ => None,
        };
        let mut preload = o.resolver_preload.clone();
        if let Some(d) = &dir {
            let io = |err| OperatorError::Dir {
                dir: d.clone(),
                err,
            };
            if writable {
                std::fs::create_dir_all(d).map_err(io)?;
            }
            let paths: Vec<PathBuf> = match std::fs::read_dir(d) {
                Ok(it) => it.flatten().map(|e| e.path()).collect(),
                Err(e) if !writable && e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(io(e)),
            };
            for p in paths {
                if p.extension().is_some_and(|x| x == "jwt")
                    && let (Some(stem), Ok(text)) = (
                        p.file_stem().and_then(|s| s.to_str()),
                        std::fs::read_to_string(&p),
                    )
                {
                    preload.push((stem.to_string(), text.trim().to_string()));
                }
            }
        }
        for (key, jwt) in &preload {
            match trust.verify_account(jwt) {
                Ok(ac) if ac.data.sub == *key => {
                    let mut issues = ac.validation_issues();
                    if let Err(e) = check(&ac.data, now, &policy) {
                        issues.push(e.to_string());
                    }
                    if !issues.is_empty() {
                        tracing::warn!("Account [{key}] has validation issues:");
                        for i in issues {
                            tracing::warn!("  - {i}");
                        }
                    }
                    // A directory resolver stores what the configuration preloads.
                    if let Some(d) = dir.as_ref().filter(|_| writable) {
                        let path = d.join(format!("{key}.jwt"));
                        let stored_iat = std::fs::read_to_string(&path)
                            .ok()
                            .and_then(|t| rnats_auth::jwt::decode_account(t.trim()).ok())
                            .map(|c| c.data.iat);
                        if stored_iat.is_none_or(|iat| iat < ac.data.iat)
                            && let Err(e) = std::fs::write(&path, jwt)
                        {
                            tracing::warn!("Could not store preloaded account [{key}]: {e}");
                        }
                    }
                    accounts.insert(key.clone(), Arc::new(ac));
                }
                Ok(_) => tracing::warn!("Preloaded account [{key}] is a JWT for another account"),
                Err(e) => tracing::warn!("Preloaded account [{key}] not usable: {e}"),
            }
        }
        Ok(Some(OperatorState {
            trust,
            update: std::sync::Mutex::new(()),
            accounts: RwLock::new(accounts),
            dir,
            delete: match &o.resolver {
                Some(Resolver::Dir {
                    allow_delete: true,
                    hard_delete,
                    ..
                }) => Some(*hard_delete),
                _ => None,
            },
            url: match &o.resolver {
                Some(Resolver::Url(u)) => Some(u.clone()),
                _ => None,
            },
        }))
    }

    /// Whether `key` must be fetched before a user of it can be checked (URL resolver). An
    /// account outside `resolver_pinned_accounts` is refused before any lookup, as the
    /// reference checks the pin list first (`auth.go`): it is never fetched.
    pub fn needs_fetch(&self, key: &str) -> bool {
        self.url.is_some() && self.pin_allows(key) && self.account(key).is_err()
    }

    /// Whether the pin list (if any) admits account `key`.
    fn pin_allows(&self, key: &str) -> bool {
        self.trust.pinned.is_empty() || self.trust.pinned.iter().any(|k| k == key)
    }

    /// Fetch an account JWT from the URL resolver and keep it if it verifies.
    pub async fn fetch(&self, key: &str) {
        let Some(base) = &self.url else {
            return;
        };
        if !key.starts_with('A')
            || nkeys::KeyPair::from_public_key(key).is_err()
            || !self.pin_allows(key)
        {
            return;
        }
        match crate::urlresolver::get(&crate::urlresolver::account_url(base, key)).await {
            Ok(jwt) => match self.trust.verify_account(&jwt) {
                Ok(ac) if ac.data.sub == key => self.set_account(ac),
                Ok(_) => tracing::warn!("Account fetch for [{key}] returned another account"),
                Err(e) => tracing::warn!("Account fetch for [{key}] failed validation: {e}"),
            },
            Err(e) => tracing::warn!("Account fetch failed: {key}: {e}"),
        }
    }

    /// Store an account JWT in the resolver directory, unless a newer one (by `iat`) is stored.
    /// Returns whether it was stored.
    pub fn store(&self, ac: &AccountClaims, jwt: &str) -> std::io::Result<bool> {
        let Some(d) = &self.dir else {
            return Ok(false);
        };
        // The key names a file: only a well-formed account public key may.
        let key = &ac.data.sub;
        if !key.starts_with('A') || nkeys::KeyPair::from_public_key(key).is_err() {
            return Err(std::io::Error::other("not an account public key"));
        }
        if self
            .account(&ac.data.sub)
            .is_ok_and(|old| old.data.iat > ac.data.iat)
        {
            return Ok(false);
        }
        std::fs::write(d.join(format!("{}.jwt", ac.data.sub)), jwt)?;
        Ok(true)
    }

    /// A claims update (`CLAIMS.UPDATE`): with a directory resolver, store the JWT unless a
    /// newer one (by `iat`) is stored; then replace the account's claims. The check, the write
    /// and the replacement happen under one lock. Returns whether the claims were replaced.
    pub fn update(&self, ac: &AccountClaims, jwt: &str) -> std::io::Result<bool> {
        let _serial = self.update.lock().unwrap_or_else(|e| e.into_inner());
        if self.dir.is_some() && !self.store(ac, jwt)? {
            return Ok(false);
        }
        self.set_account(ac.clone());
        Ok(true)
    }

    /// Delete a stored account (renamed to `.deleted` unless hard deletes) and forget it.
    pub fn delete_account(&self, key: &str) -> std::io::Result<()> {
        let (Some(d), Some(hard)) = (&self.dir, self.delete) else {
            return Err(std::io::Error::other("store is not set up to for delete"));
        };
        let path = d.join(format!("{key}.jwt"));
        let res = if hard {
            std::fs::remove_file(&path)
        } else {
            std::fs::rename(&path, d.join(format!("{key}.jwt.deleted")))
        };
        match res {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.accounts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        Ok(())
    }

    /// The account keys stored in the resolver directory, sorted.
    pub fn stored_keys(&self) -> Vec<String> {
        let Some(d) = &self.dir else {
            return Vec::new();
        };
        let mut keys: Vec<String> = std::fs::read_dir(d)
            .map(|it| {
                it.flatten()
                    .filter_map(|e| {
                        let p = e.path();
                        (p.extension().is_some_and(|x| x == "jwt"))
                            .then(|| p.file_stem()?.to_str().map(str::to_string))
                            .flatten()
                    })
                    .collect()
            })
            .unwrap_or_default();
        keys.sort();
        keys
    }

    /// The stored JWT of an account (directory resolver).
    pub fn stored_jwt(&self, key: &str) -> Option<String> {
        if !key.starts_with('A') || key.contains(['/', '\\', '.']) {
            return None;
        }
        let d = self.dir.as_ref()?;
        std::fs::read_to_string(d.join(format!("{key}.jwt"))).ok()
    }

    /// Replace (or add) an account's claims.
    pub fn set_account(&self, ac: AccountClaims) {
        self.accounts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ac.data.sub.clone(), Arc::new(ac));
    }
}

impl AccountSource for OperatorState {
    fn account(&self, id: &str) -> Result<Arc<AccountClaims>, AuthFailure> {
        self.accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| AuthFailure::AccountUnknown(id.to_string()))
    }
}

fn fmt_unix(secs: i64) -> String {
    crate::events::rfc3339_nano(rnats_auth::jwt::time::unix(secs))
}

impl OperatorState {
    /// Every known account's claims.
    pub fn all_accounts(&self) -> Vec<Arc<AccountClaims>> {
        self.accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The exports and imports the account JWTs declare, as links between accounts named by
    /// their public keys. Exports that require a token admit the importers whose activation
    /// token is valid now; imports nobody exports to them are left out with a warning.
    pub fn links(&self, now: SystemTime, policy: &TimePolicy) -> LinkConfig {
        let all = self.all_accounts();
        let by_key: FxHashMap<&str, &Arc<AccountClaims>> =
            all.iter().map(|a| (a.data.sub.as_str(), a)).collect();
        let mut cfg = LinkConfig::default();
        // Each installed export's revocations, in the order of `cfg.exports` (exports of an
        // unknown type are left out of both).
        let mut revocations: FxHashMap<&str, Vec<&std::collections::BTreeMap<String, i64>>> =
            FxHashMap::default();
        for a in &all {
            let (exports, revs): (Vec<Export>, Vec<_>) = a
                .nats
                .exports
                .iter()
                .filter_map(|x| {
                    let kind = jwt_kind(&x.kind)?;
                    let export = Export {
                        kind,
                        subject: x.subject.clone(),
                        accounts: x.token_req.then(Vec::new),
                        account_pos: x.account_token_position,
                        response: ResponseType::parse(&x.response_type).unwrap_or_default(),
                        threshold: if x.response_threshold > 0 {
                            std::time::Duration::from_nanos(x.response_threshold as u64)
                        } else {
                            DEFAULT_THRESHOLD
                        },
                    };
                    if !export.account_pos_valid() {
                        // `setExportAuth`: the export is not added.
                        tracing::debug!(
                            "Error adding export {:?} to account [{}]: account_token_position {} is not a '*' token",
                            x.subject,
                            a.data.sub,
                            x.account_token_position
                        );
                        return None;
                    }
                    Some((export, &x.revocations))
                })
                .unzip();
            cfg.exports.insert(a.data.sub.clone(), exports);
            revocations.insert(a.data.sub.as_str(), revs);
        }
        for a in &all {
            let importer = a.data.sub.as_str();
            for i in &a.nats.imports {
                let Some(kind) = jwt_kind(&i.kind) else {
                    continue;
                };
                let Some(exporter) = by_key.get(i.account.as_str()) else {
                    tracing::warn!(
                        "Can't locate account [{}] for import of [{}] {}",
                        i.account,
                        i.subject,
                        i.kind
                    );
                    continue;
                };
                let import = match kind {
                    Kind::Service if !i.local_subject.is_empty() => Import {
                        kind,
                        account: i.account.clone(),
                        subject: i.subject.clone(),
                        to: Some(i.local_subject.clone()),
                        prefix: None,
                        pos: String::new(),
                    },
                    Kind::Service => Import {
                        kind,
                        account: i.account.clone(),
                        subject: if i.to.is_empty() {
                            i.subject.clone()
                        } else {
                            i.to.clone()
                        },
                        to: Some(i.subject.clone()),
                        prefix: None,
                        pos: String::new(),
                    },
                    Kind::Stream => Import {
                        kind,
                        account: i.account.clone(),
                        subject: i.subject.clone(),
                        to: (!i.local_subject.is_empty()).then(|| i.local_subject.clone()),
                        prefix: (i.local_subject.is_empty() && !i.to.is_empty())
                            .then(|| i.to.clone()),
                        pos: String::new(),
                    },
                };
                // A token admits this importer to the export that requires it.
                if !i.token.is_empty()
                    && let Some(xs) = cfg.exports.get_mut(&i.account)
                {
                    let revs = revocations.get(i.account.as_str()).map(Vec::as_slice);
                    for (x, revs) in xs.iter_mut().zip(revs.unwrap_or_default()) {
                        let covers = x.kind == kind
                            && rnats_proto::subject::is_subset(
                                import.subject.as_bytes(),
                                x.subject.as_bytes(),
                            );
                        if covers
                            && let Some(list) = x.accounts.as_mut()
                            && activation_valid(
                                &i.token,
                                exporter,
                                revs,
                                importer,
                                &i.kind,
                                &import.subject,
                                now,
                                policy,
                            )
                        {
                            list.push(importer.to_string());
                        }
                    }
                }
                let list = cfg.imports.entry(importer.to_string()).or_default();
                if kind == Kind::Stream
                    && list.iter().any(|x| {
                        x.kind == Kind::Stream
                            && x.account == import.account
                            && x.subject == import.subject
                    })
                {
                    tracing::warn!(
                        "Stream import of [{}] from account [{}] into [{importer}]: stream import already exists",
                        import.subject,
                        import.account
                    );
                    continue;
                }
                list.push(import);
            }
        }
        // Keep only the imports some export admits.
        for (importer, list) in cfg.imports.iter_mut() {
            let exports = &cfg.exports;
            list.retain(|i| {
                let ok = exports.get(&i.account).is_some_and(|xs| {
                    crate::config::links::authorized(xs, i.kind, importer, &i.subject)
                });
                if !ok {
                    tracing::warn!(
                        "Import of [{}] from account [{}] into [{importer}] is not authorized",
                        i.subject,
                        i.account
                    );
                }
                ok
            });
        }
        crate::config::links::drop_cycles(&mut cfg.imports);
        cfg
    }
}

fn jwt_kind(s: &str) -> Option<Kind> {
    match s.to_ascii_lowercase().as_str() {
        "stream" => Some(Kind::Stream),
        "service" => Some(Kind::Service),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rnats_auth::jwt::mint::{claims, encode};
    use rnats_testkit::jwt::{Account, Operator, now, operator_config};
    use serde_json::json;

    fn state(conf: &str) -> OperatorState {
        let map = rnats_conf::parse_str(conf).expect("parses");
        let mut o = Options::default();
        crate::config::apply_map(&map, &mut o).expect("valid");
        OperatorState::new(&o, SystemTime::now())
            .expect("starts")
            .expect("operator mode")
    }

    /// An export of unknown type before a token-required one: the activation is checked
    /// against the revocations of the export it is for, not of its neighbour in the JWT.
    #[test]
    fn activation_revocations_follow_their_export() {
        let t = now();
        let op = Operator::new("OP", json!({}));
        let sys = op.account("SYS", json!({}));
        let imp_kp = nkeys::KeyPair::new_account();
        let imp_key = imp_kp.public_key();
        let exporter = op.account(
            "EXP",
            json!({"nats": {"exports": [
                {"name": "untyped", "subject": "x"},
                {"name": "p", "subject": "svc", "type": "service", "token_req": true,
                 "revocations": {imp_key.clone(): t}},
            ]}}),
        );
        let token = encode(
            claims(
                "activation",
                &imp_key,
                "act",
                t - 100,
                json!({"subject": "svc", "kind": "service"}),
            ),
            &exporter.kp,
        )
        .expect("activation");
        let mut c = claims(
            "account",
            &imp_key,
            "IMP",
            t,
            json!({"imports": [{"name": "p", "subject": "svc", "account": exporter.key(),
                                "type": "service", "token": token}]}),
        );
        c["nats"]["signing_keys"] = json!([]);
        let importer = Account {
            jwt: encode(c, &op.kp).expect("importer"),
            kp: imp_kp,
            signing: nkeys::KeyPair::new_account(),
        };
        let st = state(&operator_config(&op, &sys, &[&exporter, &importer]));
        let links = st.links(SystemTime::now(), &TimePolicy::default());
        let imports = links.imports.get(&imp_key).map(Vec::len).unwrap_or(0);
        assert_eq!(imports, 0, "a revoked activation admits no import");
    }

    /// Concurrent claims updates of one account: whatever the interleaving, the newest JWT
    /// (by `iat`) is the one in memory and on disk.
    #[test]
    fn concurrent_updates_keep_the_newest_jwt() {
        let op = Operator::new("OP", json!({}));
        let sys = op.account("SYS", json!({}));
        let acc = op.account("ACC", json!({}));
        let dir = std::env::temp_dir().join(format!("rnats-upd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let conf = format!(
            "operator: {}\nsystem_account: {}\nresolver: {{type: full, dir: {:?}}}\n",
            op.jwt,
            sys.key(),
            dir.to_str().expect("utf8")
        );
        let st = state(&conf);
        let base = now();
        for round in 0..40 {
            let iats: Vec<i64> = (0..8).map(|i| base + round * 100 + (i * 5) % 8).collect();
            let jwts: Vec<(AccountClaims, String)> = iats
                .iter()
                .map(|&iat| {
                    let jwt = encode(claims("account", &acc.key(), "ACC", iat, json!({})), &op.kp)
                        .expect("account");
                    (st.trust.verify_account(&jwt).expect("verifies"), jwt)
                })
                .collect();
            let barrier = std::sync::Barrier::new(jwts.len());
            std::thread::scope(|s| {
                for (ac, jwt) in &jwts {
                    let (st, barrier) = (&st, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        st.update(ac, jwt).expect("stored");
                    });
                }
            });
            let newest = iats.iter().max().copied().unwrap_or_default();
            let in_memory = AccountSource::account(&st, &acc.key()).expect("known");
            assert_eq!(in_memory.data.iat, newest, "round {round}: in memory");
            let on_disk = st.stored_jwt(&acc.key()).expect("stored");
            let on_disk = st.trust.verify_account(&on_disk).expect("verifies");
            assert_eq!(on_disk.data.iat, newest, "round {round}: on disk");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// URL resolver with `resolver_pinned_accounts`: an account outside the list is never
    /// fetched (a CONNECT naming a random account costs no HTTP request).
    #[test]
    fn pinned_accounts_are_checked_before_a_fetch() {
        let op = Operator::new("OP", json!({}));
        let sys = op.account("SYS", json!({}));
        let pinned = nkeys::KeyPair::new_account().public_key();
        let other = nkeys::KeyPair::new_account().public_key();
        let conf = format!(
            "operator: {}\nsystem_account: {}\nresolver: URL(\"http://127.0.0.1:1/jwt/v1/accounts/\")\nresolver_pinned_accounts: [{pinned}]\n",
            op.jwt,
            sys.key()
        );
        let st = state(&conf);
        assert!(st.needs_fetch(&pinned));
        assert!(!st.needs_fetch(&other));
    }
}
