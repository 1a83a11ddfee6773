// The web UI in a real browser: Debian's Chromium driven by playwright-core, against the real
// server binary on a temporary data dir (and, under scripts/with-postgres, a database of its
// own). Screenshots of the main screens go to ./output/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { randomUUID } from "node:crypto";
import { join, resolve } from "node:path";
import net from "node:net";
import { chromium } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = process.env.SKEIN_BIN || join(ROOT, "target/debug/skein");
const OUTPUT = join(import.meta.dirname, "output");
const PATIENCE = 20_000;

mkdirSync(OUTPUT, { recursive: true });

/// A free loopback port, so a restarted server can come back on the same address.
function freePort() {
  return new Promise((done) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

/// `--database URL` of a fresh database when the run is on PostgreSQL (SKEIN_TEST_POSTGRES),
/// else nothing.
function databaseFlags() {
  const admin = process.env.SKEIN_TEST_POSTGRES;
  if (!admin) return [];
  const name = `skein_ui_${randomUUID().replaceAll("-", "")}`;
  execFileSync("psql", [admin, "-q", "-c", `CREATE DATABASE ${name}`]);
  return ["--database", `${admin.slice(0, admin.lastIndexOf("/"))}/${name}`];
}

class Server {
  static async start() {
    const server = new Server();
    server.dir = mkdtempSync(join(tmpdir(), "skein-ui-"));
    server.places = ["--data-dir", join(server.dir, "data"), ...databaseFlags()];
    server.port = await freePort();
    server.addr = `127.0.0.1:${server.port}`;
    await server.launch();
    return server;
  }

  launch() {
    return new Promise((ready, fail) => {
      this.child = spawn(BIN, ["serve", "--addr", this.addr, ...this.places], {
        env: { ...process.env, SKEIN_LOG: "warn" },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      this.child.stdout.on("data", (chunk) => {
        out += chunk;
        const login = out.match(/login: (\S+)/);
        if (login) this.loginUrl = login[1];
        if (/^(login:|sign in)/m.test(out)) ready();
      });
      this.child.on("exit", (code) => fail(new Error(`server exited with ${code}`)));
    });
  }

  async stop() {
    const exited = new Promise((done) => this.child.once("exit", done));
    this.child.kill("SIGTERM");
    await exited;
  }

  cli(...args) {
    return execFileSync(BIN, [...this.places, ...args], { encoding: "utf8" });
  }

  url(path = "/") {
    return `http://${this.addr}${path}`;
  }
}

let browser;
let server;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  server = await Server.start();
});

after(async () => {
  await browser?.close();
  if (server) {
    await server.stop().catch(() => {});
    rmSync(server.dir, { recursive: true, force: true });
  }
});

async function signedInPage(context) {
  const page = await context.newPage();
  await page.goto(server.loginUrl);
  await page.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: PATIENCE });
  return page;
}

async function askQuestion(page, question) {
  await page.getByRole("textbox", { name: "Question", exact: true }).fill(question);
  await page.getByRole("button", { name: "Ask" }).click();
}

test("a page without a valid token shows the sign-in form; the login link signs in", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url());
  await page.getByLabel("Access token").waitFor({ timeout: PATIENCE });
  await page.screenshot({ path: join(OUTPUT, "sign-in.png") });

  await page.getByLabel("Access token").fill("skn_not_a_real_token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "not valid" }).waitFor({ timeout: PATIENCE });

  await page.goto(server.loginUrl);
  await page.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: PATIENCE });
  assert.ok(!page.url().includes("token="), "the token leaves the address bar");
  assert.match(await page.evaluate(() => localStorage.getItem("skein.token")), /^skn_/);
  await page.getByText("Admin · Local").waitFor();
  // Coming back later needs no link.
  await page.goto(server.url());
  await page.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: PATIENCE });
  await context.close();
});

test("asking a question streams the steps and shows chart, table and SQL; follow-ups work", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signedInPage(context);
  await page.getByLabel("Dataset", { exact: true }).locator("option", { hasText: "Sales Dataset" }).waitFor({ state: "attached" });
  assert.equal(await page.getByLabel("Dataset", { exact: true }).inputValue(), "", "the picker defaults to auto");
  assert.equal(await page.getByLabel("Dataset", { exact: true }).locator("option:checked").innerText(), "auto");
  await askQuestion(page, "total sales by month");

  const message = page.locator("article.message").first();
  // Once answered, the steps fold into a disclosure.
  await message.locator("details.how").waitFor({ timeout: PATIENCE });
  assert.equal(await message.locator(".steps").isVisible(), false, "folded once answered");
  await message.getByText("How this was computed").click();
  for (const step of ["Dataset", "Terms", "SQL", "Data", "Explanation", "Time frame", "Title", "Summary"]) {
    await message.locator(".steps li", { hasText: `${step}: done` }).waitFor();
  }
  await message.getByText("Total Sales by Month").first().waitFor();
  assert.equal(await message.locator("figure.chart").getAttribute("data-chart-type"), "line");
  await message.locator('figure.chart[data-state="drawn"]').waitFor({ timeout: PATIENCE });
  assert.equal(await message.locator("figure.chart g.mark-line path").count(), 1, "one series");
  assert.equal(await message.locator("table tbody tr").count(), 36);
  await message.getByText("36 rows").waitFor();
  const sql = message.getByLabel("SQL");
  assert.match(await sql.innerText(), /SUM\(total_sales_amount\)/);
  assert.ok(await sql.locator(".kw").count() > 3, "SQL keywords are highlighted");
  assert.match(await message.locator(".summary").innerText(), /Over 36 months, total sales came to \$3,689,352\.27/);
  // What was computed, from which dataset, stated above the chart.
  const computed = message.getByLabel("What was computed");
  assert.match(await computed.innerText(), /^Computed: Total of total_sales_amount, for each month of order_date\. Dataset: Sales Dataset$/);
  assert.ok(await computed.evaluate((node) =>
    Boolean(node.compareDocumentPosition(node.parentNode.querySelector("figure.chart")) & Node.DOCUMENT_POSITION_FOLLOWING)),
    "the interpretation comes before the chart");
  // The sidebar shows the thread under its metric title.
  await page.locator("#thread-list li", { hasText: "Total Sales by Month" }).waitFor({ timeout: PATIENCE });
  await page.screenshot({ path: join(OUTPUT, "answer.png"), fullPage: true });

  // Sorting the table by a column.
  await message.locator("th button", { hasText: "total_sales" }).click();
  await message.locator("th button", { hasText: "total_sales ▲" }).waitFor();

  // A follow-up in the same thread, scrolled into view (the first answer is taller than the
  // window) and kept there while it streams.
  await askQuestion(page, "now only for the West region");
  const second = page.locator("article.message").nth(1);
  await second.locator("details.how").waitFor({ timeout: PATIENCE });
  await second.getByText("Total Sales for West by Month").first().waitFor();
  const pane = await page.locator("#main").boundingBox();
  const asked = await second.boundingBox();
  assert.ok(asked.y >= pane.y - 1 && asked.y < pane.y + pane.height / 2,
    `the follow-up's question is on screen: ${JSON.stringify({ asked, pane })}`);
  await page.screenshot({ path: join(OUTPUT, "follow-up.png") });
  assert.equal(await second.locator("table tbody tr").count(), 36);
  // Updates leave out the steps of answers they did not change; the first answer keeps its own.
  assert.equal(await message.locator(".steps li", { hasText: ": done" }).count(), 8);
  await message.getByLabel("What was computed").waitFor();
  assert.equal(await message.locator("table tbody tr").count(), 36);

  // Opened afresh, the thread's state leaves out the first (finished) answer's steps and rows:
  // the page fetches its rows (/threads/data), so the table and chart show all 36 again, and
  // its steps (/threads/message) when "How this was computed" is opened.
  const fresh = await signedInPage(context);
  await fresh.locator("#thread-list li", { hasText: "Total Sales" }).first().click();
  const reopened = fresh.locator("article.message").first();
  await reopened.locator("table tbody tr").nth(35).waitFor({ timeout: PATIENCE });
  assert.equal(await reopened.locator("table tbody tr").count(), 36);
  await reopened.locator('figure.chart[data-state="drawn"]').waitFor({ timeout: PATIENCE });
  assert.equal(await reopened.locator("figure.chart g.mark-line path").count(), 1);
  assert.equal(await reopened.locator(".steps li").count(), 0, "not fetched until asked for");
  await reopened.getByText("How this was computed").click();
  await reopened.locator(".steps li", { hasText: "Summary: done" }).waitFor({ timeout: PATIENCE });
  assert.equal(await reopened.locator(".steps li", { hasText: ": done" }).count(), 8);
  await context.close();
});

test("a thread created in another tab appears in the list without reloading", async () => {
  const context = await browser.newContext();
  const watcher = await signedInPage(context);
  const other = await signedInPage(context);
  await askQuestion(other, "how many orders in 2023");
  await watcher.locator("#thread-list li", { hasText: "Number of Orders" }).waitFor({ timeout: PATIENCE });
  await context.close();
});

test("search finds past answers and opens the thread at that message", async () => {
  const context = await browser.newContext();
  const page = await signedInPage(context);
  await askQuestion(page, "show me my top customer");
  await page.locator("article.message details.how").first().waitFor({ timeout: PATIENCE });

  await page.getByRole("button", { name: "New question" }).click();
  const deadline = Date.now() + PATIENCE;
  let found = 0;
  while (!found && Date.now() < deadline) {
    await page.getByLabel("Search past conversations").fill("QUICK-Stop top customer");
    await page.getByLabel("Search past conversations").press("Enter");
    await page.locator("#search-results").waitFor();
    found = await page.locator("#results li[data-message-id]", { hasText: "show me my top customer" }).count();
    if (!found) await page.waitForTimeout(100);
  }
  assert.ok(found, "the answer is found");
  assert.ok(await page.locator("#results mark").count() > 0, "the matching words are marked");
  // Hits are grouped under their thread's title and date, with the answer's title and summary.
  const group = page.locator("#results .result-thread", { hasText: "show me my top customer" }).first();
  assert.equal(await group.locator("h3").innerText(), "Top Customer by Total Sales");
  assert.ok(await group.locator("time").getAttribute("datetime"), "dated");
  await group.locator(".answer-title", { hasText: "Top Customer by Total Sales" }).waitFor();
  assert.match(await group.locator(".summary").first().innerText(), /\$[\d,]+\.\d\d/, "the headline number");
  await page.screenshot({ path: join(OUTPUT, "search.png") });
  await page.locator("#results li[data-message-id]", { hasText: "show me my top customer" }).first().click();
  await page.locator("article.message.highlight", { hasText: "show me my top customer" }).waitFor({ timeout: PATIENCE });
  await page.getByRole("heading", { name: "Top Customer by Total Sales" }).waitFor();
  await context.close();
});

test("a bad request shows a readable error", async () => {
  const context = await browser.newContext();
  const page = await signedInPage(context);
  await askQuestion(page, "x".repeat(10_001));
  await page.getByRole("alert").filter({ hasText: "prompt is 10001 characters; the limit is 10000" }).waitFor({ timeout: PATIENCE });
  // A question the analyst cannot answer: the failed step, and why, in the thread.
  await page.getByRole("button", { name: "New question" }).click();
  await askQuestion(page, "what is the meaning of life");
  const message = page.locator("article.message").first();
  await message.locator(".steps li", { hasText: "SQL: failed" }).waitFor({ timeout: PATIENCE });
  await message.getByRole("alert").filter({ hasText: "Questions that work look like" }).waitFor();
  await page.screenshot({ path: join(OUTPUT, "error.png") });
  await context.close();
});

test("the UI says it is offline while the server is down and recovers after a restart", async () => {
  const context = await browser.newContext();
  const page = await signedInPage(context);
  await page.locator("#thread-list li").first().waitFor({ timeout: PATIENCE });
  const threads = await page.locator("#thread-list li").count();

  await server.stop();
  await page.getByRole("status").filter({ hasText: "Offline" }).waitFor({ timeout: PATIENCE });
  await page.screenshot({ path: join(OUTPUT, "offline.png") });
  await server.launch();
  await page.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: PATIENCE });
  await page.waitForFunction((n) => document.querySelectorAll("#thread-list li").length === n, threads, { timeout: PATIENCE });
  await context.close();
});

test("rename, verify, feedback, edit SQL and delete a thread", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signedInPage(context);
  await askQuestion(page, "sales by region");
  const message = page.locator("article.message").first();
  await message.locator("details.how").waitFor({ timeout: PATIENCE });

  // Rename, by keyboard.
  await page.getByRole("button", { name: "Rename" }).click();
  await page.getByLabel("Thread title").fill("Regional revenue");
  await page.getByLabel("Thread title").press("Enter");
  await page.getByRole("heading", { name: "Regional revenue" }).waitFor({ timeout: PATIENCE });
  await page.locator("#thread-list li", { hasText: "Regional revenue" }).waitFor({ timeout: PATIENCE });

  // Verify, and thumbs up.
  await message.getByLabel("Verification status").selectOption("verified");
  await page.locator("#thread-list li", { hasText: "Regional revenue" }).locator(".badge.verified").waitFor({ timeout: PATIENCE });
  const thumbsUp = message.getByRole("button", { name: "Thumbs up" });
  assert.equal(await thumbsUp.locator("svg.icon").count(), 1, "a drawn thumbs icon");
  assert.equal(await thumbsUp.innerText(), "Helpful", "with a label");
  await thumbsUp.click();
  await page.locator('article.message button.feedback[aria-label$="(thumbs up)"][aria-pressed="true"]').waitFor({ timeout: PATIENCE });

  // The SQL sits in "How this was computed", with each step's timing.
  await message.getByText("How this was computed").click();
  assert.match(await message.locator("details.how summary").innerText(), /How this was computed · [\d.,]+ (ms|s)$/);
  assert.match(await message.locator('.steps li[data-step="fetchingData"]').innerText(), /^Data: done · [\d.,]+ (ms|s)$/);
  await message.locator("details.how").getByLabel("SQL").waitFor();

  // Edit SQL: a bad statement says why and changes nothing; a good one re-runs.
  await message.getByRole("button", { name: "Edit SQL" }).click();
  await page.getByLabel("Edit SQL").fill("SELECT nothing_like_this FROM sales_summary");
  await page.getByRole("button", { name: "Run and save" }).click();
  await page.getByRole("alert").filter({ hasText: "no such column" }).waitFor({ timeout: PATIENCE });
  await page.getByLabel("Edit SQL").fill("SELECT region, COUNT(*) AS orders FROM sales_summary GROUP BY region ORDER BY region");
  await page.getByRole("button", { name: "Run and save" }).click();
  await page.locator("article.message").first().getByLabel("SQL").filter({ hasText: "COUNT(*) AS orders" }).waitFor({ timeout: PATIENCE });
  await page.locator("article.message").first().locator(".cap-note", { hasText: "5 rows" }).waitFor({ timeout: PATIENCE });
  // The analyst's words described the old SQL: the answer now says what the edit returned.
  assert.equal(await page.locator("article.message").first().locator(".summary").innerText(), "The edited SQL returned 5 rows.");
  assert.match(await page.locator("article.message").first().getByLabel("What was computed").innerText(), /as edited by hand/);
  // The chart follows the new columns.
  await page.locator('article.message .chart-view[aria-label$="bar chart of orders by region"]').waitFor({ timeout: PATIENCE });
  assert.equal(await page.locator("article.message").first().locator("figure.chart g.mark-rect path").count(), 5);
  await page.screenshot({ path: join(OUTPUT, "edited.png"), fullPage: true });

  // Delete, after confirming.
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  await page.getByRole("button", { name: "Delete thread" }).click();
  await page.getByText("Thread deleted.").waitFor({ timeout: PATIENCE });
  assert.equal(await page.locator("#thread-list li", { hasText: "Regional revenue" }).count(), 0);
  await context.close();
});

test("sharing shows the thread to the other user live, and both see each other present", async () => {
  const added = server.cli("user", "add", "--name", "Blake", "--email", "blake@example.com");
  const blakeToken = added.match(/token: (\S+)/)[1];
  const owner = await signedInPage(await browser.newContext());
  const blakeContext = await browser.newContext();
  const blake = await blakeContext.newPage();
  await blake.goto(server.url(`/?token=${blakeToken}`));
  await blake.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: PATIENCE });

  await askQuestion(owner, "top 5 customers by sales");
  await owner.locator("article.message details.how").waitFor({ timeout: PATIENCE });
  await owner.getByRole("button", { name: "Share" }).click();
  await owner.getByLabel("Email").fill("blake@example.com");
  await owner.getByLabel("Role").selectOption("viewer");
  await owner.getByRole("button", { name: "Share", exact: true }).last().click();
  await owner.getByText("Shared with blake@example.com as viewer.").waitFor({ timeout: PATIENCE });

  const item = blake.locator("#thread-list li", { hasText: "Top 5 Customers" });
  await item.waitFor({ timeout: PATIENCE });
  await item.click();
  await blake.getByText("Also here: Admin").waitFor({ timeout: PATIENCE });
  await owner.getByText("Also here: Blake").waitFor({ timeout: PATIENCE });
  await owner.screenshot({ path: join(OUTPUT, "presence.png") });

  // Changes by one reach the other live: the owner renames, Blake's page follows.
  await owner.getByRole("button", { name: "Rename" }).click();
  await owner.getByLabel("Thread title").fill("Best customers");
  await owner.getByLabel("Thread title").press("Enter");
  await blake.getByRole("heading", { name: "Best customers" }).waitFor({ timeout: PATIENCE });
  await blake.locator("#thread-list li", { hasText: "Best customers" }).waitFor({ timeout: PATIENCE });

  // Blake leaves: the owner sees it.
  await blakeContext.close();
  await owner.waitForFunction(() => !document.getElementById("presence").textContent.includes("Blake"), null, { timeout: PATIENCE });
});

test("the thread list pages in as it scrolls, and works by keyboard", async () => {
  // 120 more threads, written into the data dir while the server is stopped (benchmark code
  // never runs inside the server); it picks them up as it starts again.
  const corpus = join(server.dir, "corpus");
  mkdirSync(corpus, { recursive: true });
  writeFileSync(join(corpus, "docs.jsonl"), '{"id": "1", "title": "paging check", "text": "a thread for paging . more text"}\n');
  writeFileSync(join(corpus, "queries.jsonl"), '{"id": "1", "text": "paging"}\n');
  writeFileSync(join(corpus, "qrels.tsv"), "query_id\tdoc_id\trelevance\n1\t1\t1\n");
  await server.stop();
  server.cli("bench", "seed", "--corpus", corpus, "--messages", "120");
  await server.launch();

  const context = await browser.newContext();
  const page = await signedInPage(context);
  const items = page.locator("#thread-list li");
  await page.waitForFunction(() => document.querySelectorAll("#thread-list li").length === 50, null, { timeout: PATIENCE });
  for (let round = 0; round < 10 && (await items.count()) < 120; round++) {
    await page.locator("#sidebar").evaluate((sidebar) => { sidebar.scrollTop = sidebar.scrollHeight; });
    await page.waitForTimeout(200);
  }
  const count = await items.count();
  assert.ok(count >= 120, `scrolling loaded more pages (${count} threads listed)`);
  const ids = await items.evaluateAll((nodes) => nodes.map((n) => n.dataset.threadId));
  assert.equal(new Set(ids).size, ids.length, "no thread is listed twice");

  // By keyboard: focus a thread and press Enter.
  const first = items.first();
  const title = (await first.locator(".title").innerText()).trim();
  await first.focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: title }).waitFor({ timeout: PATIENCE });
  await context.close();
});

test("a narrow window still shows the list, the thread and the question box", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await signedInPage(context);
  await page.locator("#thread-list li").first().click();
  await page.locator("article.message").first().waitFor({ timeout: PATIENCE });
  for (const selector of ["#sidebar", "#thread-view", "#composer"]) {
    const box = await page.locator(selector).boundingBox();
    assert.ok(box && box.width <= 390 && box.width > 300, `${selector} fits the width`);
  }
  const main = await page.locator("#main").boundingBox();
  assert.ok(main.height >= 844 / 2, `the answer keeps at least half the height: ${main.height}`);
  await page.screenshot({ path: join(OUTPUT, "narrow.png") });
  await context.close();
});

test("values that look like HTML stay text, and the page runs under its security policy", async () => {
  // A dataset whose values are markup and script, as an attacker's CSV would have them.
  const csv = join(server.dir, "hostile.csv");
  writeFileSync(csv, [
    "name,amount",
    '"<img src=x onerror=""window.__pwned = 1"">",5',
    '"<script>window.__pwned = 2</script>",7',
    '"<b>bold</b>",3',
  ].join("\n") + "\n");
  server.cli("dataset", "add", "hostile", "--csv", csv);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const violations = [];
  const page = await context.newPage();
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  const response = await page.goto(server.loginUrl);
  const csp = response.headers()["content-security-policy"] || "";
  assert.match(csp, /script-src 'self'/);
  assert.equal(response.headers()["referrer-policy"], "no-referrer");
  await page.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: PATIENCE });

  const picker = page.getByLabel("Dataset", { exact: true });
  await picker.locator("option", { hasText: "hostile" }).waitFor({ state: "attached" });
  await picker.selectOption({ label: "hostile" });
  await askQuestion(page, "total amount by name");
  const message = page.locator("article.message").last();
  await message.locator("details.how").waitFor({ timeout: PATIENCE });

  const cells = await message.locator("table tbody td").allInnerTexts();
  assert.ok(cells.some((text) => text.includes("<img src=x")), `the markup shows as text: ${cells}`);
  assert.ok(cells.some((text) => text.includes("<script>")), `the script shows as text: ${cells}`);
  assert.equal(await message.locator("table img, table script, table b").count(), 0, "no markup became elements");
  assert.equal(await page.evaluate(() => window.__pwned), undefined, "no script of the data ran");
  assert.deepEqual(violations, [], "the UI itself needs nothing the policy forbids");
  await context.close();
});

/// Waits for every chart of `scope` to be drawn.
async function chartsDrawn(scope) {
  await scope.locator('figure.chart[data-state="drawn"]').first().waitFor({ timeout: PATIENCE });
  assert.equal(await scope.locator('figure.chart[data-state="failed"]').count(), 0);
}

/// axe-core's serious and critical findings on the page as it stands.
async function accessibilityProblems(page) {
  await page.evaluate(readFileSync(join(import.meta.dirname, "node_modules/axe-core/axe.min.js"), "utf8"));
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
}

test("the first screen offers each dataset's example questions, and one asks it", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signedInPage(context);
  const welcome = page.locator("#welcome");
  const chips = welcome.getByRole("group", { name: "Questions about Sales Dataset" }).getByRole("button");
  await chips.first().waitFor({ timeout: PATIENCE });
  assert.ok(await chips.count() >= 3);
  await page.screenshot({ path: join(OUTPUT, "welcome.png") });
  const question = await chips.first().innerText();
  await chips.first().click();
  const message = page.locator("article.message").first();
  await message.locator("details.how").waitFor({ timeout: PATIENCE });
  assert.equal(await message.locator(".question").innerText(), `Admin${question}`.replace("Admin", "Admin"));
  assert.equal(await welcome.isVisible(), false, "the first screen gives way to the thread");
  await context.close();
});

test("a refused question shows the words not understood, and a suggested question's chip asks it", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signedInPage(context);
  await page.getByRole("button", { name: "New question" }).click();
  await askQuestion(page, "total sales by zodiac sign");
  const refused = page.locator("article.message").first();
  const words = refused.getByLabel("Words not understood");
  await words.waitFor({ timeout: PATIENCE });
  assert.deepEqual(await words.locator("mark").allInnerTexts(), ["zodiac", "sign"]);
  const chip = refused.getByRole("group", { name: "Questions to ask instead" }).getByRole("button", { name: "sales by region" });
  await page.screenshot({ path: join(OUTPUT, "refused.png") });
  await chip.click();
  const answered = page.locator("article.message").nth(1);
  await answered.locator("details.how").waitFor({ timeout: PATIENCE });
  assert.match(await answered.locator(".question").innerText(), /sales by region$/);
  await answered.getByText("Total Sales by Region").first().waitFor();
  await chartsDrawn(answered);
  await context.close();
});

test("a CSV uploaded on the Datasets page is previewed, noted, asked about, replaced and removed", async () => {
  // Monthly temperatures of two cities: negative values, and two series.
  const csv = join(server.dir, "weather.csv");
  const lines = ["city,day,temperature"];
  for (let month = 1; month <= 12; month++) {
    for (const [city, base] of [["Oslo", -8], ["Lima", 20]]) {
      const value = base + 10 * Math.sin(((month - 1) / 12) * 2 * Math.PI);
      lines.push(`${city},2024-${String(month).padStart(2, "0")}-15,${value.toFixed(1)}`);
    }
  }
  writeFileSync(csv, lines.join("\n") + "\n");
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await signedInPage(context);
  await page.getByRole("button", { name: "Datasets" }).click();
  // Too big for one WebSocket frame: the page says where such files go, and sends nothing.
  const big = join(server.dir, "big.csv");
  writeFileSync(big, "n,text\n" + `1,${"x".repeat(100)}\n`.repeat(11_000));
  await page.getByLabel("CSV file").setInputFiles(big);
  await page.getByRole("button", { name: "Preview" }).click();
  await page.getByRole("alert").filter({ hasText: "skein dataset add NAME --csv FILE" }).waitFor({ timeout: PATIENCE });
  await page.getByLabel("Dataset name").fill("");
  await page.getByLabel("CSV file").setInputFiles(csv);
  await page.getByRole("button", { name: "Preview" }).click();
  const preview = page.getByLabel("Preview");
  await preview.getByText("24 rows").waitFor({ timeout: PATIENCE });
  assert.equal(await page.getByLabel("Role of day").inputValue(), "time");
  assert.equal(await page.getByLabel("Role of temperature").inputValue(), "measure");
  assert.equal(await page.getByLabel("Aggregation of temperature").inputValue(), "avg", "temperatures are averaged");
  await page.getByLabel("Unit of temperature").fill("°C");
  await page.screenshot({ path: join(OUTPUT, "dataset-preview.png"), fullPage: true });
  await page.getByRole("button", { name: "Add dataset" }).click();
  await page.getByRole("heading", { name: "weather" }).waitFor({ timeout: PATIENCE });
  assert.equal(await page.getByLabel("Unit of temperature").inputValue(), "°C");
  // Notes edited on the page are what the analyst reads from then on.
  await page.getByLabel("Meaning of temperature").fill("air temperature at noon");
  await page.getByLabel("Aggregation of temperature").selectOption("max");
  await page.getByRole("button", { name: "Save notes" }).click();
  await page.getByText("Notes saved.").waitFor({ timeout: PATIENCE });
  assert.equal(await page.getByLabel("Meaning of temperature").inputValue(), "air temperature at noon");
  assert.equal(await page.getByLabel("Aggregation of temperature").inputValue(), "max");
  await page.getByLabel("Aggregation of temperature").selectOption("avg");
  await page.getByRole("button", { name: "Save notes" }).click();
  await page.getByText("Notes saved.").nth(1).waitFor({ timeout: PATIENCE });
  await page.screenshot({ path: join(OUTPUT, "dataset.png"), fullPage: true });

  // Asked about: two series, below zero, with the unit on the axis.
  await page.getByRole("button", { name: "New question" }).click();
  await page.getByLabel("Dataset", { exact: true }).selectOption({ label: "weather" });
  await askQuestion(page, "average temperature by month for each city");
  const message = page.locator("article.message").first();
  await chartsDrawn(message);
  const chart = message.locator("figure.chart");
  assert.equal(await chart.locator("g.mark-line path").count(), 2, "one line per city");
  assert.deepEqual(await chart.locator("g.role-legend-label text").allTextContents(), ["Lima", "Oslo"]);
  const yAxis = chart.locator('g.role-axis[aria-label^="Y-axis"]');
  assert.match(await yAxis.getAttribute("aria-label"), /°C/);
  const ticks = await yAxis.locator("g.role-axis-label text").allTextContents();
  assert.ok(ticks.some((t) => /^[−-]\d/.test(t)), `negative ticks: ${ticks}`);
  // Every point is drawn inside the plot, above the x axis, not over its labels.
  const xAxis = await chart.locator('g.role-axis[aria-label^="X-axis"] g.role-axis-domain').boundingBox();
  for (const point of await chart.locator("g.mark-symbol path").all()) {
    const box = await point.boundingBox();
    assert.ok(box.y + box.height / 2 <= xAxis.y + 1, `a point below the axis: ${JSON.stringify(box)}`);
  }
  const ymax = Math.max(...ticks.map((t) => Number(t.replace("−", "-").replace(/,/g, ""))));
  assert.ok(Number.isInteger(ymax), `round ticks: ${ticks}`);
  await page.screenshot({ path: join(OUTPUT, "chart-two-series.png") });

  // Its rows download as CSV.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    chart.getByRole("button", { name: "Download the rows as CSV" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^average-temperature-by-month\.csv$/);
  const text = readFileSync(await download.path(), "utf8");
  assert.equal(text.split("\r\n")[0], "month,city,average_temperature");
  assert.equal(text.trim().split("\r\n").length, 25);

  // A single value shows its unit.
  await askQuestion(page, "average temperature");
  const single = page.locator("article.message").nth(1);
  await single.locator(".single").waitFor({ timeout: PATIENCE });
  assert.match(await single.locator(".single").innerText(), /^[\d.,]+ °C$/);

  // Replaced rows, then removed: the picker no longer offers it.
  writeFileSync(csv, "city,day,temperature\nRome,2024-01-15,9.5\n");
  await page.getByRole("button", { name: "Datasets" }).click();
  await page.getByRole("button", { name: "weather" }).click();
  await page.getByLabel("Replacement CSV").setInputFiles(csv);
  await page.getByRole("button", { name: "Replace data" }).click();
  await page.getByText("table weather · 1 rows").waitFor({ timeout: PATIENCE });
  await page.getByRole("button", { name: "Remove dataset" }).click();
  await page.locator("#remove-dataset-dialog").getByRole("button", { name: "Remove dataset" }).click();
  await page.getByText("Removed weather.").waitFor({ timeout: PATIENCE });
  await page.getByLabel("Datasets").getByRole("button", { name: "Sales Dataset" }).waitFor();
  assert.equal(await page.getByLabel("Dataset", { exact: true }).locator("option", { hasText: "weather" }).count(), 0);
  await context.close();
});

test("a member sees datasets without the controls to change them", async () => {
  const member = server.cli("user", "add", "--name", "Mo", "--email", "mo@example.com");
  const token = member.match(/token: (\S+)/)[1];
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url(`/?token=${token}`));
  await page.getByRole("status").filter({ hasText: "Online" }).waitFor({ timeout: PATIENCE });
  await page.getByRole("button", { name: "Datasets" }).click();
  await page.getByLabel("Datasets").getByRole("button", { name: "Sales Dataset" }).click();
  await page.getByRole("heading", { name: "Sales Dataset" }).waitFor({ timeout: PATIENCE });
  assert.equal(await page.getByLabel("Add a dataset").count(), 0);
  assert.equal(await page.getByRole("button", { name: "Save notes" }).count(), 0);
  assert.ok(await page.getByLabel("Unit of total_sales_amount").isDisabled());
  await context.close();
});

test("dark mode follows the system, and the main screens have no serious accessibility problems", async () => {
  for (const colorScheme of ["light", "dark"]) {
    // The test injects axe-core, which the page's own policy would refuse.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme, bypassCSP: true });
    const page = await signedInPage(context);
    await page.locator("#welcome .chip").first().waitFor({ timeout: PATIENCE });
    assert.deepEqual(await accessibilityProblems(page), [], `${colorScheme} first screen`);
    await askQuestion(page, "total sales by month for each region");
    await chartsDrawn(page.locator("article.message").first());
    const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const [r, g, b] = background.match(/\d+/g).map(Number);
    const light = (r + g + b) / 3 > 128;
    assert.equal(light, colorScheme === "light", `${colorScheme}: background ${background}`);
    assert.deepEqual(await accessibilityProblems(page), [], `${colorScheme} answer`);
    await page.screenshot({ path: join(OUTPUT, `answer-${colorScheme}.png`) });
    await page.getByRole("button", { name: "Datasets" }).click();
    await page.getByLabel("Add a dataset").waitFor();
    assert.deepEqual(await accessibilityProblems(page), [], `${colorScheme} datasets page`);
    await context.close();
  }
});

test("the UI is native ES modules of at most 400 lines, with no copy of the analyst's steps", () => {
  const dir = join(ROOT, "assets/ui");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".js"))) {
    const text = readFileSync(join(dir, file), "utf8");
    assert.ok(text.split("\n").length <= 400, `${file} has ${text.split("\n").length} lines`);
    // Step names and labels come from /analyst/steps.
    assert.ok(!/"Time frame"|"Explanation"/.test(text), `${file} lists the steps' labels itself`);
  }
  assert.match(readFileSync(join(dir, "index.html"), "utf8"), /<script type="module" src="\/assets\/main.js">/);
});

test("bars stack only values that add up; tooltips, PNG downloads and the row cap", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await signedInPage(context);
  await page.getByRole("button", { name: "New question" }).click();
  await askQuestion(page, "total sales by region for each product");
  const stacked = page.locator("article.message").first();
  await chartsDrawn(stacked);
  assert.equal(await stacked.locator("figure.chart").getAttribute("data-chart-type"), "stacked_bar");
  assert.equal(await stacked.locator("figure.chart g.mark-rect path").count(), 70, "5 regions × 14 products");
  assert.equal(await stacked.locator("figure.chart g.role-legend-symbol path").count(), 14);
  await page.screenshot({ path: join(OUTPUT, "chart-stacked.png") });
  // Averages do not add up: side by side.
  await askQuestion(page, "average sales by region for each product");
  const grouped = page.locator("article.message").nth(1);
  await chartsDrawn(grouped);
  assert.equal(await grouped.locator("figure.chart").getAttribute("data-chart-type"), "bar");
  const bars = grouped.locator("figure.chart g.mark-rect path");
  assert.equal(await bars.count(), 70);
  const widths = await bars.evaluateAll((paths) => paths.slice(0, 2).map((p) => p.getBBox().x));
  assert.notEqual(widths[0], widths[1], "bars of one region stand side by side");

  // A tooltip names the point (the series once) with the measure exact in its unit.
  await bars.first().hover();
  const tooltip = page.locator("#vg-tooltip-element.visible");
  await tooltip.waitFor({ timeout: PATIENCE });
  const lines = (await tooltip.innerText()).split("\n");
  assert.equal(lines.length, 3, lines.join(" | "));
  assert.match(lines[0], /^Region\t\S/);
  assert.match(lines[1], /^Average Sales\t\$[\d,]+\.\d\d$/);
  assert.match(lines[2], /^Product\t\S/);
  const [png] = await Promise.all([
    page.waitForEvent("download"),
    grouped.getByRole("button", { name: "Download the chart as PNG" }).click(),
  ]);
  assert.match(png.suggestedFilename(), /\.png$/);
  const bytes = readFileSync(await png.path());
  assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG file");

  // Thirty customers, 158 weeks: the labels shown never overlap.
  for (const [index, question] of [[2, "total sales by customer"], [3, "total sales by week"]]) {
    await askQuestion(page, question);
    const answer = page.locator("article.message").nth(index);
    await chartsDrawn(answer);
    const boxes = await answer.locator('figure.chart g.role-axis[aria-label^="X-axis"] g.role-axis-label text')
      .evaluateAll((labels) => labels
        .filter((label) => getComputedStyle(label).opacity !== "0" && label.getAttribute("opacity") !== "0")
        .map((label) => label.getBoundingClientRect())
        .map(({ left, right, top, bottom }) => ({ left, right, top, bottom })));
    assert.ok(boxes.length >= 3, `${question}: ${boxes.length} labels`);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i], boxes[j]];
        const overlap = a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
        assert.ok(!overlap, `${question}: labels ${i} and ${j} overlap`);
      }
    }
  }
  await page.screenshot({ path: join(OUTPUT, "chart-many-labels.png") });

  // Over the row cap: the answer says the chart and table hold the first 1,000 rows.
  await askQuestion(page, "total sales by day");
  const capped = page.locator("article.message").nth(4);
  await capped.locator("details.how").waitFor({ timeout: PATIENCE });
  await capped.getByRole("note").filter({ hasText: "more than 1,000 rows" }).waitFor();
  assert.match(await capped.locator(".summary").innerText(), /figures cover all of them/);
  await context.close();
});
