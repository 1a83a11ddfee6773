//! The wire envelope: parsing requests and serializing server messages and errors.
//!
//! Request: `{"route": "/threads/…" | {"Threads": "/threads/…"}, "data"|"payload": {…}, "request_id"?}`.
//! Server message: `{"route", "event", "payload", "error", "sent_by"?, "request_id"?}`.

use crate::error::Error;
use crate::model::User;
use crate::outbox::Frame;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// A parsed request.
pub struct Request {
    pub route: String,
    pub data: Value,
    pub request_id: Option<Value>,
}

/// Why a frame is not a request at all: answered with event `error`.
pub struct Unparseable {
    /// The route, if one could be read, so the client can match the error.
    pub route: Option<String>,
    pub request_id: Option<Value>,
    pub error: Error,
}

pub fn parse_request(text: &str) -> Result<Request, Unparseable> {
    let value: Value = serde_json::from_str(text).map_err(|err| Unparseable {
        route: None,
        request_id: None,
        error: Error::malformed(format!("frame is not valid JSON: {err}")),
    })?;
    let Value::Object(mut object) = value else {
        return Err(Unparseable {
            route: None,
            request_id: None,
            error: Error::malformed("a request must be a JSON object with \"route\" and \"data\""),
        });
    };
    let request_id = object.remove("request_id");
    let fail = |route: Option<String>, message: String| Unparseable {
        route,
        request_id: request_id.clone(),
        error: Error::malformed(message),
    };
    let route = match object.remove("route") {
        Some(Value::String(route)) => route,
        // The seed's examples also show the externally tagged form {"Threads": "/threads/get"}.
        Some(Value::Object(tagged)) if tagged.len() == 1 => match tagged.into_iter().next() {
            Some((_, Value::String(route))) => route,
            _ => {
                return Err(fail(
                    None,
                    "\"route\" must be a string such as \"/threads/list\"".into(),
                ))
            }
        },
        Some(_) => {
            return Err(fail(
                None,
                "\"route\" must be a string such as \"/threads/list\"".into(),
            ))
        }
        None => return Err(fail(None, "missing \"route\"".into())),
    };
    let data = match (object.remove("data"), object.remove("payload")) {
        (Some(_), Some(_)) => {
            return Err(fail(
                Some(route),
                "send \"data\" or \"payload\", not both".into(),
            ))
        }
        (Some(data), None) | (None, Some(data)) => data,
        (None, None) => Value::Object(Map::new()),
    };
    let data = match data {
        Value::Null => Value::Object(Map::new()),
        Value::Object(_) => data,
        _ => return Err(fail(Some(route), "\"data\" must be a JSON object".into())),
    };
    Ok(Request {
        route,
        data,
        request_id,
    })
}

/// Decodes a request's `data` into a typed request, naming the offending field on failure.
pub fn decode_data<T: DeserializeOwned>(data: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(data).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." || path.is_empty() {
            Error::invalid(format!("invalid data: {inner}"))
        } else {
            Error::invalid(format!("invalid data.{path}: {inner}"))
        }
    })
}

/// Distinguishes an explicit `null` (Some(None)) from an absent field (None):
/// `#[serde(default, deserialize_with = "present")]`.
pub fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// One server message.
pub struct Outgoing<'a, P: Serialize + ?Sized> {
    pub route: &'a str,
    pub event: &'a str,
    pub payload: &'a P,
    pub error: Option<&'a Error>,
    pub sent_by: Option<&'a User>,
    pub request_id: Option<&'a Value>,
    /// The seed's marker on analyst output meant for the person who asked.
    pub send_back_to_user: bool,
}

impl<P: Serialize + ?Sized> Outgoing<'_, P> {
    pub fn to_frame(&self) -> Frame {
        // Serialized from borrowed parts: a thread state's payload is large, and is written out
        // once here rather than copied into a new tree first. Fields in the order `json!` gave.
        #[derive(Serialize)]
        struct Wire<'a, P: ?Sized> {
            error: Option<Value>,
            event: &'a str,
            payload: &'a P,
            #[serde(skip_serializing_if = "Option::is_none")]
            request_id: Option<&'a Value>,
            route: &'a str,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            send_back_to_user: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            sent_by: Option<SentBy<'a>>,
        }
        #[derive(Serialize)]
        struct SentBy<'a> {
            id: uuid::Uuid,
            name: &'a str,
        }
        let wire = Wire {
            error: self.error.map(error_json),
            event: self.event,
            payload: self.payload,
            request_id: self.request_id,
            route: self.route,
            send_back_to_user: self.send_back_to_user,
            sent_by: self.sent_by.map(|user| SentBy {
                id: user.id,
                name: &user.name,
            }),
        };
        Frame::json(&wire)
    }
}

/// The `error` object of an envelope: the WebSocket code, the message, and the table's
/// machine code and category beside them.
fn error_json(error: &Error) -> Value {
    json!({
        "code": error.code.ws(),
        "message": error.message,
        "error_code": error.code.machine(),
        "type": error.code.category().name(),
    })
}

/// A broadcast caused by `user`, not tied to a request.
pub fn event(route: &str, event: &str, payload: impl Serialize, sent_by: Option<&User>) -> Frame {
    Outgoing {
        route,
        event,
        payload: &payload,
        error: None,
        sent_by,
        request_id: None,
        send_back_to_user: false,
    }
    .to_frame()
}
