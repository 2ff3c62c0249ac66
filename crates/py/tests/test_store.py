"""puntos.Store: a SQLite ledger read and written from Python with the ledger's semantics."""

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

import puntos

MOSCOW = datetime.timezone(datetime.timedelta(hours=3))


def test_apply_reads_back_and_the_journal(pharmacy, tmp_path: Path) -> None:
    store = puntos.Store.open(tmp_path / "ledger.db", pharmacy)
    opened = store.open_account("C-1", {"id": "C-1", "birth_date": datetime.date(1990, 1, 1)})
    assert (opened.id, opened.balance) == ("C-1", 0)
    purchase = {"id": "T-1", "time": "2026-03-14T12:30:00+03:00", "lines": [{"category": "otc", "unit_price": Decimal("1234.50")}]}
    decision = store.apply(purchase, account="C-1")
    assert decision.points_earned == Decimal("123")
    again = store.apply(purchase, account="C-1")
    assert again.to_json() == decision.to_json(), "a repeated transaction returns its first decision"
    account = store.account("C-1")
    assert account is not None
    assert (account.balance, account.available, account.pending) == (123, 0, 123), "pending 14 days"
    [lot] = account.lots
    assert lot[1] == "rule base" and lot[2] == Decimal("123")
    assert store.advance(datetime.datetime(2026, 4, 1, tzinfo=MOSCOW), account="C-1") == 1
    assert store.account("C-1").available == 123  # type: ignore[union-attr]
    journal = store.journal("C-1")
    assert list(journal.columns) == ["seq", "at", "account", "transaction", "kind", "lot", "points", "note"]
    assert list(journal["transaction"].dropna()) == ["T-1"]
    assert journal["points"].sum() == 123
    assert store.verify() == len(store.journal())
    assert store.redeemable({"time": "2026-04-02T10:00:00+03:00", "lines": [{"unit_price": 1000}]}, account="C-1") == 123


def test_a_refused_transaction_is_an_eval_error(pharmacy, tmp_path: Path) -> None:
    store = puntos.Store.open(tmp_path / "ledger.db", pharmacy)
    store.open_account("C-1")
    with pytest.raises(puntos.EvalError) as raised:
        store.apply({"id": "T-9", "time": "2026-03-14T12:30:00+03:00", "redeem": 50, "lines": [{"unit_price": 100}]}, account="C-1")
    assert raised.value.field == "transaction.redeem"
    with pytest.raises(RuntimeError, match="no account has"):
        store.apply({"id": "T-8", "time": "2026-03-14T12:30:00+03:00", "lines": []}, account="C-404")
    with pytest.raises(TypeError, match=r"^transaction\.lines\[0\]\.unit_price: a float"):
        store.apply({"time": "2026-03-14T12:30:00+03:00", "lines": [{"unit_price": 1.5}]}, account="C-1")
    assert store.account("C-404") is None


def test_a_store_without_programs_reads_only(tmp_path: Path) -> None:
    store = puntos.Store.open(tmp_path / "ledger.db")
    store.open_account("C-1")
    with pytest.raises(puntos.EvalError, match="no version of the program is in effect"):
        store.apply({"id": "T-7", "time": "2026-03-14T12:30:00+03:00", "lines": []}, account="C-1")
    with pytest.raises(RuntimeError, match="tmp"):
        puntos.Store.open(tmp_path / "missing" / "dir" / "ledger.db")
