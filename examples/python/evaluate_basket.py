"""Decide one basket under the pharmacy program and print every point with its reason.

    python examples/python/evaluate_basket.py

Money and points go in and come out as decimal.Decimal: a float is refused with a TypeError.
"""

from decimal import Decimal
from pathlib import Path

import puntos

PROGRAM = Path(__file__).resolve().parents[1] / "pharmacy" / "program.pts"


def main() -> None:
    program = puntos.compile(PROGRAM.read_text(), str(PROGRAM.name))
    transaction = {
        "id": "T-1001",
        "time": "2026-03-14T12:30:00+03:00",
        "lines": [
            {"sku": "VIT-C-500", "category": "vitamins", "unit_price": Decimal("899.00"), "quantity": 2},
            {"sku": "OTC-IBU-200", "category": "otc", "unit_price": Decimal("312.50")},
        ],
    }
    account = {"available": 1240, "spend": {"12 months": Decimal("35000")}}
    decision = program.evaluate(transaction, account=account, trace=True)
    points: Decimal = decision.points_earned
    print(f"{points} points earned")
    for source, earned in decision.points_by_source():
        print(f"  {source.kind} {source.name}: {earned}")
    print(f"up to {program.redeemable(transaction, account=account)} points can pay for it")
    print(decision.explain())


if __name__ == "__main__":
    main()
