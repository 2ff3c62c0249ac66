// The same basket decided in headless Chromium (the WebAssembly build) and natively: the
// pharmacy example and the five-line Gold basket of the native benchmarks
// (crates/core/benches/common/pharmacy-context.json). Run after scripts/test has built
// crates/wasm/www/pkg and installed playwright-core:
//
//   node crates/wasm/bench/chromium.mjs [EVALUATIONS]
//
// Chromium: the best of 5 rounds of EVALUATIONS calls of `program.evaluate` (the inputs cross the
// boundary as JavaScript objects each time, as a till's would). Native: `evaluate_loop` (release
// build) for the same number, best of 5, and again with JSON in and out each time. Prints all and
// the ratios.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, "../../..");
const www = path.resolve(here, "../www");
const require = createRequire(path.resolve(here, "../package.json"));
const { chromium } = require("playwright-core");
const count = Number(process.argv[2] ?? 20000);
const context = JSON.parse(await readFile(path.join(root, "crates/core/benches/common/pharmacy-context.json"), "utf8"));

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };
const server = createServer(async (request, response) => {
  const wanted = new URL(request.url, "http://localhost").pathname;
  const file = path.join(www, wanted === "/" ? "index.html" : wanted);
  let body;
  try {
    body = await readFile(file);
  } catch {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
  response.end(body);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${server.address().port}/`);
await page.waitForSelector("body[data-ready=true]");
const browserNs = await page.evaluate(
  async ({ context, count }) => {
    const { compile, examples } = await import("./pkg/puntos_wasm.js");
    const { program } = compile(examples().find((e) => e.name === "pharmacy").source);
    const { transaction, customer, account } = context;
    const points = program.previewBasket(transaction, customer, account).points;
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      const start = performance.now();
      for (let i = 0; i < count; i++) program.evaluate(transaction, customer, account);
      best = Math.min(best, ((performance.now() - start) * 1e6) / count);
    }
    // A caller holding the context as JSON text: text in, the decision's text out.
    const text = JSON.stringify(context);
    let json = Infinity;
    for (let round = 0; round < 5; round++) {
      const start = performance.now();
      for (let i = 0; i < count; i++) program.evaluateJson(text);
      json = Math.min(json, ((performance.now() - start) * 1e6) / count);
    }
    let core = Infinity;
    for (let round = 0; round < 5; round++) {
      const start = performance.now();
      program.evaluateRepeatedly(transaction, customer, account, count);
      core = Math.min(core, ((performance.now() - start) * 1e6) / count);
    }
    return { ns: best, json, core, points };
  },
  { context, count },
);
await browser.close();
server.close();

execFileSync("cargo", ["build", "--release", "-q", "-p", "puntos", "--example", "evaluate_loop"], { cwd: root, stdio: "inherit" });
const targetDir = JSON.parse(execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], { cwd: root })).target_directory;
// The native loop, best of 5: ns per evaluation and the points of one. With `json`, each round
// reads the context from its JSON text and writes the decision as JSON: the native counterpart
// of a call whose inputs and decision cross as objects.
function native(...mode) {
  let best = Infinity;
  let points = "";
  for (let round = 0; round < 5; round++) {
    const out = execFileSync(path.join(targetDir, "release/examples/evaluate_loop"), ["pharmacy", String(count), ...mode]).toString();
    // "pharmacy: N decisions, P points in all, 2.9µs each"
    const [, total, value, unit] = out.match(/, (\d+) points in all, ([\d.]+)(ns|µs|ms) each/);
    points = String(BigInt(total) / BigInt(count));
    best = Math.min(best, Number(value) * { ns: 1, "µs": 1e3, ms: 1e6 }[unit]);
  }
  return { ns: best, points };
}
const { ns: nativeNs, points: nativePoints } = native();
const { ns: nativeJsonNs } = native("json");
console.log(`pharmacy, the five-line Gold basket, ${count} evaluations, best of 5:`);
console.log(`  Chromium (WebAssembly, inputs crossing as objects): ${(browserNs.ns / 1000).toFixed(2)} µs per evaluation, ${browserNs.points} points`);
console.log(`  Chromium, the decision alone (evaluateRepeatedly: inputs read once): ${(browserNs.core / 1000).toFixed(2)} µs per evaluation`);
console.log(`  native (evaluate_loop, release): ${(nativeNs / 1000).toFixed(2)} µs per evaluation, ${nativePoints} points`);
console.log(`  Chromium, evaluateJson (the context's JSON text in, the decision's out): ${(browserNs.json / 1000).toFixed(2)} µs per evaluation`);
console.log(`  native, the context read from JSON and the decision written as JSON: ${(nativeJsonNs / 1000).toFixed(2)} µs per evaluation`);
console.log(`  ratio evaluateJson / native JSON in and out: ${(browserNs.json / nativeJsonNs).toFixed(2)}x (target 3x or better)`);
console.log(`  ratio Chromium / native: ${(browserNs.core / nativeNs).toFixed(2)}x for the decision alone, ${(browserNs.ns / nativeJsonNs).toFixed(2)}x for the call with its inputs and decision crossing (against native JSON in and out), ${(browserNs.ns / nativeNs).toFixed(2)}x the call against the decision alone (target 3x or better)`);
if (browserNs.points !== nativePoints) {
  console.error("the two builds disagree on the points");
  process.exit(1);
}
