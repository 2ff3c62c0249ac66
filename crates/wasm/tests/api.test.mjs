// The WebAssembly package's API under Node (node --test), on the module wasm-bindgen built for
// Node in ../pkg-node (scripts/test builds it there), or in $PUNTOS_WASM_NODE.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);
const dir = process.env.PUNTOS_WASM_NODE ?? new URL("../pkg-node", import.meta.url).pathname;

const puntos = require(path.join(dir, "puntos_wasm.js"));
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../..");
const pharmacySource = readFileSync(path.join(root, "examples/pharmacy/program.pts"), "utf8");

const pharmacy = () => {
  const compiled = puntos.compile(pharmacySource, "program.pts");
  assert.equal(compiled.ok, true);
  return compiled.program;
};
const basket = (lines, extra = {}) => ({ id: "T-1", time: "2026-03-14T12:30:00+03:00", lines, ...extra });
const vitamins = { sku: "VIT-C", category: "vitamins", unit_price: "899.00", quantity: 2 };
const noHistory = { spend: { "12 months": "0" } };

test("a program compiles with its name, currency and zone", () => {
  const compiled = puntos.compile(pharmacySource, "program.pts");
  assert.equal(compiled.ok, true);
  assert.deepEqual(compiled.diagnostics, []);
  assert.equal(compiled.program.name, "Vita Club");
  assert.equal(compiled.program.currency, "RUB");
  assert.equal(compiled.program.timezone, "Europe/Moscow");
});

test("a program with an error gives its diagnostics with spans, and no program", () => {
  const source = 'program "C" { currency RUB  timezone "Europe/Moscow" }\nrule a { on purchase  earn 5 pointz }\n';
  const compiled = puntos.compile(source, "club.pts");
  assert.equal(compiled.ok, false);
  assert.equal(compiled.program, undefined);
  const [d] = compiled.diagnostics;
  assert.equal(d.code, "P0001");
  assert.equal(d.severity, "error");
  assert.equal(d.file, "club.pts");
  assert.equal(d.help, "did you mean `points`?");
  const label = d.labels.find((l) => l.primary);
  assert.deepEqual(label.start_line_col, { line: 2, column: 30 });
  assert.equal(source.slice(label.start, label.end), "pointz");
});

test("a decision is the native JSON, decimals as strings", () => {
  const decision = pharmacy().evaluate(basket([vitamins]), undefined, noHistory);
  assert.equal(decision.transaction, "T-1");
  assert.deepEqual(decision.effects[0], {
    effect: "earn",
    source: { rule: "base" },
    points: "179",
    available_at: "2026-03-28T12:30:00+03:00",
    expires_at: "2027-03-14T12:30:00+03:00",
    lines: [{ line: 0, amount: "179" }],
  });
  assert.equal(decision.trace, undefined);
  const traced = pharmacy().evaluate(basket([vitamins]), undefined, noHistory, { trace: true });
  const gold = traced.trace.find((s) => s.subject.tier === "Gold");
  assert.equal(gold.applied, false);
  assert.equal(gold.reason, "does not qualify");
});

test("previewBasket is what a till shows", () => {
  const preview = pharmacy().previewBasket(basket([vitamins], { coupons: ["NOPE"] }), undefined, { ...noHistory, available: "5000" });
  assert.equal(preview.points, "537");
  assert.equal(preview.discount, "0");
  assert.equal(preview.redeemable, "539", "30% of 1798 RUB, in whole points");
  assert.equal(preview.currency, "RUB");
  assert.deepEqual(preview.lines.slice(0, 1), ["purchase T-1 under Vita Club"]);
  assert.ok(preview.lines.includes("refused coupon NOPE: unknown code"));
  assert.equal(preview.lines.at(-1), "total: 537 points earned, 0 points redeemed, 0 RUB off");
  assert.equal(preview.decision.effects.length, 3);
  assert.equal(pharmacy().redeemable(basket([vitamins]), undefined, { ...noHistory, available: "5000" }), "539");
});

test("a number with a fraction is refused: decimals cross as strings", () => {
  assert.throws(
    () => pharmacy().evaluate(basket([{ unit_price: 899.5 }]), undefined, noHistory),
    (e) => e.field === "transaction.lines[0].unit_price" && /pass decimals as strings, such as "899.5"/.test(e.message),
  );
  // Whole numbers are exact.
  assert.equal(pharmacy().evaluate(basket([{ unit_price: 900 }]), undefined, noHistory).effects[0].points, "90");
});

test("refused inputs name their field", () => {
  const cases = [
    [basket([{ unit_price: "ten" }]), noHistory, "transaction.lines[0].unit_price"],
    [basket([{ unit_price: "10", quantity: -1 }]), noHistory, "transaction.lines[0].quantity"],
    [{ time: "2026-03-14T12:30:00", lines: [] }, noHistory, "transaction.time"],
    [basket([vitamins]), undefined, "account.spend"],
    [basket([vitamins], { redeem: "500" }), { ...noHistory, available: "10" }, "transaction.redeem"],
    [basket([{ unit_price: "1", prise: 2 }]), noHistory, "transaction.lines[0].prise"],
    [undefined, noHistory, "transaction"],
  ];
  for (const [tx, account, field] of cases) {
    assert.throws(() => pharmacy().evaluate(tx, undefined, account), (e) => e instanceof Error && e.field === field, field);
  }
});

test("phones must be in E.164 in this build", () => {
  const customer = { phones: ["+79161234567"] };
  assert.equal(pharmacy().evaluate(basket([vitamins]), customer, noHistory).effects.length > 0, true);
  assert.throws(
    () => pharmacy().evaluate(basket([vitamins]), { phones: ["8 916 123-45-67"] }, noHistory),
    (e) => e.field === "customer.phones" && /E.164/.test(e.message),
  );
});

test("format and its refusal", () => {
  assert.equal(puntos.format(pharmacySource), pharmacySource);
  assert.throws(() => puntos.format("rule {"), (e) => e.diagnostics[0].code === "P0001");
});

test("the examples come with the module", () => {
  const names = puntos.examples().map((e) => e.name);
  assert.deepEqual(names, ["pharmacy", "pharmacy-2027", "bank"]);
  for (const example of puntos.examples()) {
    assert.equal(puntos.compile(example.source).ok, true, example.name);
  }
});

test("evaluateRepeatedly decides as evaluate does (the benchmark's measure of the decision alone)", () => {
  const tx = basket([vitamins]);
  const once = pharmacy().evaluate(tx, undefined, noHistory);
  assert.deepEqual(pharmacy().evaluateRepeatedly(tx, undefined, noHistory, 50), once);
  assert.throws(() => pharmacy().evaluateRepeatedly(basket([{ unit_price: "-1" }]), undefined, noHistory, 3), (e) => e.field === "transaction.lines[0].unit_price");
});

test("evaluateJson decides JSON text as evaluate decides objects, and reads numbers as decimals", () => {
  const tx = basket([vitamins], { channel: "app" });
  const customer = { birth_date: "1960-05-20" };
  const text = pharmacy().evaluateJson(JSON.stringify({ transaction: tx, customer, account: noHistory }));
  assert.equal(typeof text, "string");
  assert.deepEqual(JSON.parse(text), pharmacy().evaluate(tx, customer, noHistory));
  // In text, 899.50 is the decimal it spells, not a float: decided as "899.50" is.
  const spelled = pharmacy().evaluateJson(
    '{"transaction": {"id": "T-1", "time": "2026-03-14T12:30:00+03:00", "lines": [{"unit_price": 899.50, "quantity": 2, "category": "vitamins"}]}, "account": {"spend": {"12 months": 0}}}',
  );
  const asString = pharmacy().evaluate(basket([{ unit_price: "899.50", quantity: 2, category: "vitamins" }]), undefined, noHistory);
  assert.deepEqual(JSON.parse(spelled), asString);
  const traced = JSON.parse(pharmacy().evaluateJson(JSON.stringify({ transaction: tx, account: noHistory }), { trace: true }));
  assert.ok(traced.trace.length > 0);
  assert.throws(
    () => pharmacy().evaluateJson(JSON.stringify({ transaction: basket([{ unit_price: "1", quantity: "-1" }]), account: noHistory })),
    (e) => e instanceof Error && e.field === "transaction.lines[0].quantity",
  );
  assert.throws(() => pharmacy().evaluateJson("{"), (e) => e instanceof Error && e.field === "input");
});
