"""Program.evaluate_batch: DataFrames of basket lines in, one row per transaction out, every
figure the one Program.evaluate gives for the same transaction."""

import datetime
import random
from decimal import Decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import puntos
from conftest import EXAMPLES

CATEGORIES = ["vitamins", "otc", "cosmetics", "rx", "tobacco", "baby", "fresh"]
TIERS = [None, "Silver", "Gold", "Platinum"]


def generated_lines(transactions: int, seed: int = 7) -> pd.DataFrame:
    """Transactions of 1 to 5 lines, on days of March 2026, from customers of every tier."""
    rng = random.Random(seed)
    rows = []
    for t in range(transactions):
        tier = rng.choice(TIERS)
        time = f"2026-03-{rng.randint(1, 31):02d}T{rng.randint(8, 21):02d}:15:00+03:00"
        birth_date = datetime.date(rng.randint(1940, 2005), 5, 20)
        available = rng.randint(0, 3000)
        spend = Decimal(rng.randint(0, 90_000))
        for _ in range(rng.randint(1, 5)):
            rows.append(
                {
                    "transaction_id": f"T-{t}",
                    "time": time,
                    "sku": f"SKU-{rng.randint(1, 500)}",
                    "category": rng.choice(CATEGORIES),
                    "unit_price": Decimal(rng.randint(100, 500_000)) / 100,
                    "quantity": rng.randint(1, 3),
                    "birth_date": birth_date,
                    "available": available,
                    "tier": tier,
                    "tier_until": datetime.date(2026, 12, 31) if tier else None,
                    "spend_12_months": spend,
                    "redeem": None,
                }
            )
    frame = pd.DataFrame(rows)
    return frame


def one_transaction(frame: pd.DataFrame, id_: str) -> tuple[dict, dict, dict]:
    """The same transaction as Program.evaluate's mappings."""
    rows = frame[frame["transaction_id"] == id_].to_dict("records")
    first = rows[0]
    transaction = {
        "id": id_,
        "time": first["time"],
        "lines": [
            {k: r[k] for k in ("sku", "category", "unit_price", "quantity")} for r in rows
        ],
    }
    if first.get("redeem") is not None and not pd.isna(first["redeem"]):
        transaction["redeem"] = first["redeem"]
    account: dict = {
        "available": first["available"],
        "spend": {"12 months": first["spend_12_months"]},
    }
    if isinstance(first["tier"], str):
        account["tier"] = {"name": first["tier"], "until": first["tier_until"]}
    return transaction, {"birth_date": first["birth_date"]}, account


def test_every_figure_is_what_evaluate_gives(pharmacy) -> None:
    frame = generated_lines(300)
    result = pharmacy.evaluate_batch(frame)
    assert isinstance(result, pd.DataFrame)
    assert list(result["transaction_id"]) == list(dict.fromkeys(frame["transaction_id"]))
    sources = [c for c in result.columns if c.startswith("points_")]
    assert "points_base" in sources and "points_vitamin_month" in sources
    earned_somewhere = 0
    for row in result.to_dict("records"):
        decision = pharmacy.evaluate(*one_transaction(frame, row["transaction_id"]))
        assert row["points"] == decision.points_earned
        by_source = {s.name: p for s, p in decision.points_by_source()}
        for column in sources:
            assert row[column] == by_source.get(column.removeprefix("points_"), 0), column
        assert row["discount"] == decision.discount_total
        assert row["redeemed"] == decision.points_redeemed
        earned_somewhere += row["points"] > 0
    assert earned_somewhere > 250, "the generated baskets earn"


def test_money_and_points_come_back_as_decimal128(pharmacy) -> None:
    result = pharmacy.evaluate_batch(generated_lines(5))
    assert str(result["points"].dtype) == "decimal128(38, 0)[pyarrow]"
    assert str(result["discount"].dtype) == "decimal128(38, 2)[pyarrow]"
    assert isinstance(result["points"].iloc[0], Decimal)


def test_polars_and_arrow_give_the_same_table(pharmacy) -> None:
    frame = generated_lines(40)
    expected = pharmacy.evaluate_batch(frame)
    from_polars = pharmacy.evaluate_batch(pl.from_pandas(frame))
    assert isinstance(from_polars, pl.DataFrame)
    assert from_polars.schema["points"] == pl.Decimal(38, 0)
    assert from_polars.to_arrow().to_pylist() == pa.Table.from_pandas(expected).to_pylist()
    from_arrow = pharmacy.evaluate_batch(pa.Table.from_pandas(frame, preserve_index=False))
    assert isinstance(from_arrow, pa.Table)
    assert from_arrow.to_pylist() == from_polars.to_arrow().to_pylist()


def test_aware_timestamps_dates_and_text_are_read(pharmacy) -> None:
    frame = generated_lines(20)
    typed = frame.assign(
        time=pd.to_datetime(frame["time"]).dt.tz_convert("Europe/Moscow"),
        unit_price=frame["unit_price"].astype(str),
    )
    assert pharmacy.evaluate_batch(typed).equals(pharmacy.evaluate_batch(frame))


def test_a_redemption_is_reported_with_its_value(pharmacy) -> None:
    frame = pd.DataFrame(
        {
            "transaction_id": ["R-1"],
            "time": ["2026-03-10T10:00:00+03:00"],
            "category": ["otc"],
            "unit_price": [Decimal("1000.00")],
            "available": [Decimal("500")],
            "spend_12_months": [0],
            "redeem": [Decimal("300")],
        }
    )
    [row] = pharmacy.evaluate_batch(frame).to_dict("records")
    assert (row["redeemed"], row["redeemed_value"]) == (Decimal("300"), Decimal("300.00"))


def test_a_row_without_a_price_is_an_event_without_a_basket() -> None:
    bank = puntos.compile((EXAMPLES / "bank" / "program.pts").read_text())
    frame = pd.DataFrame(
        {
            "transaction_id": ["E-1"],
            "time": ["2026-03-10T10:00:00-05:00"],
            "kind": ["paperless_enrolled"],
            "unit_price": [None],
            "spend_90_days": [0],
            "spend_12_months": [0],
        }
    )
    [row] = bank.evaluate_batch(frame).to_dict("records")
    assert row["points_paperless_bonus"] == Decimal("1000")


# Bad input: the error a user sees.


def test_a_float_column_is_a_type_error_that_says_what_to_pass(pharmacy) -> None:
    frame = generated_lines(3).assign(unit_price=lambda f: f["unit_price"].astype(float))
    with pytest.raises(TypeError, match=r"^column unit_price: Float64, and money, points and quantities are never floats"):
        pharmacy.evaluate_batch(frame)
    with pytest.raises(TypeError, match=r"pl\.col\(\"unit_price\"\)\.cast\(pl\.Decimal"):
        pharmacy.evaluate_batch(pl.from_pandas(frame))


def test_missing_and_unknown_columns_are_named(pharmacy) -> None:
    frame = generated_lines(3)
    with pytest.raises(ValueError, match="^column time is missing"):
        pharmacy.evaluate_batch(frame.drop(columns=["time"]))
    with pytest.raises(ValueError, match=r"^column categroy is not read by evaluate_batch; leave it out with ignore"):
        pharmacy.evaluate_batch(frame.rename(columns={"category": "categroy"}))
    notes = frame.assign(note="x", region="north")
    with pytest.raises(ValueError, match="^columns note, region are not read"):
        pharmacy.evaluate_batch(notes)
    assert pharmacy.evaluate_batch(notes, ignore=["note", "region"]).equals(pharmacy.evaluate_batch(frame))


def test_a_refused_transaction_names_its_row_and_field(pharmacy) -> None:
    frame = generated_lines(10)
    bad = frame.copy()
    bad.loc[7, "quantity"] = -2
    id_ = bad.loc[7, "transaction_id"]
    with pytest.raises(puntos.EvalError) as raised:
        pharmacy.evaluate_batch(bad)
    error = raised.value
    assert error.row == 7 and error.transaction == id_
    assert error.field is not None and error.field.endswith("].quantity")
    assert str(error).startswith(f"row 7 (transaction {id_}")
    result = pharmacy.evaluate_batch(bad, errors="column")
    refused = result[result["error"].notna()]
    assert list(refused["transaction_id"]) == [id_]
    assert refused["points"].isna().all()
    assert result["error"].isna().sum() == len(result) - 1


def test_rows_of_a_transaction_must_be_together_and_agree(pharmacy) -> None:
    frame = generated_lines(4)
    first = frame["transaction_id"] == "T-0"
    shuffled = pd.concat([frame[first].iloc[:1], frame[~first], frame[first].iloc[1:]])
    if first.sum() > 1:
        with pytest.raises(ValueError, match="transaction T-0 appeared before, not on the row just above"):
            pharmacy.evaluate_batch(shuffled)
    two = pd.DataFrame(
        {
            "transaction_id": ["A", "A"],
            "time": ["2026-03-10T10:00:00+03:00", "2026-03-11T10:00:00+03:00"],
            "unit_price": [1, 2],
            "spend_12_months": [0, 0],
        }
    )
    with pytest.raises(ValueError, match="^row 1, column time: differs from row 0 of the same transaction A"):
        pharmacy.evaluate_batch(two)


def test_other_bad_tables(pharmacy) -> None:
    frame = generated_lines(2)
    with pytest.raises(ValueError, match="column time: timestamps without a time zone"):
        pharmacy.evaluate_batch(frame.assign(time=pd.to_datetime(frame["time"].str[:19])))
    with pytest.raises(ValueError, match=r"^row 1, column time: "):
        pharmacy.evaluate_batch(frame.assign(time=[frame["time"][0], "yesterday"] + list(frame["time"][2:])))
    with pytest.raises(ValueError, match="^row 0, column transaction_id: empty"):
        pharmacy.evaluate_batch(frame.assign(transaction_id=[None] + list(frame["transaction_id"][1:])))
    with pytest.raises(ValueError, match=r'^errors: "skip"; pass "raise" or "column"'):
        pharmacy.evaluate_batch(frame, errors="skip")
    with pytest.raises(TypeError, match="reads a pandas or polars DataFrame or an Arrow table, not a builtins.list"):
        pharmacy.evaluate_batch([1, 2])
    with pytest.raises(TypeError, match="^column category: Int64 where text is expected"):
        pharmacy.evaluate_batch(frame.assign(category=1))
    with pytest.raises(ValueError, match=r"^row \d+, column unit_price: \"abc\" is not a number"):
        pharmacy.evaluate_batch(frame.assign(unit_price="abc"))
    with pytest.raises(ValueError, match="^row 0, column tier_until: a date without a tier"):
        pharmacy.evaluate_batch(frame.assign(tier=None, tier_until=datetime.date(2026, 1, 1)))
