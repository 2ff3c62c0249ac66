// Type-checked (tsc --strict --noEmit) against the declarations wasm-bindgen generates: a POS
// developer's usage compiles, and the mistakes below are caught (each @ts-expect-error must
// find its error, or tsc fails).
import { compile, format, examples, type Decision, type Preview, type Transaction } from "../pkg-node/puntos_wasm.js";

export const seen: unknown[] = [];

const compiled = compile('program "C" { currency RUB  timezone "Europe/Moscow" }', "c.pts");
if (compiled.ok && compiled.program) {
  const program = compiled.program;
  const tx: Transaction = { time: "2026-03-14T12:30:00+03:00", lines: [{ unit_price: "899.50", quantity: 2 }] };
  const decision: Decision = program.evaluate(tx);
  const traced: Decision = program.evaluate(tx, { birth_date: "1960-05-20" }, { spend: { "12 months": "0" } }, { trace: true });
  const preview: Preview = program.previewBasket(tx);
  const points: string = preview.points;
  const lines: string[] = preview.lines;
  const redeemable: string = program.redeemable(tx, undefined, { available: "100" });
  for (const effect of decision.effects) {
    if (effect.effect === "earn") {
      const earned: string = effect.points;
      seen.push(earned, effect.source);
    }
  }
  const fromText: Decision = JSON.parse(program.evaluateJson(JSON.stringify({ transaction: tx }), { trace: true }));
  seen.push(traced.trace?.length, points, lines, redeemable, program.name, fromText.effects);
  // @ts-expect-error evaluateJson takes the context's text, not the object
  program.evaluateJson({ transaction: tx });
  // @ts-expect-error a transaction needs its time
  program.evaluate({ lines: [] });
  // @ts-expect-error points are decimal strings, not numbers
  const wrong: number = preview.points;
  seen.push(wrong);
}
for (const d of compiled.diagnostics) {
  const where: number = d.labels[0].start_line_col.line;
  seen.push(d.code, d.severity, where);
}
const formatted: string = format("");
seen.push(formatted, examples().map((e) => e.name));
