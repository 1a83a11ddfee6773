"""The analyst's development benchmark: asks the real server every question of questions.py
over the WebSocket protocol and grades each answer against pandas.

    scripts/analyst-bench [--only DATASET] [--verbose] [--json FILE]

Outcomes: right (the rows hold the expected numbers), wrong (an answer with other numbers),
refused (a failed step that says what it did not understand), error (any other failure).
A wrong number is the worst outcome; an honest refusal is acceptable.
"""

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websockets

import questions as Q

HERE = Path(__file__).parent
DATA = HERE / "data"


def start_server(binary, data_dir):
    proc = subprocess.Popen(
        [binary, "serve", "--addr", "127.0.0.1:0", "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        stderr=open(os.path.join(data_dir, "..", "server.log"), "w"),
        text=True,
        env={**os.environ, "SKEIN_LOG": "warn"},
    )
    addr = token = None
    for line in proc.stdout:
        if line.startswith("listening on http://"):
            addr = line.split("http://", 1)[1].strip()
        if "?token=" in line:
            token = line.split("?token=", 1)[1].strip()
        if line.startswith("login:"):
            break
    if not addr or not token:
        proc.kill()
        sys.exit("the server did not start")
    return proc, addr, token


def add_datasets(binary, data_dir, names):
    for name in names:
        subprocess.run(
            [binary, "dataset", "add", name, "--csv", str(DATA / f"{name}.csv"),
             "--describe", str(DATA / f"{name}.toml"), "--data-dir", data_dir],
            check=True, capture_output=True,
        )


class Session:
    def __init__(self, ws):
        self.ws = ws
        self.counter = 0

    async def request(self, route, data):
        self.counter += 1
        rid = f"r{self.counter}"
        await self.ws.send(json.dumps({"route": route, "data": data, "request_id": rid}))
        while True:
            msg = json.loads(await self.ws.recv())
            if msg.get("request_id") == rid:
                return msg

    async def ask(self, prompt, thread_id):
        """Posts a question and returns the answered message (from getThreadState)."""
        reply = await self.request(
            "/threads/post", {"prompt": prompt, "thread_id": thread_id, "dataset_id": None}
        )
        if reply.get("error"):
            raise RuntimeError(f"post failed: {reply['error']}")
        thread_id = reply["payload"]["id"]
        while True:
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), 120))
            payload = msg.get("payload")
            if (msg.get("event") == "updateThreadState" and isinstance(payload, list)
                    and payload and payload[0].get("id") == thread_id):
                break
        state = await self.request("/threads/get", {"id": thread_id})
        await self.request("/threads/unsubscribe", {"id": thread_id})
        message = state["payload"][0]["messages"][-1]
        await self.page_in_rows(message)
        return thread_id, message

    async def page_in_rows(self, message):
        """States carry the first rows of an answer (`dataComplete: false` when there are more);
        the rest come from `/threads/data`."""
        for step in (message.get("context") or {}).get("steps") or []:
            fetched = step.get("fetchingData")
            if not fetched or fetched.get("dataComplete") is not False:
                continue
            rows = []
            while True:
                page = await self.request(
                    "/threads/data", {"message_id": message["id"], "offset": len(rows), "limit": 1000}
                )
                if page.get("error"):
                    raise RuntimeError(f"/threads/data failed: {page['error']}")
                rows += page["payload"]["rows"]
                if not page["payload"]["rows"] or len(rows) >= page["payload"]["total"]:
                    break
            fetched["data"] = rows


def outcome_of(message):
    """(kind, rows, dataset, text) from a stored message's steps, each `{event: fields}`."""
    steps = {}
    for step in (message.get("context") or {}).get("steps") or []:
        for event, fields in step.items():
            steps[event] = fields
    chosen = (steps.get("identifyingDataset") or {}).get("dataset") or {}
    dataset = chosen.get("name")
    for event, fields in steps.items():
        if fields.get("progress") == "failed":
            text = str(fields.get("error"))
            # A question not understood (or a dataset not settled) is refused before any SQL.
            kind = "refused" if event in ("identifyingDataset", "identifyingTerms", "generatingSql") else "error"
            return kind, None, dataset, f"{event}: {text}"
    fetched = steps.get("fetchingData") or {}
    if fetched.get("data") is not None:
        summary = (steps.get("generatingDataSummary") or {})
        return "answered", fetched["data"], dataset, summary.get("dataSummary") or summary.get("data_summary") or ""
    return "error", None, dataset, "no data and no failed step"


async def run(args):
    binary = args.binary
    tmp = tempfile.mkdtemp(prefix="skein-analyst-bench-")
    data_dir = os.path.join(tmp, "data")
    os.makedirs(data_dir)
    proc, addr, token = start_server(binary, data_dir)
    try:
        names = sorted({q.dataset for q in Q.QUESTIONS})
        add_datasets(binary, data_dir, names)
        frames = {name: Q.load(name) for name in names}
        counts = {"right": 0, "wrong": 0, "refused": 0, "error": 0}
        per_dataset = {}
        records = []
        async with websockets.connect(f"ws://{addr}/ws?token={token}", max_size=None) as ws:
            session = Session(ws)
            thread_id = None
            for number, q in enumerate(Q.QUESTIONS, 1):
                if args.only and q.dataset != args.only:
                    continue
                if not q.follows:
                    thread_id = None
                thread_id, message = await session.ask(q.prompt, thread_id)
                kind, rows, dataset, text = outcome_of(message)
                if kind == "answered":
                    expected = q.expected(frames[q.dataset])
                    ok, why = Q.grade(q.kind, expected, rows)
                    kind = "right" if ok else "wrong"
                else:
                    why = text
                counts[kind] += 1
                per_dataset.setdefault(q.dataset, {"right": 0, "wrong": 0, "refused": 0, "error": 0})[kind] += 1
                records.append({"n": number, "dataset": q.dataset, "prompt": q.prompt,
                                "outcome": kind, "why": why, "chosen": dataset,
                                "sql": message.get("code")})
                if args.verbose or (kind == "wrong" and not args.quiet):
                    print(f"{number:3} {kind:7} [{q.dataset}] {q.prompt}")
                    if kind != "right":
                        print(f"      {why[:300]}")
                        if message.get("code") and kind == "wrong":
                            print("      " + message["code"].replace("\n", " "))
        total = sum(counts.values())
        print()
        for name, c in sorted(per_dataset.items()):
            print(f"{name:18} right {c['right']:3}  wrong {c['wrong']:3}  refused {c['refused']:3}  error {c['error']:3}")
        print(f"{'all':18} right {counts['right']:3}  wrong {counts['wrong']:3}  refused {counts['refused']:3}  error {counts['error']:3}  of {total}")
        print(f"right {100 * counts['right'] / max(total, 1):.1f}%, wrong {100 * counts['wrong'] / max(total, 1):.1f}%")
        if args.json:
            Path(args.json).write_text(json.dumps({"counts": counts, "questions": records}, indent=1))
    finally:
        proc.terminate()
        proc.wait(10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.environ.get("SKEIN_BIN", "target/release/skein"))
    parser.add_argument("--only", help="ask only this dataset's questions")
    parser.add_argument("--verbose", action="store_true", help="print every question")
    parser.add_argument("--quiet", action="store_true", help="print only the counts")
    parser.add_argument("--json", help="write every outcome to this file")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
