/** A decimal amount of money, points or units, as text: "899.50". Whole numbers may be numbers. */
export type Decimal = string;

/** A basket line. */
export interface Line {
  sku?: string;
  name?: string;
  category?: string;
  brand?: string;
  unit_price: Decimal | number;
  quantity?: Decimal | number;
  amount?: Decimal | number;
  original_line?: number;
}

/** A transaction, as `puntos eval --tx` reads it. */
export interface Transaction {
  id?: string;
  kind?: string;
  /** With its UTC offset: "2026-03-14T12:30:00+03:00". */
  time: string;
  currency?: string;
  channel?: string;
  store?: { id?: string; region?: string; city?: string; format?: string; partner?: string };
  amount?: Decimal | number;
  lines?: Line[];
  coupons?: string[];
  redeem?: Decimal | number;
  refund?: { original: Decision; lines?: unknown };
}

/** The customer's profile. */
export interface Customer {
  id?: string;
  name?: string;
  birth_date?: string;
  enrolled_at?: string;
  status?: string;
  attributes?: Record<string, string>;
  [field: string]: unknown;
}

/** The account's state before the transaction. */
export interface Account {
  available?: Decimal | number;
  pending?: Decimal | number;
  tier?: { name: string; until?: string };
  /** Money spent per window: { "12 months": "35000" }. */
  spend?: Record<string, Decimal | number>;
  visits?: Record<string, Decimal | number>;
  [field: string]: unknown;
}

export interface EvaluateOptions {
  trace?: boolean;
}

/** Where an effect or a step comes from: { rule: "base" }, { promotion: "..." }, "redemption". */
export type Source =
  | { rule: string }
  | { promotion: string }
  | { coupon: string }
  | { offer: string }
  | { tier: string }
  | "redemption"
  | "refund";

export interface Share {
  line: number;
  amount: Decimal;
}

export type Effect =
  | { effect: "earn"; source: Source; points: Decimal; available_at?: string; expires_at?: string; lines?: Share[] }
  | { effect: "redeem"; points: Decimal; value: Decimal; lines?: Share[] }
  | { effect: "discount"; source: Source; code?: string; amount: Decimal; lines?: Share[] }
  | { effect: "issue_coupon"; coupon: string; valid_until?: string }
  | { effect: "consume_coupon"; coupon: string; code: string }
  | { effect: "tier_change"; from?: string; to?: string; until?: string }
  | { effect: "budget_consumed"; promotion: string; amount: Decimal }
  | { effect: "limit_counted"; source: Source }
  | { effect: "reverse_earn"; source: Source; points: Decimal; of_transaction: string }
  | { effect: "return_redeemed"; points: Decimal; value: Decimal; of_transaction: string };

export interface Fact {
  what: string;
  value: string;
}

export interface Step {
  subject: Source;
  applied: boolean;
  reason?: string;
  facts?: Fact[];
  arithmetic?: Fact[];
}

/** A decision, exactly as `puntos eval --format json` writes it. */
export interface Decision {
  transaction: string;
  kind: string;
  program: string;
  currency: string;
  lines?: { quantity: Decimal; amount: Decimal }[];
  effects: Effect[];
  refused_coupons?: { code: string; coupon?: string; reason: string }[];
  trace?: Step[];
}

export interface LineCol {
  line: number;
  column: number;
}

export interface Label {
  start: number;
  end: number;
  start_line_col: LineCol;
  end_line_col: LineCol;
  message: string;
  primary: boolean;
}

/** A problem in a program, with its labelled spans. */
export interface Diagnostic {
  file: string;
  code: string;
  severity: "error" | "warning";
  message: string;
  labels: Label[];
  help?: string | null;
  notes: string[];
}

export interface CompileResult {
  ok: boolean;
  program?: Program;
  diagnostics: Diagnostic[];
}

/** What a till shows before the customer pays. */
export interface Preview {
  points: Decimal;
  redeemed: Decimal;
  discount: Decimal;
  redeemable: Decimal;
  currency: string;
  /** The explanation, a line each: effects, refused coupons, totals. */
  lines: string[];
  decision: Decision;
}

export interface Example {
  name: string;
  source: string;
}
