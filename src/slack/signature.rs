//! Slack's request signing (v0): `X-Slack-Signature` is `v0=` and the lowercase hex
//! HMAC-SHA256, keyed with the app's signing secret, of `v0:{X-Slack-Request-Timestamp}:{raw
//! body}`; requests more than five minutes from now either way are refused (replays).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from now.
pub const MAX_SKEW_SECS: i64 = 300;

/// Why a request was refused (logged; the client gets 401 either way).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("missing X-Slack-Signature or X-Slack-Request-Timestamp")]
    Missing,
    #[error("the timestamp is not a number")]
    BadTimestamp,
    #[error("the timestamp is more than {MAX_SKEW_SECS} s from now")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks a request's signature against the raw body, `now` being Unix seconds.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Refusal> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Refusal::Missing);
    };
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Refusal::BadTimestamp)?;
    if (now - sent).abs() > MAX_SKEW_SECS {
        return Err(Refusal::Stale);
    }
    let expected = signature
        .strip_prefix("v0=")
        .and_then(|hex_digits| hex::decode(hex_digits).ok())
        .ok_or(Refusal::Mismatch)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(b"v0:");
    mac.update(timestamp.trim().as_bytes());
    mac.update(b":");
    mac.update(body);
    // Constant-time comparison.
    mac.verify_slice(&expected).map_err(|_| Refusal::Mismatch)
}

/// The signature of `body` at `timestamp` (for tests and tools that call Skein as Slack would).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's published example (docs; python-slack-sdk's tests).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_published_vector_verifies() {
        let now = 1531420618;
        assert_eq!(sign(SECRET, TIMESTAMP, BODY.as_bytes()), SIGNATURE);
        assert_eq!(
            verify(
                SECRET,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY.as_bytes(),
                now
            ),
            Ok(())
        );
        let tampered = BODY.replace("roadrunner", "coyote");
        assert_eq!(
            verify(
                SECRET,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                tampered.as_bytes(),
                now
            ),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify(
                "another secret",
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY.as_bytes(),
                now
            ),
            Err(Refusal::Mismatch)
        );
        for off in [-301, 301] {
            assert_eq!(
                verify(
                    SECRET,
                    Some(TIMESTAMP),
                    Some(SIGNATURE),
                    BODY.as_bytes(),
                    now + off
                ),
                Err(Refusal::Stale)
            );
        }
        for off in [-300, 300] {
            assert!(verify(
                SECRET,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY.as_bytes(),
                now + off
            )
            .is_ok());
        }
        assert_eq!(
            verify(SECRET, None, Some(SIGNATURE), b"", now),
            Err(Refusal::Missing)
        );
        assert_eq!(
            verify(SECRET, Some("soon"), Some(SIGNATURE), b"", now),
            Err(Refusal::BadTimestamp)
        );
        assert_eq!(
            verify(SECRET, Some(TIMESTAMP), Some("v1=00"), BODY.as_bytes(), now),
            Err(Refusal::Mismatch)
        );
    }
}
