//! The one table of errors a client can see, in the manner of Meilisearch's error codes.
//!
//! Every failure that leaves the server is an [`Error`]: a [`Code`] from the table below and a
//! message for people. The code fixes everything else: the stable machine code (`error_code`
//! in a WebSocket error, `code` in a REST body), a category, the HTTP status, the WebSocket
//! envelope's `code`, and the CLI's exit status. Faces render an `Error` in their own wire
//! shape (`ws::envelope`, `rest::error_response`); they never invent one of their own, and no
//! Debug text reaches a client. Each module's own error type converts
//! into an `Error` next to where it is defined, so this table depends on nothing else here.

use warp::http::StatusCode;

/// What kind of failure a code is; also fixes the CLI's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The request is wrong; sending it again unchanged fails again. CLI exit 2.
    InvalidRequest,
    /// No token, or a token the server does not know. CLI exit 2.
    Auth,
    /// What the request names does not exist or is not the caller's to see. CLI exit 3.
    NotFound,
    /// The request collides with what is there (a taken id or email, a concurrent change).
    /// CLI exit 4.
    Conflict,
    /// The server cannot take the request now (busy, shutting down, not running). CLI exit 5.
    Unavailable,
    /// A fault of the server; details are in its log. CLI exit 1.
    Internal,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::InvalidRequest => "invalid_request",
            Category::Auth => "auth",
            Category::NotFound => "not_found",
            Category::Conflict => "conflict",
            Category::Unavailable => "unavailable",
            Category::Internal => "internal",
        }
    }

    /// The `skein` command's exit status for an error of this category (documented in the
    /// README).
    pub fn exit_code(self) -> i32 {
        match self {
            Category::InvalidRequest | Category::Auth => 2,
            Category::NotFound => 3,
            Category::Conflict => 4,
            Category::Unavailable => 5,
            Category::Internal => 1,
        }
    }
}

/// Builds [`Code`] and its lookups from one table, so a code cannot exist without every one of
/// its renderings.
macro_rules! error_table {
    ($($code:ident = $machine:literal, $category:ident, $http:ident, $ws:literal, $freddy:literal;)*) => {
        /// Every error a user can see.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code { $($code),* }

        impl Code {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [Code] = &[$(Code::$code),*];

            /// The stable machine code clients match on.
            pub fn machine(self) -> &'static str {
                match self { $(Code::$code => $machine),* }
            }

            pub fn category(self) -> Category {
                match self { $(Code::$code => Category::$category),* }
            }

            pub fn http_status(self) -> StatusCode {
                match self { $(Code::$code => StatusCode::$http),* }
            }

            /// The `code` of the WebSocket error envelope.
            pub fn ws(self) -> &'static str {
                match self { $(Code::$code => $ws),* }
            }

            /// The `error.code` of the Freddy API (`/v1`), in Aitronos' UPPER_SNAKE names.
            pub fn freddy(self) -> &'static str {
                match self { $(Code::$code => $freddy),* }
            }

            /// The code with this machine code (errors sent over the admin socket).
            pub fn from_machine(machine: &str) -> Option<Code> {
                match machine { $($machine => Some(Code::$code),)* _ => None }
            }
        }
    };
}

error_table! {
    // The request itself.
    MalformedRequest   = "malformed_request",    InvalidRequest, BAD_REQUEST,           "BAD_REQUEST", "INVALID_REQUEST";
    InvalidRequest     = "invalid_request",      InvalidRequest, UNPROCESSABLE_ENTITY,  "BAD_REQUEST", "VALIDATION_ERROR";
    InvalidPrompt      = "invalid_prompt",       InvalidRequest, UNPROCESSABLE_ENTITY,  "BAD_REQUEST", "VALIDATION_ERROR";
    InvalidTitle       = "invalid_title",        InvalidRequest, UNPROCESSABLE_ENTITY,  "BAD_REQUEST", "VALIDATION_ERROR";
    InvalidSql         = "invalid_sql",          InvalidRequest, UNPROCESSABLE_ENTITY,  "BAD_REQUEST", "INVALID_SQL";
    QuestionNotUnderstood = "question_not_understood", InvalidRequest, UNPROCESSABLE_ENTITY, "BAD_REQUEST", "QUESTION_NOT_UNDERSTOOD";
    QueryFailed        = "query_failed",         InvalidRequest, UNPROCESSABLE_ENTITY,  "BAD_REQUEST", "QUERY_FAILED";
    UnknownRoute       = "unknown_route",        InvalidRequest, NOT_FOUND,             "BAD_REQUEST", "ENDPOINT_NOT_FOUND";
    MethodNotAllowed   = "method_not_allowed",   InvalidRequest, METHOD_NOT_ALLOWED,    "BAD_REQUEST", "METHOD_NOT_ALLOWED";
    PayloadTooLarge    = "payload_too_large",    InvalidRequest, PAYLOAD_TOO_LARGE,     "PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE";
    Unsupported        = "unsupported",          InvalidRequest, UNPROCESSABLE_ENTITY,  "BAD_REQUEST", "UNSUPPORTED";
    // Who is asking, and what they may do.
    MissingToken       = "missing_token",        Auth,           UNAUTHORIZED,          "UNAUTHORIZED", "AUTHENTICATION_REQUIRED";
    InvalidToken       = "invalid_token",        Auth,           UNAUTHORIZED,          "UNAUTHORIZED", "INVALID_API_KEY";
    ThreadReadOnly     = "thread_read_only",     Auth,           FORBIDDEN,             "UNAUTHORIZED", "INSUFFICIENT_PERMISSIONS";
    OrgAccessDenied    = "org_access_denied",    Auth,           FORBIDDEN,             "UNAUTHORIZED", "ORGANIZATION_ACCESS_DENIED";
    NotThreadManager   = "not_thread_manager",   Auth,           FORBIDDEN,             "UNAUTHORIZED", "INSUFFICIENT_PERMISSIONS";
    NotOrgAdmin        = "not_org_admin",        Auth,           FORBIDDEN,             "UNAUTHORIZED", "INSUFFICIENT_PERMISSIONS";
    // What the request names. "Does not exist" and "you may not see it" are one answer.
    ThreadNotFound     = "thread_not_found",     NotFound,       NOT_FOUND,             "NOT_FOUND", "RESOURCE_NOT_FOUND";
    MessageNotFound    = "message_not_found",    NotFound,       NOT_FOUND,             "NOT_FOUND", "RESOURCE_NOT_FOUND";
    DatasetNotFound    = "dataset_not_found",    NotFound,       NOT_FOUND,             "NOT_FOUND", "RESOURCE_NOT_FOUND";
    UserNotFound       = "user_not_found",       NotFound,       NOT_FOUND,             "NOT_FOUND", "RESOURCE_NOT_FOUND";
    TokenNotFound      = "token_not_found",      NotFound,       NOT_FOUND,             "NOT_FOUND", "RESOURCE_NOT_FOUND";
    OrgNotFound        = "org_not_found",        NotFound,       NOT_FOUND,             "NOT_FOUND", "RESOURCE_NOT_FOUND";
    DataDirNotFound    = "data_dir_not_found",   NotFound,       NOT_FOUND,             "NOT_FOUND", "RESOURCE_NOT_FOUND";
    // Collisions.
    ThreadExists       = "thread_exists",        Conflict,       CONFLICT,              "CONFLICT", "RESOURCE_ALREADY_EXISTS";
    AlreadyExists      = "already_exists",       Conflict,       CONFLICT,              "CONFLICT", "RESOURCE_ALREADY_EXISTS";
    ThreadBusy         = "thread_busy",          Conflict,       CONFLICT,              "CONFLICT", "THREAD_BUSY";
    ThreadLocked       = "thread_locked",        Conflict,       CONFLICT,              "CONFLICT", "THREAD_LOCKED";
    ThreadArchived     = "thread_archived",      Conflict,       CONFLICT,              "CONFLICT", "THREAD_ARCHIVED";
    ConcurrentChange   = "concurrent_change",    Conflict,       CONFLICT,              "CONFLICT", "CONCURRENT_CHANGE";
    // Load and availability.
    RateLimited        = "rate_limited",         Unavailable,    TOO_MANY_REQUESTS,     "RATE_LIMITED", "RATE_LIMIT_EXCEEDED";
    ShuttingDown       = "shutting_down",        Unavailable,    SERVICE_UNAVAILABLE,   "SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE";
    Interrupted        = "interrupted",          Unavailable,    SERVICE_UNAVAILABLE,   "SERVICE_UNAVAILABLE", "INTERRUPTED";
    ServerUnreachable  = "server_unreachable",   Unavailable,    SERVICE_UNAVAILABLE,   "SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE";
    DiskFull           = "disk_full",            Unavailable,    INSUFFICIENT_STORAGE,  "INSUFFICIENT_STORAGE", "INSUFFICIENT_STORAGE";
    StorageUnavailable = "storage_unavailable",  Unavailable,    SERVICE_UNAVAILABLE,   "SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE";
    // Faults of the server.
    StorageFailure     = "storage_failure",      Internal,       INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", "INTERNAL_ERROR";
    LlmFailed          = "llm_failed",           Internal,       INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", "MODEL_ERROR";
    Internal           = "internal",             Internal,       INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", "INTERNAL_ERROR";
}

/// Left in an HTTP response's extensions (never sent) by a face that rendered an [`Error`],
/// so the request's metrics count its machine code.
#[derive(Debug, Clone, Copy)]
pub struct Rendered(pub Code);

/// A failure as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }

    /// A field or value the server cannot accept.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(Code::InvalidRequest, message)
    }

    /// A request that cannot be read at all (not JSON, wrong shape).
    pub fn malformed(message: impl Into<String>) -> Error {
        Error::new(Code::MalformedRequest, message)
    }

    /// The same answer for "does not exist" and "you may not see it" (LangGraph's wording).
    pub fn thread_not_found(id: impl std::fmt::Display) -> Error {
        Error::new(
            Code::ThreadNotFound,
            format!("Thread with ID {id} not found"),
        )
    }

    /// A fault of the server; the details go to its log, not to the client.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Code::Internal, message)
    }

    /// A file the server could not read or write (the operator's concern: its path and why).
    pub fn file(path: &std::path::Path, err: std::io::Error) -> Error {
        Error::internal(format!("{}: {err}", path.display()))
    }

    /// Whether this is a "not found or not yours" answer (skipped by bulk operations).
    pub fn is_missing_or_forbidden(&self) -> bool {
        matches!(self.code.category(), Category::NotFound | Category::Auth)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn machine_codes_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let machine = code.machine();
            assert!(seen.insert(machine), "{machine} twice");
            assert!(machine.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }

    #[test]
    fn machine_codes_read_back() {
        for code in Code::ALL {
            assert_eq!(Code::from_machine(code.machine()), Some(*code));
        }
    }

    #[test]
    fn statuses_agree_with_categories() {
        for code in Code::ALL {
            let status = code.http_status().as_u16();
            let expected = match code.category() {
                Category::InvalidRequest => (400..500).contains(&status),
                Category::Auth => status == 401 || status == 403,
                Category::NotFound => status == 404,
                Category::Conflict => status == 409,
                // 507: out of disk space, writes resume once space is freed.
                Category::Unavailable => [429, 503, 507].contains(&status),
                Category::Internal => status == 500,
            };
            assert!(expected, "{code:?} has status {status}");
        }
    }
}
