//! Organizations, users and token hashes.

use super::{Backend, Error, Store};
use crate::model::{Org, User};
use uuid::Uuid;

/// Why an account write was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("a user with email {0} already exists")]
    EmailTaken(String),
    #[error("an organization named {0:?} already exists")]
    OrgExists(String),
    #[error(transparent)]
    Store(#[from] Error),
}

impl Store {
    pub async fn orgs(&self) -> Result<Vec<Org>, Error> {
        on_backend!(self, b => b.orgs())
    }

    pub async fn org(&self, id: Uuid) -> Result<Option<Org>, Error> {
        on_backend!(self, b => b.org(id))
    }

    /// An org by name, ignoring ASCII case.
    pub async fn org_by_name(&self, name: &str) -> Result<Option<Org>, Error> {
        Ok(self
            .orgs()
            .await?
            .into_iter()
            .find(|org| org.name.eq_ignore_ascii_case(name)))
    }

    /// Creates an org; names are unique ignoring case.
    pub async fn create_org(&self, org: &Org) -> Result<(), AccountError> {
        on_backend!(async self, b => b.create_org(org))
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<User>, Error> {
        on_backend!(self, b => b.user(id))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, Error> {
        on_backend!(self, b => b.user_by_email(email))
    }

    /// Every user, oldest first.
    pub async fn users(&self) -> Result<Vec<User>, Error> {
        let mut users = on_backend!(self, b => b.users())?;
        users.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(users)
    }

    /// Stores a new user and its first token hash together; emails are unique ignoring case.
    pub async fn create_user(&self, user: &User, token_hash: &[u8]) -> Result<(), AccountError> {
        on_backend!(async self, b => b.create_user(user, token_hash))
    }

    /// Adds another token for an existing user (earlier tokens stay valid).
    pub async fn add_token(&self, user_id: Uuid, token_hash: &[u8]) -> Result<(), Error> {
        on_backend!(async self, b => b.add_token(user_id, token_hash))
    }

    /// The user a token hash belongs to, if any and not disabled.
    pub async fn user_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<User>, Error> {
        on_backend!(self, b => b.user_by_token_hash(token_hash))
    }

    /// Every token (its hash) and whose it is.
    pub async fn tokens(&self) -> Result<Vec<([u8; 32], Uuid)>, Error> {
        on_backend!(self, b => b.tokens())
    }

    /// Makes a token stop working, durably.
    pub async fn revoke_token(&self, token_hash: &[u8; 32]) -> Result<(), Error> {
        on_backend!(async self, b => b.revoke_token(token_hash))
    }

    /// Disables (or enables again) a user: a disabled user's tokens stop working.
    pub async fn set_disabled(&self, user_id: Uuid, disabled: bool) -> Result<(), Error> {
        on_backend!(async self, b => b.set_disabled(user_id, disabled))
    }

    pub async fn is_disabled(&self, user_id: Uuid) -> Result<bool, Error> {
        on_backend!(self, b => b.is_disabled(user_id))
    }
}
