//! Accounts: isolated subject namespaces. Each account owns a subscription index; a message
//! published in one account is only seen by subscribers of that account. Until the accounts
//! issue lands every client is bound to the global account `$G`.

use crate::client::Subscription;
use crate::sublist::Sublist;

/// An account and its subscription index.
#[derive(Debug)]
pub struct Account {
    pub name: String,
    pub sublist: Sublist<Subscription>,
}

impl Account {
    /// A new, empty account.
    pub fn new(name: &str, cache: bool) -> Self {
        Account {
            name: name.to_string(),
            sublist: Sublist::new(cache),
        }
    }
}
