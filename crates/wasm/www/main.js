// The playground: a program editor with highlighting and live diagnostics, a basket and a
// customer, and the decision with its explanation. All of it runs in the WebAssembly build of
// the core (./pkg, made by wasm-bindgen --target web); this file only moves values to and fro.
import init, { compile, format, examples } from "./pkg/puntos_wasm.js";

const $ = (id) => document.getElementById(id);
const editor = $("editor");
const highlight = $("highlight");
let program = null;

const KEYWORDS = new Set(
  ("program rule promotion tier segment coupon offer redemption event on when earn point points " +
    "for each item where valid priority stacking audience limit budget pending expire after rank " +
    "qualify keep and or not in of per max min rate step rounding currency timezone issue codes " +
    "discount uses best with exclusive day days month months year years customer transaction " +
    "basket effective from order oldest first down up half even precision unique prefix").split(" "),
);
const TOKENS = /(#[^\n]*)|("(?:[^"\\\n]|\\.)*")|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;

/** For each UTF-16 index of `text`, the UTF-8 byte offset where it starts (the core's spans). */
function byteOffsets(text) {
  const offsets = new Array(text.length + 1);
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    offsets[i] = bytes;
    const code = text.codePointAt(i);
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    bytes += size;
    if (code >= 0x10000) {
      i++;
      offsets[i] = bytes;
    }
  }
  offsets[text.length] = bytes;
  return offsets;
}

/** The UTF-16 index of byte offset `byte` (the first index at or after it). */
function indexOfByte(offsets, byte) {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid] < byte) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const escape = (s) => s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);

/** The source as HTML: tokens coloured, the primary span of each diagnostic underlined. */
function render(text, diagnostics) {
  const cls = new Array(text.length).fill("");
  for (const m of text.matchAll(TOKENS)) {
    const kind = m[1] ? "com" : m[2] ? "str" : m[3] ? "num" : KEYWORDS.has(m[4]) ? "kw" : "";
    for (let i = m.index; i < m.index + m[0].length; i++) cls[i] = kind;
  }
  const squiggle = new Array(text.length).fill("");
  const offsets = byteOffsets(text);
  for (const d of diagnostics) {
    const label = d.labels.find((l) => l.primary) ?? d.labels[0];
    if (!label) continue;
    let start = indexOfByte(offsets, label.start);
    let end = Math.max(indexOfByte(offsets, label.end), start + 1);
    if (start >= text.length) start = Math.max(text.length - 1, 0);
    end = Math.min(end, text.length);
    for (let i = start; i < end; i++) squiggle[i] = d.severity;
  }
  let html = "";
  let i = 0;
  while (i < text.length) {
    let j = i + 1;
    while (j < text.length && cls[j] === cls[i] && squiggle[j] === squiggle[i]) j++;
    const classes = [cls[i], squiggle[i] ? `squiggle ${squiggle[i]}` : ""].filter(Boolean).join(" ");
    const piece = escape(text.slice(i, j));
    html += classes ? `<span class="${classes}">${piece}</span>` : piece;
    i = j;
  }
  // A trailing newline needs a character after it to take up its line.
  return html + "\n";
}

function showDiagnostics(diagnostics) {
  const list = $("diagnostics");
  list.replaceChildren();
  for (const d of diagnostics) {
    const label = d.labels.find((l) => l.primary) ?? d.labels[0];
    const at = label ? `${label.start_line_col.line}:${label.start_line_col.column}` : "";
    const item = document.createElement("li");
    item.className = d.severity;
    item.dataset.code = d.code;
    item.title = [d.message, d.help, ...d.notes].filter(Boolean).join("\n");
    item.textContent = `${at} ${d.severity}[${d.code}]: ${d.message}${label?.message ? ` (${label.message})` : ""}`;
    if (d.help) {
      const help = document.createElement("span");
      help.className = "help";
      help.textContent = `help: ${d.help}`;
      item.append(help);
    }
    if (label) {
      item.addEventListener("click", () => {
        const offsets = byteOffsets(editor.value);
        editor.focus();
        editor.setSelectionRange(indexOfByte(offsets, label.start), indexOfByte(offsets, label.end));
      });
    }
    list.append(item);
  }
}

/** Compiles the editor's text: highlighting, squiggles, the list; keeps the program if it compiles. */
function recompile() {
  const text = editor.value;
  const result = compile(text, "playground.pts");
  highlight.innerHTML = render(text, result.diagnostics);
  showDiagnostics(result.diagnostics);
  program?.free();
  program = result.ok ? result.program : null;
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  $("status").textContent = result.ok
    ? `compiles: ${program.name} (${program.currency}, ${program.timezone})`
    : `${errors} error${errors === 1 ? "" : "s"}`;
  document.body.dataset.compiles = String(result.ok);
}

function addLine(line = { sku: "", category: "", unit_price: "", quantity: "1" }) {
  const row = document.createElement("tr");
  for (const field of ["sku", "category", "unit_price", "quantity"]) {
    const cell = document.createElement("td");
    const input = document.createElement("input");
    input.name = field;
    input.value = line[field];
    cell.append(input);
    row.append(cell);
  }
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "×";
  remove.title = "Remove the line";
  remove.addEventListener("click", () => row.remove());
  const cell = document.createElement("td");
  cell.append(remove);
  row.append(cell);
  $("lines").tBodies[0].append(row);
}

/** The basket, customer and account of the form, decimals as the text typed. */
function inputs() {
  const lines = [...$("lines").tBodies[0].rows]
    .map((row) => Object.fromEntries([...row.querySelectorAll("input")].map((i) => [i.name, i.value.trim()])))
    .filter((l) => l.unit_price !== "")
    .map((l) => ({ ...l, quantity: l.quantity || "1" }));
  const transaction = { id: "PLAY-1", time: $("time").value.trim(), lines };
  const coupons = $("coupons").value.split(",").map((c) => c.trim()).filter(Boolean);
  if (coupons.length) transaction.coupons = coupons;
  if ($("redeem").value.trim()) transaction.redeem = $("redeem").value.trim();
  const customer = $("birth-date").value.trim() ? { birth_date: $("birth-date").value.trim() } : {};
  const spend = $("spend").value.trim() || "0";
  const account = {
    available: $("available").value.trim() || "0",
    spend: { "12 months": spend, "90 days": spend, "30 days": spend },
  };
  if ($("tier").value.trim()) account.tier = { name: $("tier").value.trim() };
  return [transaction, customer, account];
}

function evaluate() {
  $("error").textContent = "";
  if (!program) {
    $("error").textContent = "The program does not compile: see the diagnostics.";
    return;
  }
  try {
    const preview = program.previewBasket(...inputs());
    $("points").textContent = preview.points;
    $("discount").textContent = `${preview.discount} ${preview.currency}`;
    $("redeemable").textContent = `${preview.redeemable} points`;
    $("explanation").textContent = preview.lines.join("\n");
    const traced = program.evaluate(...inputs(), { trace: true });
    $("json").textContent = JSON.stringify(traced, null, 2);
  } catch (e) {
    $("points").textContent = "-";
    $("error").textContent = e.field ? `${e.field}: ${e.message.replace(`${e.field}: `, "")}` : e.message;
  }
}

/** Evaluates the form's basket `n` times; nanoseconds per evaluation (for the benchmark). */
function bench(n) {
  const [transaction, customer, account] = inputs();
  const start = performance.now();
  for (let i = 0; i < n; i++) program.evaluate(transaction, customer, account);
  return ((performance.now() - start) * 1e6) / n;
}

await init();
const all = examples();
for (const example of all) {
  const option = document.createElement("option");
  option.value = example.name;
  option.textContent = example.name;
  $("example").append(option);
}
$("example").addEventListener("change", () => {
  editor.value = all.find((e) => e.name === $("example").value).source;
  recompile();
  evaluate();
});
let pending = 0;
editor.addEventListener("input", () => {
  clearTimeout(pending);
  pending = setTimeout(recompile, 120);
});
editor.addEventListener("scroll", () => {
  highlight.scrollTop = editor.scrollTop;
  highlight.scrollLeft = editor.scrollLeft;
});
$("format").addEventListener("click", () => {
  try {
    editor.value = format(editor.value);
    recompile();
  } catch (e) {
    $("status").textContent = "not formatted: the program has syntax errors";
  }
});
$("add-line").addEventListener("click", () => addLine());
$("evaluate").addEventListener("click", evaluate);
for (const line of [
  { sku: "VIT-C-500", category: "vitamins", unit_price: "899.00", quantity: "2" },
  { sku: "OTC-IBU-200", category: "otc", unit_price: "312.50", quantity: "1" },
  { sku: "TOB-PM-20", category: "tobacco", unit_price: "289.00", quantity: "1" },
]) {
  addLine(line);
}
editor.value = all[0].source;
recompile();
evaluate();
window.puntosPlayground = { ready: true, bench, recompile };
document.body.dataset.ready = "true";
