"""Starts the real `skein` binary (SKEIN_BIN) on 127.0.0.1:0 with a temporary data dir, and
hands the tests official `langgraph_sdk` clients pointed at it. Under scripts/with-postgres
(SKEIN_TEST_POSTGRES set) each server keeps its data in a PostgreSQL database of its own."""

import os
import re
import shutil
import subprocess
import tempfile
import uuid


def database_flags():
    """`--database URL` of a fresh database when the run is on PostgreSQL, else nothing."""
    admin = os.environ.get("SKEIN_TEST_POSTGRES")
    if not admin:
        return []
    name = f"skein_py_{uuid.uuid4().hex}"
    subprocess.run(["psql", admin, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return ["--database", f"{admin.rsplit('/', 1)[0]}/{name}"]

import pytest
from langgraph_sdk import get_sync_client


class Server:
    def __init__(self, extra=()):
        self.dir = tempfile.mkdtemp(prefix="skein-sdk-")
        binary = os.environ.get("SKEIN_BIN", "target/debug/skein")
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.places = ["--data-dir", os.path.join(self.dir, "data"), *database_flags()]
        self.process = subprocess.Popen(
            [binary, "serve", "--addr", "127.0.0.1:0", *self.places, *extra],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.url = None
        self.token = None
        for line in self.process.stdout:
            if m := re.match(r"listening on (http://\S+)", line):
                self.url = m.group(1)
            if m := re.search(r"\?token=(\S+)", line):
                self.token = m.group(1)
                break
        assert self.url and self.token, "the server did not start"

    def add_user(self, name, email):
        out = subprocess.run(
            [os.environ.get("SKEIN_BIN", "target/debug/skein"), "user", "add",
             "--name", name, "--email", email, *self.places],
            check=True, capture_output=True, text=True,
        ).stdout
        return re.search(r"(skn_[0-9a-f]+)", out).group(1)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    server = Server()
    yield server
    server.stop()


@pytest.fixture
def client(server):
    """A client of the first admin; every thread it made is deleted afterwards."""
    client = get_sync_client(url=server.url, api_key=server.token)
    yield client
    for thread in client.threads.search(limit=1000):
        client.threads.delete(thread["thread_id"])
