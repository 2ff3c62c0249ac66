"""Benchmarks of the Python package (issue 8): `Program.evaluate_batch` over a million
transactions, and puntos against the `zen-engine` package on the shared zen-loyalty decision.

    .venv/bin/pip install zen-engine==2.1.3        # not a test dependency: the benchmark's own
    .venv/bin/python crates/py/bench/batch.py [TRANSACTIONS] [ZEN_DIR]

Prints transactions per second (both cores, then one: RAYON_NUM_THREADS=1 in a child process),
and per-call and batch times of both engines on the 10,000 zen baskets after checking that they
give equal points on every one. Timings are the best of a few rounds (the machine is shared).
"""

import datetime
import json
import os
import random
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

import puntos

ROOT = Path(__file__).resolve().parents[3]
LOYALTY = ROOT / "benches" / "zen-compare" / "loyalty.pts"
PHARMACY = ROOT / "examples" / "pharmacy" / "program.pts"
CATEGORIES = ["vitamins", "otc", "cosmetics", "rx", "tobacco", "baby", "alcohol", "fresh"]


def best(rounds: int, work) -> float:
    """The shortest of `rounds` timings of `work()`, in seconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def basket_table(transactions: int, seed: int = 1) -> pa.Table:
    """`transactions` purchases of 1 to 5 lines (3 on average) in March 2026, as evaluate_batch
    reads them; prices are decimal128 with cents (no float anywhere)."""
    rng = random.Random(seed)
    ids, times, categories, prices, tiers, births, spends = [], [], [], [], [], [], []
    for t in range(transactions):
        lines = rng.randint(1, 5)
        moment = f"2026-03-{rng.randint(1, 31):02d}T{rng.randint(8, 21):02d}:00:00+03:00"
        tier = rng.choice([None, "Silver", "Gold"])
        birth = datetime.date(rng.randint(1940, 2005), 6, 1)
        spend = rng.randint(0, 90_000) * 100
        for _ in range(lines):
            ids.append(f"T{t}")
            times.append(moment)
            categories.append(rng.choice(CATEGORIES))
            prices.append(rng.randint(100, 500_000))
            tiers.append(tier)
            births.append(birth)
            spends.append(spend)
    return pa.table(
        {
            "transaction_id": ids,
            "time": times,
            "category": categories,
            "unit_price": pa.array([Decimal(c).scaleb(-2) for c in prices], pa.decimal128(18, 2)),
            "tier": tiers,
            "birth_date": births,
            "spend_12_months": pa.array(spends, pa.int64()),
        }
    )


def throughput(transactions: int) -> None:
    table = basket_table(transactions)
    print(f"evaluate_batch: {transactions:,} transactions, {table.num_rows:,} lines (pyarrow table)")
    for name, path, drop in (("zen loyalty (3 rules, a promotion, 2 tiers)", LOYALTY, ["spend_12_months"]), ("pharmacy example", PHARMACY, [])):
        program = puntos.compile(path.read_text(), path.name)
        frame = table.drop_columns(drop) if drop else table
        result = program.evaluate_batch(frame)
        assert result.num_rows == transactions
        seconds = best(3, lambda: program.evaluate_batch(frame))
        threads = os.environ.get("RAYON_NUM_THREADS") or os.cpu_count()
        print(f"  {name}: {seconds:.2f} s, {transactions / seconds:,.0f} transactions/s on {threads} thread(s)")


def zen_comparison(folder: Path) -> None:
    import zen  # the benchmark's own dependency

    content = (folder / "loyalty.json").read_text()
    inputs_zen = json.loads((folder / "inputs.json").read_text())
    inputs = json.loads((folder / "inputs.json").read_text(), parse_float=Decimal)
    expected = json.loads((folder / "rust_results.json").read_text())
    program = puntos.compile(LOYALTY.read_text(), LOYALTY.name)

    def context(i: dict) -> tuple[dict, dict, dict]:
        day = datetime.date.fromisoformat(i["transaction"]["date"])
        born = day.replace(year=day.year - i["customer"]["age"])
        lines = [{"category": l["category"], "unit_price": l["amount"], "amount": l["amount"]} for l in i["basket"]["lines"]]
        tier = i["customer"]["tier"]
        account = {} if tier == "Basic" else {"tier": {"name": tier}}
        return {"time": f"{day}T12:00:00+00:00", "lines": lines}, {"birth_date": born}, account

    contexts = [context(i) for i in inputs]
    rows: dict[str, list] = {k: [] for k in ("transaction_id", "time", "category", "unit_price", "amount", "birth_date", "tier")}
    for n, (tx, customer, account) in enumerate(contexts):
        for line in tx["lines"]:
            rows["transaction_id"].append(str(n))
            rows["time"].append(tx["time"])
            rows["category"].append(line["category"])
            rows["unit_price"].append(line["unit_price"])
            rows["amount"].append(line["amount"])
            rows["birth_date"].append(customer["birth_date"])
            rows["tier"].append(account.get("tier", {}).get("name"))
    table = pa.table(rows)

    # Equal results first: every basket, every figure.
    engine = zen.ZenEngine({"loader": lambda key: content})
    decision = engine.create_decision(content)
    batch = program.evaluate_batch(table).to_pylist()
    for n, (want, ctx, raw) in enumerate(zip(expected, contexts, inputs_zen)):
        theirs = decision.evaluate(raw)["result"]
        assert theirs == want, (n, theirs, want)
        ours = {s.name: p for s, p in program.evaluate(*ctx).points_by_source()}
        base = ours.get("base", 0)
        bonus = ours.get("silver_bonus", 0) + ours.get("gold_bonus", 0)
        promo = ours.get("senior_weekend", 0)
        assert (base, bonus, promo, base + bonus + promo) == (want["base"], want["tierBonus"], want["promo"], want["points"]), n
        row = batch[n]
        assert row["points"] == want["points"] and row["points_base"] == want["base"], n
    print(f"\nzen-engine {zen.__name__} vs puntos: equal base, tierBonus, promo and points on all {len(inputs):,} baskets")

    count = len(inputs)
    requests = [{"key": "loyalty.json", "context": raw} for raw in inputs_zen]
    timings = {
        "zen per call (decision.evaluate)": best(3, lambda: [decision.evaluate(raw) for raw in inputs_zen]),
        "zen batch (engine.evaluate_batch)": best(3, lambda: engine.evaluate_batch(requests)),
        "puntos per call (Program.evaluate)": best(3, lambda: [program.evaluate(*c) for c in contexts]),
        "puntos batch (Program.evaluate_batch)": best(3, lambda: program.evaluate_batch(table)),
    }
    for name, seconds in timings.items():
        print(f"  {name}: {seconds * 1e6 / count:,.2f} µs per basket")
    call = timings["zen per call (decision.evaluate)"] / timings["puntos per call (Program.evaluate)"]
    both = timings["zen batch (engine.evaluate_batch)"] / timings["puntos batch (Program.evaluate_batch)"]
    print(f"  ratio zen / puntos: per call {call:.1f}x, batch {both:.1f}x")


def main() -> None:
    transactions = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT.parent / "shared" / "bench" / "zen-loyalty"
    if os.environ.get("PUNTOS_BENCH_CHILD"):
        throughput(transactions)
        return
    throughput(transactions)
    print("\nthe same on one core (RAYON_NUM_THREADS=1):")
    env = {**os.environ, "RAYON_NUM_THREADS": "1", "PUNTOS_BENCH_CHILD": "1"}
    subprocess.run([sys.executable, __file__, str(transactions)], env=env, check=True)
    zen_comparison(folder)


if __name__ == "__main__":
    main()
