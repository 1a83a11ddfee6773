//! Limits of the protocol, in one place.

/// The largest request frame answered normally; larger ones get `PAYLOAD_TOO_LARGE`.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Frames above this are not read at all: the connection is closed (1009) instead.
pub const HARD_FRAME_BYTES: usize = 16 * 1024 * 1024;
pub const MAX_PROMPT_CHARS: usize = 10_000;
pub const MAX_TITLE_CHARS: usize = 200;
/// The largest REST request body; larger ones get 413.
pub const MAX_REST_BODY_BYTES: usize = 8 * 1024 * 1024;
