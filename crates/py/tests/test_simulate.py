"""puntos.simulate: a history or a population replayed under A and B through the ledger."""

import datetime
from decimal import Decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import puntos
from conftest import EXAMPLES

CLUB = 'program "Club {name}" {{ currency RUB  timezone "Europe/Moscow" }}\n'
A = puntos.compile(CLUB.format(name="A") + "rule base { on purchase  earn floor(item.amount / 10 RUB) points for each item }")
B = puntos.compile(CLUB.format(name="B") + "rule base { on purchase  earn floor(item.amount / 5 RUB) points for each item }")


def small_history() -> pd.DataFrame:
    """C-1 buys 1000 + 2 x 250 and returns one 250; C-2 buys 99.99."""
    rows = [
        ("C-1", "T-1", "2026-03-01T10:00:00+03:00", "purchase", None, Decimal("1000.00"), 1, None),
        ("C-1", "T-1", "2026-03-01T10:00:00+03:00", "purchase", None, Decimal("250.00"), 2, None),
        ("C-2", "T-2", "2026-03-05T10:00:00+03:00", "purchase", None, Decimal("99.99"), 1, None),
        ("C-1", "R-1", "2026-03-10T10:00:00+03:00", "refund", "T-1", Decimal("250.00"), 1, 1),
    ]
    columns = ["account", "transaction_id", "time", "kind", "refund_of", "unit_price", "quantity", "original_line"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(original_line=frame["original_line"].astype("Int64"))


def by_measure(run: puntos.Simulation) -> dict:
    return {r["measure"]: (r["a"], r["b"], r["delta"]) for r in run.totals.to_dict("records")}


def test_a_small_history_gives_its_hand_computed_totals() -> None:
    # A: T-1 earns 100 + 50, T-2 earns 9; the refund of one of two units of line 1 takes back 25.
    # B (every 5 RUB): 200 + 100 and 19; the refund takes back 50.
    run = puntos.simulate(A, B, history=small_history())
    assert run.transactions == 3
    totals = by_measure(run)
    assert totals["earned"] == (159, 319, 160)
    assert totals["taken_back"] == (25, 50, 25)
    assert totals["outstanding"] == (134, 269, 135)
    assert totals["refused"] == (0, 0, 0)
    assert "liability" not in totals, "no redemption rate, no liability in money"
    customers = {r["account"]: r for r in run.customers.to_dict("records")}
    assert (customers["C-1"]["a_issued"], customers["C-1"]["b_issued"]) == (125, 250)
    assert (customers["C-2"]["a_issued"], customers["C-2"]["b_issued"], customers["C-2"]["delta"]) == (9, 19, 10)
    assert (run.gainers, run.losers, run.unchanged) == (2, 0, 0)
    months = run.months.to_dict("records")
    assert [(m["month"], m["program"], m["earned"], m["taken_back"], m["outstanding"]) for m in months] == [
        ("2026-03", "A", 159, 25, 134),
        ("2026-03", "B", 319, 50, 269),
    ]
    [source] = run.sources.to_dict("records")
    # Points per rule are net of what refunds took back.
    assert (source["source"], source["a"], source["b"]) == ("rule base", 134, 269)
    assert isinstance(source["a"], Decimal)


def test_a_program_against_itself_changes_nothing() -> None:
    run = puntos.simulate(A, A, history=small_history())
    assert all(delta == 0 for _, _, delta in by_measure(run).values())
    assert (run.gainers, run.losers, run.unchanged) == (0, 0, 2)


def test_a_population_and_its_history_give_the_same_outcome(pharmacy) -> None:
    b = puntos.compile((EXAMPLES / "pharmacy" / "program-2027.pts").read_text())
    population = puntos.Population(120, months=3, seed=11)
    direct = puntos.simulate(pharmacy, b, population=population)
    history = population.history(pharmacy)
    assert history["account"].nunique() == 120
    # A population's horizon is the end of its period; a history's is its last transaction.
    replayed = puntos.simulate(pharmacy, b, history=history, until=datetime.date(2026, 5, 1))
    assert replayed.transactions == direct.transactions > 0
    assert replayed.totals.equals(direct.totals)
    assert replayed.customers.equals(direct.customers)
    assert replayed.to_html() == direct.to_html()
    assert direct.losers > 0, "the 2027 program pays less"


def test_the_report_the_summary_and_the_json(pharmacy) -> None:
    run = puntos.simulate(pharmacy, pharmacy, population=puntos.Population(30, months=2))
    page = run.to_html()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<script" not in page
    assert run.summary().startswith(f"Simulated {run.transactions} transactions of 30 customers")
    assert '"transactions"' in run.to_json()
    assert run.horizon == datetime.datetime(2026, 4, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=3)))


def test_frames_in_polars_or_arrow() -> None:
    as_polars = puntos.simulate(A, B, history=pl.from_pandas(small_history()), frames="polars")
    assert isinstance(as_polars.totals, pl.DataFrame)
    assert as_polars.totals.schema["a"] == pl.Decimal(38, 0)
    as_arrow = puntos.simulate(A, B, history=small_history(), frames="arrow")
    assert isinstance(as_arrow.months, pa.Table)
    assert as_arrow.months.to_pylist() == as_polars.months.to_arrow().to_pylist()


def test_a_window_and_a_redemption_propensity(pharmacy) -> None:
    population = puntos.Population(60, months=4, seed=3)
    whole = puntos.simulate(pharmacy, pharmacy, population=population)
    march = puntos.simulate(pharmacy, pharmacy, population=population, since=datetime.date(2026, 3, 1), until="2026-04-01")
    assert 0 < march.transactions < whole.transactions
    assert set(march.months["month"]) <= {"2026-03", "2026-04"}
    spending = puntos.simulate(pharmacy, pharmacy, population=population, redeem_share=Decimal("0.5"), redeem_seed=9)
    assert by_measure(spending)["spent"][0] > by_measure(whole)["spent"][0]


def test_bad_arguments_are_named(pharmacy) -> None:
    with pytest.raises(ValueError, match="pass either history= .* or population="):
        puntos.simulate(A, B)
    with pytest.raises(ValueError, match="not both or neither"):
        puntos.simulate(A, B, history=small_history(), population=puntos.Population(2))
    with pytest.raises(ValueError, match="^redeem_share: 1.5 is not a share between 0 and 1"):
        puntos.simulate(A, B, history=small_history(), redeem_share=Decimal("1.5"))
    with pytest.raises(TypeError, match="^redeem_share: a float"):
        puntos.simulate(A, B, history=small_history(), redeem_share=0.5)
    with pytest.raises(ValueError, match="^column account is missing"):
        puntos.simulate(A, B, history=small_history().drop(columns=["account"]))
    with pytest.raises(ValueError, match="^column tier: a history is replayed through a ledger"):
        puntos.simulate(A, B, history=small_history().assign(tier="Gold"))
    with pytest.raises(ValueError, match="^column spend_12_months: a history is replayed"):
        puntos.simulate(A, B, history=small_history().assign(spend_12_months=0))
    with pytest.raises(ValueError, match="^since: "):
        puntos.simulate(A, B, history=small_history(), since="March")
    with pytest.raises(ValueError, match='^frames: "excel"'):
        puntos.simulate(A, B, history=small_history(), frames="excel")
    with pytest.raises(ValueError, match='^mix: "fish" is not a category; the categories are'):
        puntos.Population(10, mix={"fish": 1})
    with pytest.raises(ValueError, match="at least one customer"):
        puntos.Population(0)
