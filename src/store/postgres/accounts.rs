//! Organizations, users and token hashes.

use super::{execute, violates, Error, PgStore};
use crate::model::{Org, User};
use crate::store::{codec, AccountError};
use uuid::Uuid;

impl PgStore {
    pub async fn orgs(&self) -> Result<Vec<Org>, Error> {
        self.records("SELECT record FROM orgs ORDER BY id", &[])
            .await
    }

    pub async fn org(&self, id: Uuid) -> Result<Option<Org>, Error> {
        self.record("SELECT record FROM orgs WHERE id = $1", &[&id])
            .await
    }

    pub async fn create_org(&self, org: &Org) -> Result<(), AccountError> {
        let inserted = self
            .execute(
                "INSERT INTO orgs (id, name_key, record) VALUES ($1, $2, $3)",
                &[&org.id, &org.name.to_ascii_lowercase(), &codec::encode(org)],
            )
            .await;
        match inserted {
            Err(err) if violates(&err, "orgs_name_key_key") => {
                Err(AccountError::OrgExists(org.name.clone()))
            }
            other => Ok(other.map(drop)?),
        }
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<User>, Error> {
        self.record("SELECT record FROM users WHERE id = $1", &[&id])
            .await
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, Error> {
        self.record(
            "SELECT record FROM users WHERE email_key = $1",
            &[&email.to_lowercase()],
        )
        .await
    }

    pub async fn users(&self) -> Result<Vec<User>, Error> {
        self.records("SELECT record FROM users", &[]).await
    }

    pub async fn create_user(&self, user: &User, token_hash: &[u8]) -> Result<(), AccountError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(Error::from)?;
        let inserted = execute(
            &tx,
            "INSERT INTO users (id, email_key, record) VALUES ($1, $2, $3)",
            &[&user.id, &user.email.to_lowercase(), &codec::encode(user)],
        )
        .await;
        if let Err(err) = inserted {
            return Err(if violates(&err, "users_email_key_key") {
                AccountError::EmailTaken(user.email.clone())
            } else {
                err.into()
            });
        }
        execute(
            &tx,
            "INSERT INTO tokens (hash, user_id) VALUES ($1, $2)",
            &[&token_hash, &user.id],
        )
        .await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(())
    }

    pub async fn add_token(&self, user_id: Uuid, token_hash: &[u8]) -> Result<(), Error> {
        self.execute(
            "INSERT INTO tokens (hash, user_id) VALUES ($1, $2)
             ON CONFLICT (hash) DO UPDATE SET user_id = EXCLUDED.user_id",
            &[&token_hash, &user_id],
        )
        .await?;
        Ok(())
    }

    pub async fn user_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<User>, Error> {
        self.record(
            "SELECT u.record FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.hash = $1 AND NOT u.disabled",
            &[&token_hash],
        )
        .await
    }

    pub async fn tokens(&self) -> Result<Vec<([u8; 32], Uuid)>, Error> {
        let rows = self
            .query("SELECT hash, user_id FROM tokens ORDER BY hash", &[])
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let hash: &[u8] = row.get(0);
                Some((<[u8; 32]>::try_from(hash).ok()?, row.get(1)))
            })
            .collect())
    }

    pub async fn revoke_token(&self, token_hash: &[u8; 32]) -> Result<(), Error> {
        self.execute("DELETE FROM tokens WHERE hash = $1", &[&&token_hash[..]])
            .await?;
        Ok(())
    }

    pub async fn set_disabled(&self, user_id: Uuid, disabled: bool) -> Result<(), Error> {
        self.execute(
            "UPDATE users SET disabled = $2 WHERE id = $1",
            &[&user_id, &disabled],
        )
        .await?;
        Ok(())
    }

    pub async fn is_disabled(&self, user_id: Uuid) -> Result<bool, Error> {
        let rows = self
            .query("SELECT disabled FROM users WHERE id = $1", &[&user_id])
            .await?;
        Ok(rows.first().is_some_and(|row| row.get(0)))
    }
}
