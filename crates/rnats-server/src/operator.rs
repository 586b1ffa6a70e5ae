//! Operator mode at runtime: the trusted operators and the account resolver (`MEMORY`, filled
//! from `resolver_preload`). Every decision is delegated to `rnats_auth::operator`; this module
//! owns the state and the clock.

use crate::opts::Options;
use rnats_auth::AuthFailure;
use rnats_auth::jwt::AccountClaims;
use rnats_auth::jwt::time::{TimePolicy, check};
use rnats_auth::operator::{AccountSource, Trust};
use rustc_hash::FxHashMap;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// Trust and resolved accounts.
#[derive(Debug)]
pub struct OperatorState {
    pub trust: Trust,
    /// The time policy of every JWT check.
    pub policy: TimePolicy,
    accounts: RwLock<FxHashMap<String, Arc<AccountClaims>>>,
}

/// Why operator mode could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OperatorError {
    #[error(transparent)]
    Trust(#[from] rnats_auth::operator::TrustError),
}

impl OperatorState {
    /// Build from the options (`None` outside operator mode). Preloaded accounts that fail
    /// verification are left out with a warning; ones outside their validity are kept (and
    /// refused at connect time), with the reference's warning.
    pub fn new(o: &Options, now: SystemTime) -> Result<Option<Self>, OperatorError> {
        if !o.operator_mode() {
            return Ok(None);
        }
        let trust = if o.operators.is_empty() {
            Trust::from_keys(&o.trusted_keys)?
        } else {
            let (t, claims) = Trust::from_operators(&o.operators, now)?;
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
        let policy = TimePolicy::default();
        let mut accounts = FxHashMap::default();
        for (key, jwt) in &o.resolver_preload {
            match trust.verify_account(jwt) {
                Ok(ac) if ac.data.sub == *key => {
                    if let Err(e) = check(&ac.data, now, &policy) {
                        tracing::warn!("Account [{key}] has validation issues:");
                        tracing::warn!("  - {e}");
                    }
                    accounts.insert(key.clone(), Arc::new(ac));
                }
                Ok(_) => tracing::warn!("Preloaded account [{key}] is a JWT for another account"),
                Err(e) => tracing::warn!("Preloaded account [{key}] not usable: {e}"),
            }
        }
        Ok(Some(OperatorState {
            trust,
            policy,
            accounts: RwLock::new(accounts),
        }))
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
