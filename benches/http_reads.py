"""How much an HTTP client reading a long thread's state delays another client's writes.

Starts `skein serve` on a temporary data dir and builds a thread of 100 answers. A WebSocket
client then renames a thread of its own (2 ms after each answer), first alone, then while
another process asks for the long thread's state over LangGraph's REST face
(`GET /threads/{id}/state`) again and again. Prints each phase's rename round trips.
(`skein bench thread` measures the same with the reader on a WebSocket.)

    pip install websockets   # or: pip install -r benches/analyst/requirements.txt
    python benches/http_reads.py --binary target/release/skein [--rounds 3]
"""

import argparse
import asyncio
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

from freshness import connect, start_server

QUESTIONS = [
    "total sales by month",
    "top 5 customers by sales in 2024",
    "sales for QUICK-Stop by quarter",
    "how many orders in 2023",
    "total sales by day in 2024",
]
PHASE_S = 3.0


async def ask(client, prompt, thread):
    """Asks `prompt` in `thread` (None: a new one); the thread's id once answered."""
    data = {"prompt": prompt, **({"thread_id": thread} if thread else {})}
    await client.socket.send(json.dumps({"route": "/threads/post", "data": data}))
    while True:
        event = json.loads(await client.socket.recv())
        if event.get("error") and event.get("request_id") is None:
            raise RuntimeError(f"the question failed: {event['error']}")
        if event.get("event") == "initializeThread":
            thread = event["payload"]["id"]
        if event.get("event") == "updateThreadState" and event.get("route") == "/threads/post":
            return thread


async def renames(client, thread):
    """Renames `thread` for PHASE_S seconds; the round trips' p50, p90 and p99 in ms."""
    took, n, end = [], 0, time.monotonic() + PHASE_S
    while time.monotonic() < end:
        n += 1
        began = time.perf_counter()
        await client.call("/threads/update", {"id": thread, "title": f"renamed {n}"})
        took.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(0.002)
    took.sort()
    return [took[int(len(took) * q)] for q in (0.5, 0.9, 0.99)]


def read_states(addr, token, thread, seconds):
    """The reader (a process of its own): GETs the thread's state until `seconds` pass."""
    host, port = addr.split(":")
    connection = http.client.HTTPConnection(host, int(port))
    reads, size, end = 0, 0, time.monotonic() + seconds
    while time.monotonic() < end:
        connection.request(
            "GET", f"/threads/{thread}/state", headers={"Authorization": f"Bearer {token}"}
        )
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"GET state: {response.status} {body[:200]!r}")
        reads, size = reads + 1, len(body)
    print(f"{reads / seconds:.0f}/s of {size / 1e3:.0f} KB", end="", flush=True)


async def measure(binary, rounds):
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(binary, os.path.join(tmp, "data"))
        addr, token = url.split("//")[1].split("/")[0], url.split("token=")[1]
        try:
            builder = await connect(url)
            long_thread = None
            for i in range(100):
                long_thread = await ask(builder, QUESTIONS[i % len(QUESTIONS)], long_thread)
            await builder.socket.close()
            writer = await connect(url)
            own = await ask(writer, QUESTIONS[3], None)
            for _ in range(rounds):
                alone = await renames(writer, own)
                reader = subprocess.Popen(
                    [sys.executable, __file__, "--read", addr, token, long_thread,
                     str(PHASE_S + 1)]
                )
                await asyncio.sleep(0.5)
                print("renames beside state reads (", end="", flush=True)
                beside = await renames(writer, own)
                reader.wait()
                print(
                    "): p50 {:.2f} p90 {:.2f} p99 {:.2f} ms".format(*beside)
                    + " | alone: p50 {:.2f} p90 {:.2f} p99 {:.2f} ms".format(*alone)
                )
        finally:
            server.kill()
            server.wait()


def main():
    if sys.argv[1:2] == ["--read"]:
        addr, token, thread, seconds = sys.argv[2:6]
        return read_states(addr, token, thread, float(seconds))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default="target/release/skein")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(measure(args.binary, args.rounds))


if __name__ == "__main__":
    main()
