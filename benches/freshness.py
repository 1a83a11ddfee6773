"""How soon a write is searchable while others write steadily.

Starts `skein serve` on a temporary data dir. `--loaders` clients each rename a thread of
their own as fast as the server acknowledges. A probe client owns one thread among 32
others. It renames its thread to a random word, then searches for that word every 5 ms until
its thread is the first hit by the text leg: the time from the rename's acknowledgement to
then is the freshness. Probes wait a
random 50–600 ms between them, so they do not lock onto the indexer's commit cycle.

    pip install websockets   # or: pip install -r benches/analyst/requirements.txt
    python benches/freshness.py --binary target/release/skein [--loaders 8] [--probes 60]
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import tempfile
import time

import websockets

DISTRACTORS = 32
GIVE_UP_S = 5.0


def start_server(binary, data_dir):
    server = subprocess.Popen(
        [binary, "serve", "--addr", "127.0.0.1:0", "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SKEIN_LOG": "warn"},
        text=True,
    )
    addr = None
    for line in server.stdout:
        if line.startswith("listening on http://"):
            addr = line.strip()[len("listening on http://"):]
        if "?token=" in line:
            return server, f"ws://{addr}/ws?token={line.strip().split('?token=')[1]}"
    raise SystemExit("the server stopped before printing its login URL")


class Client:
    def __init__(self, socket):
        self.socket = socket
        self.next_id = 0

    async def call(self, route, data):
        """Sends a request; its answer (the frame carrying its request_id)."""
        self.next_id += 1
        me = self.next_id
        await self.socket.send(json.dumps({"route": route, "data": data, "request_id": me}))
        while True:
            event = json.loads(await self.socket.recv())
            if event.get("request_id") == me:
                if event.get("error"):
                    raise RuntimeError(f"{route}: {event['error']}")
                return event

    async def new_thread(self):
        """Asks the sample question; the new thread's id once the analysis has gone quiet."""
        await self.socket.send(json.dumps({
            "route": "/threads/post",
            "data": {"prompt": "how many orders in 2023"},
            "request_id": "post",
        }))
        thread = None
        while True:
            try:
                event = json.loads(await asyncio.wait_for(self.socket.recv(), 1.0))
            except asyncio.TimeoutError:
                if thread:
                    return thread
                continue
            if event.get("event") == "initializeThread":
                if event.get("error"):
                    raise RuntimeError(f"/threads/post: {event['error']}")
                thread = event["payload"]["id"]


async def connect(url):
    return Client(await websockets.connect(url, max_size=None))


def random_word():
    return "".join(random.choice("bcdfghjklmnpqrstvwxz") for _ in range(12))


def first_hit(event):
    """The first hit's thread title and score."""
    hits = event.get("payload") or []
    return (hits[0].get("thread_title"), hits[0].get("score")) if hits else (None, 0.0)


async def load(client, thread, stop, counter):
    n = 0
    while not stop.is_set():
        n += 1
        await client.call("/threads/update", {"id": thread, "title": f"load title {n}"})
        counter[0] += 1


async def measure(url, loaders, probes):
    stop, writes = asyncio.Event(), [0]
    # Threads are made one after another: the server bounds a user's concurrent analyses.
    loading = []
    for _ in range(loaders):
        client = await connect(url)
        loading.append((client, await client.new_thread()))
    probe = await connect(url)
    for _ in range(DISTRACTORS):
        await probe.new_thread()
    thread = await probe.new_thread()
    load_tasks = [asyncio.create_task(load(c, t, stop, writes)) for c, t in loading]
    await asyncio.sleep(2)
    delays, missed = [], 0
    started, writes_before = time.monotonic(), writes[0]
    for _ in range(probes):
        word = random_word()
        # The vector leg ranks every thread for any word, so the probe's thread can come first
        # before its new title is indexed: only a score above that of a search no text
        # matches yet means the text leg found it.
        _, vector_only = first_hit(await probe.call("/threads/search", {"prompt": word}))
        await probe.call("/threads/update", {"id": thread, "title": word})
        acknowledged = time.monotonic()
        while True:
            found = await probe.call("/threads/search", {"prompt": word})
            waited = time.monotonic() - acknowledged
            title, score = first_hit(found)
            if title == word and score > vector_only:
                delays.append(waited * 1000)
                break
            if waited > GIVE_UP_S:
                missed += 1
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(random.uniform(0.05, 0.6))
    load_rate = (writes[0] - writes_before) / (time.monotonic() - started)
    stop.set()
    for task in load_tasks:
        task.cancel()
    failed = [t for t in load_tasks if t.done() and not t.cancelled() and t.exception()]
    if failed:
        raise SystemExit(f"a loader failed: {failed[0].exception()!r}")
    return sorted(delays), missed, load_rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default="target/release/skein")
    parser.add_argument("--loaders", type=int, default=8)
    parser.add_argument("--probes", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(args.binary, os.path.join(tmp, "data"))
        try:
            delays, missed, load_rate = asyncio.run(measure(url, args.loaders, args.probes))
        finally:
            server.kill()
            server.wait()
    if not delays:
        raise SystemExit(f"no probe was found by search within {GIVE_UP_S} s")
    p90 = delays[min(len(delays) - 1, int(len(delays) * 0.9))]
    print(
        f"{args.loaders} loaders ({load_rate:,.0f} renames/s): searchable after "
        f"p50 {statistics.median(delays):.0f} ms, p90 {p90:.0f} ms, max {delays[-1]:.0f} ms "
        f"({len(delays)} probes, {missed} not found within {GIVE_UP_S:.0f} s)"
    )


if __name__ == "__main__":
    main()
