"""What would the 2027 pharmacy program cost? Simulate it against the 2026 program on a
synthetic population and save a chart of points issued and held, month by month.

    python examples/python/simulate_rule_change.py [chart.png]

Everything runs in the puntos core (the same ledger and evaluator as production); this script
only picks the inputs and draws the DataFrames it gets back.
"""

import sys
from decimal import Decimal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402

import puntos  # noqa: E402

PHARMACY = Path(__file__).resolve().parents[1] / "pharmacy"


def main(chart: Path) -> None:
    current = puntos.compile((PHARMACY / "program.pts").read_text(), "program.pts")
    candidate = puntos.compile((PHARMACY / "program-2027.pts").read_text(), "program-2027.pts")
    population = puntos.Population(2_000, months=12, seed=7)
    run = puntos.simulate(current, candidate, population=population, redeem_share=Decimal("0.3"))
    print(run.summary())

    months = run.months
    fig, (issued, held) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    for side, colour in (("A", "#4e79a7"), ("B", "#f28e2b")):
        rows = months[months["program"] == side]
        labels = list(rows["month"])
        # Decimals are exact; a chart only needs their approximate height.
        earned = [int(v) for v in rows["earned"]]
        outstanding = [int(v) for v in rows["outstanding"]]
        name = current.name if side == "A" else f"{candidate.name} (2027)"
        issued.plot(labels, earned, marker="o", color=colour, label=name)
        held.plot(labels, outstanding, marker="o", color=colour, label=name)
    issued.set_title("Points earned per month")
    held.set_title("Points outstanding at month end")
    held.tick_params(axis="x", rotation=45)
    issued.legend()
    fig.tight_layout()
    fig.savefig(chart)
    totals = run.totals.set_index("measure")
    delta: Decimal = totals.loc["outstanding", "delta"]
    print(f"\nchart saved to {chart}; outstanding points change by {delta} under 2027")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("simulation.png"))
