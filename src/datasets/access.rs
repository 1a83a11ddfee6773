//! Who may do what with a dataset: an org's members read (and query) its datasets; its admins
//! manage them. A dataset of another org does not exist for the caller, whatever their role.

use super::Datasets;
use crate::error::{Code, Error};
use crate::model::{Dataset, User};
use uuid::Uuid;

impl Datasets {
    /// A dataset the user may read, or `dataset_not_found`.
    pub async fn readable(&self, user: &User, id: Uuid) -> Result<Dataset, Error> {
        self.get_for(user, id)
            .await?
            .ok_or_else(|| Error::new(Code::DatasetNotFound, format!("no dataset {id}")))
    }

    /// A dataset the user may change: one of their org's, and they are its admin.
    pub async fn manageable(&self, user: &User, id: Uuid) -> Result<Dataset, Error> {
        let dataset = self.readable(user, id).await?;
        may_manage(user)?;
        Ok(dataset)
    }
}

/// Refuses a user who is not an admin of their org.
pub fn may_manage(user: &User) -> Result<(), Error> {
    crate::auth::require_admin(
        user,
        "only an organization's admins add, change or remove its datasets",
    )
}
