"""Slack's own SDK signs requests; Skein's verifier must agree (an independent check of
src/slack/signature.rs)."""

import json
import time
import urllib.error
import urllib.request

import pytest
from slack_sdk.signature import SignatureVerifier

from conftest import Server

SECRET = "python-test-signing-secret"


@pytest.fixture(scope="module")
def slack_server():
    # Slack's Web API is not needed here: point it at a closed port.
    server = Server(extra=["--slack-signing-secret", SECRET, "--slack-bot-token", "xoxb-test",
                           "--slack-api-base-url", "http://127.0.0.1:9/api"])
    yield server
    server.stop()


def post(server, body, headers):
    request = urllib.request.Request(f"{server.url}/slack/events", data=body, headers=headers,
                                     method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def signed(body, timestamp=None):
    timestamp = str(timestamp or int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature,
            "Content-Type": "application/json"}


def test_requests_signed_by_slack_sdk_are_taken(slack_server):
    body = json.dumps({"type": "url_verification", "token": "t", "challenge": "abc123"})
    status, reply = post(slack_server, body.encode(), signed(body))
    assert (status, reply) == (200, {"challenge": "abc123"})
    # slack_sdk accepts what it signed, as Skein did.
    headers = signed(body)
    assert SignatureVerifier(SECRET).is_valid(
        body=body, timestamp=headers["X-Slack-Request-Timestamp"],
        signature=headers["X-Slack-Signature"])


def test_tampered_and_stale_requests_are_refused(slack_server):
    body = json.dumps({"type": "url_verification", "token": "t", "challenge": "abc123"})
    headers = signed(body)
    assert post(slack_server, body.replace("abc", "xyz").encode(), headers)[0] == 401
    stale = signed(body, timestamp=int(time.time()) - 600)
    assert post(slack_server, body.encode(), stale)[0] == 401
    other = SignatureVerifier("another secret").generate_signature(
        timestamp=headers["X-Slack-Request-Timestamp"], body=body)
    assert post(slack_server, body.encode(), {**headers, "X-Slack-Signature": other})[0] == 401
