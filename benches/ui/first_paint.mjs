// First paint of a long thread in the web UI: a thread of 100 answers is built through the
// WebSocket protocol, then opened from the sidebar in Debian's Chromium, and the time from the
// click to the frame after all 100 messages are in the page is measured (median of several
// openings), besides the time until the charts on screen are drawn.
//
//   node benches/ui/first_paint.mjs --binary target/release/skein [--answers 100] [--runs 7]
//
// Uses playwright-core from tests/browser (run `npm ci` there first).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dirname, "../..");
const { chromium } = await import(join(ROOT, "tests/browser/node_modules/playwright-core/index.mjs"));
const { values: args } = parseArgs({
  options: {
    binary: { type: "string", default: join(ROOT, "target/release/skein") },
    answers: { type: "string", default: "100" },
    runs: { type: "string", default: "7" },
  },
});
const ANSWERS = Number(args.answers);
const QUESTIONS = ["total sales by month", "sales by region", "top 5 customers by sales", "how many orders in 2023",
  "total sales by quarter", "sales for West by month", "average order value by region", "sales by product category"];

const dir = mkdtempSync(join(tmpdir(), "skein-first-paint-"));
const server = spawn(args.binary, ["serve", "--addr", "127.0.0.1:0", "--data-dir", join(dir, "data")], {
  stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, SKEIN_LOG: "warn" },
});
let out = "";
const login = await new Promise((ready) => server.stdout.on("data", (chunk) => {
  out += chunk;
  const found = out.match(/login: (\S+)/);
  if (found) ready(found[1]);
}));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(login);
  await page.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: 20_000 });

  // The thread, through the protocol: one question at a time, each to its final state.
  const threadId = await page.evaluate(async ({ questions, answers }) => {
    const socket = new WebSocket(`ws://${location.host}/ws?token=${localStorage.getItem("skein.token")}`);
    await new Promise((open) => { socket.onopen = open; });
    let thread = null;
    for (let i = 0; i < answers; i++) {
      await new Promise((done) => {
        socket.onmessage = (event) => {
          const message = JSON.parse(event.data);
          if (message.event === "initializeThread") thread = message.payload.id;
          if (message.event === "updateThreadState" && message.route === "/threads/post") done();
        };
        socket.send(JSON.stringify({ route: "/threads/post", request_id: `q${i}`,
          data: { prompt: questions[i % questions.length], thread_id: thread } }));
      });
    }
    socket.close();
    return thread;
  }, { questions: QUESTIONS, answers: ANSWERS });

  await page.reload();
  await page.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: 20_000 });
  await page.locator(`#thread-list li[data-thread-id="${threadId}"]`).waitFor();
  const paints = [];
  const charts = [];
  for (let run = 0; run < Number(args.runs); run++) {
    await page.getByRole("button", { name: "New question" }).click();
    const timing = await page.evaluate(({ id, answers }) => new Promise((done) => {
      const start = performance.now();
      let painted = null;
      document.querySelector(`#thread-list li[data-thread-id="${id}"]`).click();
      const check = () => {
        if (painted === null && document.querySelectorAll("article.message").length === answers) {
          // The frame after the messages are in the page has been painted.
          requestAnimationFrame(() => setTimeout(() => { painted = performance.now() - start; }));
        }
        const onScreen = [...document.querySelectorAll("figure.chart")]
          .filter((figure) => figure.getBoundingClientRect().top < innerHeight);
        const drawn = onScreen.length > 0 && onScreen.every((figure) => figure.dataset.state !== "drawing");
        if (painted !== null && drawn) done({ painted, charts: performance.now() - start });
        else requestAnimationFrame(check);
      };
      requestAnimationFrame(check);
    }), { id: threadId, answers: ANSWERS });
    paints.push(timing.painted);
    charts.push(timing.charts);
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const report = {
    answers: ANSWERS,
    runs: paints.length,
    first_paint_ms_median: Math.round(median(paints)),
    first_paint_ms: paints.map(Math.round),
    charts_on_screen_drawn_ms_median: Math.round(median(charts)),
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  await browser.close();
  server.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
