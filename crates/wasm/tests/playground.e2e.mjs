// The playground end to end in a real headless Chromium (Debian's, driven by playwright-core):
// served on localhost, an error typed into the editor shows its diagnostic and squiggle, fixing
// it compiles, a basket is evaluated and its points read, and a screenshot is saved.
//
//   node --test tests/playground.e2e.mjs      (CHROMIUM=/path/to/chromium, SCREENSHOT=file.png)
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import os from "node:os";
import { chromium } from "playwright-core";

const here = path.dirname(new URL(import.meta.url).pathname);
const www = path.resolve(here, "../www");
const require = createRequire(import.meta.url);
const node = require(path.resolve(here, "../pkg-node/puntos_wasm.js"));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };

let server;
let browser;
let url;

before(async () => {
  server = createServer(async (request, response) => {
    const wanted = new URL(request.url, "http://localhost").pathname;
    const file = path.join(www, wanted === "/" ? "index.html" : wanted);
    if (!file.startsWith(www)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

test("type an error, see it, fix it, evaluate a basket, read the points", async () => {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]");
  assert.equal(await page.getAttribute("body", "data-compiles"), "true", "the first example compiles");
  assert.equal(await page.locator("#diagnostics li").count(), 0);

  // An error typed at the end of the program.
  await page.click("#editor");
  await page.keyboard.press("Control+End");
  await page.keyboard.type("\nrule broken {\n  on purchase\n  earn 5 pointz\n}\n");
  const diagnostic = page.locator('#diagnostics li[data-code="P0001"]');
  await diagnostic.waitFor();
  assert.match(await diagnostic.textContent(), /error\[P0001\]: expected .*unexpected `pointz`.*help: did you mean `points`\?/s);
  assert.equal(await page.getAttribute("body", "data-compiles"), "false");
  assert.equal(await page.locator(".squiggle.error").first().textContent(), "pointz");

  // Fixed: clicking the diagnostic selects its span; typing replaces it.
  await diagnostic.click();
  await page.keyboard.type("points");
  await page.waitForSelector("body[data-compiles=true]");
  assert.equal(await page.locator("#diagnostics li.error").count(), 0);

  // The default basket, evaluated: the browser's figures are the core's.
  await page.click("#evaluate");
  const points = await page.textContent("#points");
  const explanation = await page.textContent("#explanation");
  assert.match(explanation, /earn 5 points from rule broken/);
  const source = await page.inputValue("#editor");
  const expected = node.compile(source).program.previewBasket(
    {
      id: "PLAY-1",
      time: "2026-03-14T12:30:00+03:00",
      lines: [
        { sku: "VIT-C-500", category: "vitamins", unit_price: "899.00", quantity: "2" },
        { sku: "OTC-IBU-200", category: "otc", unit_price: "312.50", quantity: "1" },
        { sku: "TOB-PM-20", category: "tobacco", unit_price: "289.00", quantity: "1" },
      ],
    },
    { birth_date: "1960-05-20" },
    { available: "1240", spend: { "12 months": "35000", "90 days": "35000", "30 days": "35000" } },
  );
  assert.equal(points, expected.points);
  assert.equal(explanation, expected.lines.join("\n"));
  // Base 179 + 31, Gold 50% of 210 = 105, vitamin month 358, senior weekend 210, broken 5.
  assert.equal(points, "888");

  // Money typed with a fraction stays exact text all the way through.
  await page.fill("#redeem", "100.5");
  await page.click("#evaluate");
  assert.match(await page.textContent("#error"), /transaction\.redeem/);

  const screenshot = process.env.SCREENSHOT ?? path.join(os.tmpdir(), "puntos-playground.png");
  await page.fill("#redeem", "");
  await page.click("#evaluate");
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.ok((await stat(screenshot)).size > 20_000, `a screenshot in ${screenshot}`);
  assert.deepEqual(problems, [], "no script errors on the page");
});

test("the format button formats, and the examples load", async () => {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]");
  await page.selectOption("#example", "bank");
  await page.waitForFunction(() => document.querySelector("#status").textContent.includes("Horizon Rewards"));
  await page.fill("#editor", 'program "P" {currency RUB timezone "Europe/Moscow"}\nrule a {on purchase earn 5 points}');
  await page.click("#format");
  assert.equal(await page.inputValue("#editor"), node.format('program "P" {currency RUB timezone "Europe/Moscow"}\nrule a {on purchase earn 5 points}'));
});
