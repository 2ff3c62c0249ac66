// Every step of the example programs' scenario suites, decided by the WebAssembly build, gives
// the native decision byte for byte (its JSON, trace included) or the same refusal. The native
// side is `puntos test examples/ --record FILE` (scripts/test writes it and names it in
// $PUNTOS_SCENARIO_RECORD); each line holds the program file that decided, the context and
// the native decision or error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);
const here = path.dirname(new URL(import.meta.url).pathname);
const puntos = require(process.env.PUNTOS_WASM_NODE ?? path.resolve(here, "../pkg-node/puntos_wasm.js"));
const root = path.resolve(here, "../../..");
const recordFile = process.env.PUNTOS_SCENARIO_RECORD;

test("the WebAssembly build decides every scenario step as the native build does", { skip: !recordFile && "PUNTOS_SCENARIO_RECORD is not set (scripts/test sets it)" }, () => {
  assert.ok(existsSync(recordFile), `${recordFile} exists`);
  const lines = readFileSync(recordFile, "utf8").split("\n").filter(Boolean);
  assert.ok(lines.length >= 300, `the suites have their steps (${lines.length})`);
  const programs = new Map();
  const program = (file) => {
    if (!programs.has(file)) {
      const compiled = puntos.compile(readFileSync(path.resolve(root, file), "utf8"), path.basename(file));
      assert.equal(compiled.ok, true, file);
      programs.set(file, compiled.program);
    }
    return programs.get(file);
  };
  let decided = 0;
  let refused = 0;
  for (const [n, line] of lines.entries()) {
    const step = JSON.parse(line);
    if (step.program === null) {
      // No version of the program in effect: nothing to compile, natively a refusal.
      assert.match(step.error, /no version of the program is in effect/, `line ${n + 1}`);
      continue;
    }
    const { transaction, customer, account } = step.context;
    let ours;
    try {
      ours = program(step.program).evaluate(transaction, customer, account, { trace: true });
    } catch (e) {
      assert.ok("error" in step, `line ${n + 1}: native decided, WebAssembly refused: ${e.message}`);
      assert.equal(e.message, step.error, `line ${n + 1}`);
      assert.equal(e.field ?? null, step.field, `line ${n + 1}`);
      refused++;
      continue;
    }
    assert.ok("decision" in step, `line ${n + 1}: native refused (${step.error}), WebAssembly decided`);
    assert.equal(JSON.stringify(ours), JSON.stringify(step.decision), `line ${n + 1} (${step.program})`);
    decided++;
  }
  assert.ok(decided > 250 && refused > 20, `${decided} decided and ${refused} refused alike`);
});
