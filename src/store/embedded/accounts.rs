//! Organizations, users and token hashes.

use super::{codec, finish, get, next_seq, Error, SledStore};
use crate::model::{Org, User};
use crate::store::AccountError;
use sled::transaction::ConflictableTransactionError;
use sled::Transactional;
use uuid::Uuid;

impl SledStore {
    pub fn orgs(&self) -> Result<Vec<Org>, Error> {
        let t = self.trees()?;
        t.orgs
            .iter()
            .values()
            .map(|raw| Ok(codec::decode(&raw?)?))
            .collect()
    }

    pub fn org(&self, id: Uuid) -> Result<Option<Org>, Error> {
        let t = self.trees()?;
        get(&t.orgs, id.as_bytes())
    }

    pub fn org_by_name(&self, name: &str) -> Result<Option<Org>, Error> {
        Ok(self
            .orgs()?
            .into_iter()
            .find(|org| org.name.eq_ignore_ascii_case(name)))
    }

    pub async fn create_org(&self, org: &Org) -> Result<(), AccountError> {
        let t = self.trees()?;
        // Org creation is rare and admin-only; a name check before the write is enough.
        if self.org_by_name(&org.name)?.is_some() {
            return Err(AccountError::OrgExists(org.name.clone()));
        }
        let result = self.gated(|| {
            (&t.orgs, &t.meta).transaction(|(orgs, meta)| {
                next_seq::<AccountError>(meta)?;
                orgs.insert(org.id.as_bytes(), codec::encode(org))?;
                Ok(())
            })
        });
        finish(result)?;
        self.flush().await?;
        Ok(())
    }

    pub fn user(&self, id: Uuid) -> Result<Option<User>, Error> {
        let t = self.trees()?;
        get(&t.users, id.as_bytes())
    }

    pub fn user_by_email(&self, email: &str) -> Result<Option<User>, Error> {
        let t = self.trees()?;
        match t.user_emails.get(email.to_lowercase())? {
            Some(id) => get(&t.users, &id),
            None => Ok(None),
        }
    }

    pub fn users(&self) -> Result<Vec<User>, Error> {
        let t = self.trees()?;
        t.users
            .iter()
            .values()
            .map(|raw| Ok(codec::decode(&raw?)?))
            .collect()
    }

    /// Stores a new user and its first token hash together; emails are unique ignoring case.
    pub async fn create_user(&self, user: &User, token_hash: &[u8]) -> Result<(), AccountError> {
        let t = self.trees()?;
        let email_key = user.email.to_lowercase();
        let result = self.gated(|| {
            (&t.users, &t.user_emails, &t.tokens, &t.meta).transaction(
                |(users, emails, tokens, meta)| {
                    if emails.get(email_key.as_bytes())?.is_some() {
                        return Err(ConflictableTransactionError::Abort(
                            AccountError::EmailTaken(user.email.clone()),
                        ));
                    }
                    next_seq(meta)?;
                    users.insert(user.id.as_bytes(), codec::encode(user))?;
                    emails.insert(email_key.as_bytes(), user.id.as_bytes())?;
                    tokens.insert(token_hash, user.id.as_bytes())?;
                    Ok(())
                },
            )
        });
        finish(result)?;
        self.flush().await?;
        Ok(())
    }

    /// Adds another token for an existing user (earlier tokens stay valid).
    pub async fn add_token(&self, user_id: Uuid, token_hash: &[u8]) -> Result<(), Error> {
        let t = self.trees()?;
        let result = self.gated(|| {
            (&t.tokens, &t.meta).transaction(|(tokens, meta)| {
                next_seq::<Error>(meta)?;
                tokens.insert(token_hash, user_id.as_bytes())?;
                Ok(())
            })
        });
        finish(result)?;
        self.flush().await
    }

    /// The user a token hash belongs to, if any and not disabled.
    pub fn user_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<User>, Error> {
        let t = self.trees()?;
        match t.tokens.get(token_hash)? {
            Some(id) if t.disabled_users.get(&id)?.is_none() => get(&t.users, &id),
            _ => Ok(None),
        }
    }

    /// Every token (its hash) and whose it is.
    pub fn tokens(&self) -> Result<Vec<([u8; 32], Uuid)>, Error> {
        let t = self.trees()?;
        let mut tokens = Vec::new();
        for entry in t.tokens.iter() {
            let (hash, user) = entry?;
            let (Ok(hash), Ok(user)) = (<[u8; 32]>::try_from(&hash[..]), Uuid::from_slice(&user))
            else {
                continue;
            };
            tokens.push((hash, user));
        }
        Ok(tokens)
    }

    /// Makes a token stop working, durably.
    pub async fn revoke_token(&self, token_hash: &[u8; 32]) -> Result<(), Error> {
        let t = self.trees()?;
        let result = self.gated(|| {
            (&t.tokens, &t.meta).transaction(|(tokens, meta)| {
                next_seq::<Error>(meta)?;
                tokens.remove(&token_hash[..])?;
                Ok(())
            })
        });
        finish(result)?;
        self.flush().await
    }

    /// Disables (or enables again) a user: a disabled user's tokens stop working.
    pub async fn set_disabled(&self, user_id: Uuid, disabled: bool) -> Result<(), Error> {
        let t = self.trees()?;
        let result = self.gated(|| {
            (&t.disabled_users, &t.meta).transaction(|(users, meta)| {
                next_seq::<Error>(meta)?;
                if disabled {
                    users.insert(user_id.as_bytes(), &[][..])?;
                } else {
                    users.remove(user_id.as_bytes())?;
                }
                Ok(())
            })
        });
        finish(result)?;
        self.flush().await
    }

    pub fn is_disabled(&self, user_id: Uuid) -> Result<bool, Error> {
        let t = self.trees()?;
        Ok(t.disabled_users.get(user_id.as_bytes())?.is_some())
    }
}
