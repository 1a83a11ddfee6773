//! Identity and permission: bearer tokens, account creation, and who may see or change a thread.
//!
//! Tokens are 32 random bytes shown once (`skn_` + hex) and stored only as their SHA-256.
//! [`access`] is the single rule every route, list, broadcast and (later) search applies.

use crate::model::{Org, ShareRole, Thread, User};
use crate::store::{self, AccountError, Store};
use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Name of the organization created on first start.
pub const DEFAULT_ORG: &str = "Local";

/// What a user may do with one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Viewer,
    Editor,
    Owner,
    /// An admin of the thread's org who is not its owner.
    OrgAdmin,
}

impl Access {
    /// Update attributes and post messages.
    pub fn can_edit(self) -> bool {
        !matches!(self, Access::Viewer)
    }

    /// Delete the thread and change who it is shared with.
    pub fn can_manage(self) -> bool {
        matches!(self, Access::Owner | Access::OrgAdmin)
    }
}

/// The access `user` has to `thread`, or `None` if the thread must look nonexistent to them.
pub fn access(user: &User, thread: &Thread) -> Option<Access> {
    if thread.deleted_at.is_some() || thread.org_id != user.org_id {
        return None;
    }
    if thread.created_by == user.id {
        return Some(Access::Owner);
    }
    if user.admin {
        return Some(Access::OrgAdmin);
    }
    thread
        .shares
        .iter()
        .find(|share| share.user_id == user.id)
        .map(|share| match share.role {
            ShareRole::Viewer => Access::Viewer,
            ShareRole::Editor => Access::Editor,
        })
}

/// Every thread `user` may see: an org admin's are the org's, anyone else's those they own or
/// were shared (deleted ones left out by [`access`]).
pub async fn visible_threads(store: &Store, user: &User) -> Result<Vec<Thread>, store::Error> {
    let candidates = if user.admin {
        store.threads_in_org(user.org_id).await?
    } else {
        store.threads_of_member(user.id).await?
    };
    Ok(candidates
        .into_iter()
        .filter(|thread| access(user, thread).is_some())
        .collect())
}

pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("skn_{}", hex::encode(bytes))
}

pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The user a bearer token belongs to.
pub async fn authenticate(store: &Store, token: &str) -> Result<Option<User>, store::Error> {
    if token.is_empty() {
        return Ok(None);
    }
    store.user_by_token_hash(&hash_token(token)).await
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub admin: bool,
    /// Organization name; the default org when `None`.
    pub org: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountRequestError {
    #[error("{0}")]
    Invalid(String),
    #[error("no organization named {0:?}; create it with `skein org add {0:?}`")]
    NoSuchOrg(String),
    #[error("no user with email {0}")]
    NoSuchUser(String),
    #[error("no token with id {0}; `skein token list` shows them")]
    NoSuchToken(String),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Creates a user and returns it with its first token (the only time the token is visible).
pub async fn create_user(
    store: &Store,
    request: NewUser,
) -> Result<(User, String), AccountRequestError> {
    let name = request.name.trim().to_string();
    let email = request.email.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AccountRequestError::Invalid(
            "a user's name must be 1 to 200 characters".into(),
        ));
    }
    if !valid_email(&email) {
        return Err(AccountRequestError::Invalid(format!(
            "{email:?} is not an email address"
        )));
    }
    let org_name = request.org.as_deref().unwrap_or(DEFAULT_ORG);
    let org = store
        .org_by_name(org_name)
        .await?
        .ok_or_else(|| AccountRequestError::NoSuchOrg(org_name.to_string()))?;
    let user = User {
        id: Uuid::new_v4(),
        org_id: org.id,
        name,
        email,
        admin: request.admin,
        created_at: Utc::now(),
    };
    let token = new_token();
    store.create_user(&user, &hash_token(&token)).await?;
    Ok((user, token))
}

/// Issues an additional token for an existing user (for a lost token; old ones stay valid).
pub async fn issue_token(
    store: &Store,
    email: &str,
) -> Result<(User, String), AccountRequestError> {
    let user = store
        .user_by_email(email.trim())
        .await?
        .ok_or_else(|| AccountRequestError::NoSuchUser(email.trim().to_string()))?;
    let token = new_token();
    store.add_token(user.id, &hash_token(&token)).await?;
    Ok((user, token))
}

/// The public name of a token: a prefix of its hash, safe to show and to type (the token
/// itself is shown once, when issued).
pub fn token_id(token_hash: &[u8; 32]) -> String {
    format!("tok_{}", hex::encode(&token_hash[..6]))
}

/// Every token with its id and owner, of one user (by email) or of everyone.
pub async fn list_tokens(
    store: &Store,
    email: Option<&str>,
) -> Result<Vec<(String, User)>, AccountRequestError> {
    let only = match email {
        Some(email) => Some(
            store
                .user_by_email(email.trim())
                .await?
                .ok_or_else(|| AccountRequestError::NoSuchUser(email.trim().to_string()))?
                .id,
        ),
        None => None,
    };
    let mut listed = Vec::new();
    for (hash, user_id) in store.tokens().await? {
        if only.is_some_and(|only| only != user_id) {
            continue;
        }
        if let Some(user) = store.user(user_id).await? {
            listed.push((token_id(&hash), user));
        }
    }
    listed.sort_by(|a, b| (&a.1.email, &a.0).cmp(&(&b.1.email, &b.0)));
    Ok(listed)
}

/// Revokes the token with this id; returns its hash and owner.
pub async fn revoke_token(
    store: &Store,
    id: &str,
) -> Result<([u8; 32], User), AccountRequestError> {
    let id = id.trim();
    let matching: Vec<([u8; 32], Uuid)> = store
        .tokens()
        .await?
        .into_iter()
        .filter(|(hash, _)| token_id(hash) == id)
        .collect();
    let [(hash, user_id)] = matching[..] else {
        return Err(AccountRequestError::NoSuchToken(id.to_string()));
    };
    store.revoke_token(&hash).await?;
    let user = store
        .user(user_id)
        .await?
        .ok_or_else(|| AccountRequestError::NoSuchToken(id.to_string()))?;
    Ok((hash, user))
}

/// Disables a user (their tokens stop working) or enables them again.
pub async fn set_user_disabled(
    store: &Store,
    email: &str,
    disabled: bool,
) -> Result<User, AccountRequestError> {
    let user = store
        .user_by_email(email.trim())
        .await?
        .ok_or_else(|| AccountRequestError::NoSuchUser(email.trim().to_string()))?;
    store.set_disabled(user.id, disabled).await?;
    Ok(user)
}

pub async fn create_org(store: &Store, name: &str) -> Result<Org, AccountRequestError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AccountRequestError::Invalid(
            "an organization's name must be 1 to 200 characters".into(),
        ));
    }
    let org = Org {
        id: Uuid::new_v4(),
        name: name.to_string(),
        created_at: Utc::now(),
    };
    store.create_org(&org).await?;
    Ok(org)
}

/// On an empty store, creates the default org and its first admin and returns the admin's token.
pub async fn bootstrap(store: &Store) -> Result<Option<(User, String)>, AccountRequestError> {
    if !store.users().await?.is_empty() {
        return Ok(None);
    }
    if store.org_by_name(DEFAULT_ORG).await?.is_none() {
        create_org(store, DEFAULT_ORG).await?;
    }
    let admin = NewUser {
        name: "Admin".into(),
        email: "admin@localhost".into(),
        admin: true,
        org: None,
    };
    create_user(store, admin).await.map(Some)
}

fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !email.chars().any(char::is_whitespace)
                && email.len() <= 254
        }
        None => false,
    }
}

/// The token of a request: `Authorization: Bearer …`, else `X-Api-Key`, else a `?token=` query
/// parameter (browsers cannot set headers on a WebSocket). One parser for every interface.
pub fn request_token(
    authorization: Option<&str>,
    api_key: Option<&str>,
    query: Option<&str>,
) -> Option<String> {
    let bearer = authorization.and_then(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token)
    });
    bearer
        .or(api_key)
        .or(query)
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(str::to_string)
}

/// Refuses a user who is not an admin of their org; `why` says what needs one.
pub fn require_admin(user: &User, why: &str) -> Result<(), crate::error::Error> {
    use crate::error::{Code, Error};
    if user.admin {
        Ok(())
    } else {
        Err(Error::new(Code::NotOrgAdmin, why))
    }
}

/// The user a request's token belongs to, or why there is none.
pub async fn user_for_token(
    store: &Store,
    token: Option<String>,
) -> Result<User, crate::error::Error> {
    use crate::error::{Code, Error};
    let Some(token) = token else {
        return Err(Error::new(
            Code::MissingToken,
            "Missing authentication: send Authorization: Bearer <token> or X-Api-Key: <token>",
        ));
    };
    match authenticate(store, &token).await? {
        Some(user) => Ok(user),
        None => Err(Error::new(Code::InvalidToken, "Invalid token")),
    }
}

/// Account errors as clients see them.
impl From<AccountRequestError> for crate::error::Error {
    fn from(err: AccountRequestError) -> Self {
        use crate::error::Code;
        use crate::store::AccountError;
        use AccountRequestError as E;
        let code = match &err {
            E::Invalid(_) => Code::InvalidRequest,
            E::NoSuchOrg(_) => Code::OrgNotFound,
            E::NoSuchUser(_) => Code::UserNotFound,
            E::NoSuchToken(_) => Code::TokenNotFound,
            E::Account(AccountError::EmailTaken(_) | AccountError::OrgExists(_)) => {
                Code::AlreadyExists
            }
            E::Account(AccountError::Store(_)) | E::Store(_) => Code::StorageFailure,
        };
        crate::error::Error::new(code, err.to_string())
    }
}
