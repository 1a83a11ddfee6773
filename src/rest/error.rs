//! REST errors: `{"detail": "..."}` with the reference server's status codes.

use serde_json::json;
use warp::http::StatusCode;

#[derive(Debug)]
pub struct RestError {
    pub status: StatusCode,
    pub detail: String,
}

impl RestError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> RestError {
        RestError {
            status,
            detail: detail.into(),
        }
    }

    pub fn not_found(thread_id: impl std::fmt::Display) -> RestError {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("Thread with ID {thread_id} not found"),
        )
    }

    pub fn unprocessable(detail: impl Into<String>) -> RestError {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> RestError {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    pub fn conflict(detail: impl Into<String>) -> RestError {
        Self::new(StatusCode::CONFLICT, detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> RestError {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn into_response(self) -> warp::reply::Response {
        use warp::Reply;
        warp::reply::with_status(
            warp::reply::json(&json!({"detail": self.detail})),
            self.status,
        )
        .into_response()
    }
}

impl From<crate::store::Error> for RestError {
    fn from(err: crate::store::Error) -> Self {
        tracing::error!(error = %err, "storage error in a REST request");
        RestError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage error")
    }
}

pub type RestResult<T> = Result<T, RestError>;
