"""Acknowledged writes and event deliveries per second for 1, 2 and 3 Skein nodes on one
PostgreSQL and one NATS, beside PostgreSQL's own commit rate (pgbench) in the same run.

    scripts/with-postgres scripts/with-nats python benches/cluster/run.py --binary target/release/skein

(`benches/cluster/run.sh` builds the release binary and does exactly that.)

- writes: CLIENTS WebSocket clients spread over the nodes, each renaming a thread of its own
  (`/threads/update`) as fast as the acknowledgements come, for SECONDS.
- deliveries: WATCHERS clients spread over the nodes watch one thread; a client on the first
  node renames it EVENTS times, waiting for each acknowledgement; deliveries are the
  `updateThreadState` frames the watchers receive, per second from the first rename to the
  last frame.
- anchor: pgbench, CLIENTS connections each committing one-row INSERTs for SECONDS.
"""

import argparse
import asyncio
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import websockets


def psql(url, sql):
    subprocess.run(["psql", url, "-q", "-c", sql], check=True, capture_output=True)


class Node:
    def __init__(self, binary, database, nats, datasets):
        self.dir = tempfile.TemporaryDirectory()
        self.process = subprocess.Popen(
            [binary, "--database", database, "--datasets-dir", datasets, "--data-dir",
             self.dir.name, "serve", "--addr", "127.0.0.1:0", "--bus", nats, "--no-sample"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.token = None
        for line in self.process.stdout:
            if line.startswith("listening on http://"):
                self.addr = line.split("http://")[1].strip()
            if "?token=" in line:
                self.token = line.split("?token=")[1].strip()
            if line.startswith("login:") or line.startswith("sign in"):
                break

    def stop(self):
        self.process.terminate()
        self.process.wait()
        self.dir.cleanup()


async def connect(node, token):
    return await websockets.connect(f"ws://{node.addr}/ws", max_size=None,
                                    additional_headers={"Authorization": f"Bearer {token}"})


async def request(ws, route, data, rid):
    await ws.send(json.dumps({"route": route, "data": data, "request_id": rid}))
    while True:
        message = json.loads(await ws.recv())
        if message.get("request_id") == rid:
            if message.get("error"):
                raise RuntimeError(message["error"])
            return message


async def new_thread(ws, title):
    reply = await request(ws, "/threads/post", {"prompt": title}, "new")
    return reply["payload"]["id"]


async def writes(nodes, token, clients, seconds):
    sockets = [await connect(nodes[i % len(nodes)], token) for i in range(clients)]
    threads = [await new_thread(ws, f"writer {i}") for i, ws in enumerate(sockets)]
    await asyncio.sleep(1)  # the analyst's answers to the first posts land first
    done = 0
    deadline = time.monotonic() + seconds

    async def writer(ws, thread):
        nonlocal done
        n = 0
        while time.monotonic() < deadline:
            n += 1
            await request(ws, "/threads/update", {"id": thread, "title": f"t{n}"}, f"w{n}")
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(writer(ws, t) for ws, t in zip(sockets, threads)))
    elapsed = time.monotonic() - started
    for ws in sockets:
        await ws.close()
    return done / elapsed


async def deliveries(nodes, token, watchers, events):
    owner = await connect(nodes[0], token)
    thread = await new_thread(owner, "fan-out")
    await asyncio.sleep(1)
    sockets = [await connect(nodes[i % len(nodes)], token) for i in range(watchers)]
    for ws in sockets:
        await request(ws, "/threads/get", {"id": thread}, "get")
    received = 0

    async def watch(ws):
        nonlocal received
        seen = 0
        while seen < events:
            message = json.loads(await ws.recv())
            if message.get("event") == "updateThreadState":
                seen += 1
                received += 1

    watching = [asyncio.create_task(watch(ws)) for ws in sockets]
    started = time.monotonic()
    for n in range(events):
        await request(owner, "/threads/update", {"id": thread, "title": f"r{n}"}, f"r{n}")
    await asyncio.wait_for(asyncio.gather(*watching), 120)
    elapsed = time.monotonic() - started
    for ws in sockets + [owner]:
        await ws.close()
    return received / elapsed


def pgbench(url, clients, seconds):
    psql(url, "CREATE TABLE IF NOT EXISTS bench_rows (id bigserial PRIMARY KEY, body text)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO bench_rows (body) VALUES ('a row of about the size of a title');\n")
    bin_dir = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
    out = subprocess.run([str(bin_dir / "pgbench"), "-n", "-c", str(clients), "-j", "2", "-T",
                          str(seconds), "-f", script.name, url],
                         check=True, capture_output=True, text=True).stdout
    os.unlink(script.name)
    return float(re.search(r"tps = ([0-9.]+)", out).group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--watchers", type=int, default=300)
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()
    admin = os.environ["SKEIN_TEST_POSTGRES"]
    nats = os.environ["SKEIN_TEST_NATS"]
    results = []
    for size in (1, 2, 3):
        name = f"skein_cluster_bench_{size}"
        psql(admin, f"DROP DATABASE IF EXISTS {name}")
        psql(admin, f"CREATE DATABASE {name}")
        database = admin.rsplit("/", 1)[0] + "/" + name
        shared = tempfile.TemporaryDirectory()
        nodes = [Node(args.binary, database, nats, shared.name) for _ in range(size)]
        token = nodes[0].token
        try:
            w = asyncio.run(writes(nodes, token, args.clients, args.seconds))
            d = asyncio.run(deliveries(nodes, token, args.watchers, args.events))
            anchor = pgbench(database, args.clients, args.seconds)
        finally:
            for node in nodes:
                node.stop()
            shared.cleanup()
        results.append((size, w, d, anchor))
    one_w, one_d = results[0][1], results[0][2]
    print(f"{args.clients} writers, {args.watchers} watchers x {args.events} events, 2 cores")
    print("nodes  writes/s  vs 1 node  vs pgbench (same run)  deliveries/s  vs 1 node")
    for size, w, d, anchor in results:
        print(f"{size:>5}  {w:>8.0f}  {w / one_w:>9.2f}  {w / anchor:>5.2f} of {anchor:>6.0f}"
              f"        {d:>12.0f}  {d / one_d:>9.2f}")


if __name__ == "__main__":
    main()
