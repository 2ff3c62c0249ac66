"""puntos.migrate: the reconciler of `puntos migrate run`, its tables equal to the CLI's files."""

import csv
from decimal import Decimal
from pathlib import Path

import pytest

import puntos
from conftest import ROOT

SMALL = ROOT / "tests" / "legacy" / "small"
GOLDEN = ROOT / "tests" / "cli"


def same_as_csv(frame, golden: Path) -> None:
    """Every cell of `frame` is the CLI's CSV cell: text as written, numbers equal, empty as null."""
    with golden.open(newline="") as f:
        rows = list(csv.reader(f))
    assert list(frame.columns) == rows[0]
    assert len(frame) == len(rows) - 1
    for got, want in zip(frame.itertuples(index=False), rows[1:]):
        for value, text in zip(got, want):
            if value is None or value is pd_na():
                assert text == ""
            elif isinstance(value, Decimal):
                assert value == Decimal(text), (golden.name, got, want)
            elif isinstance(value, int):
                assert value == int(text)
            else:
                assert value == text, (golden.name, got, want)


def pd_na() -> object:
    import pandas as pd

    return pd.NA


def test_the_tables_are_the_files_of_the_cli() -> None:
    run = puntos.migrate(SMALL, settings={"expiry_months": 12})
    assert run.passed, run.summary()
    same_as_csv(run.reconciliation, GOLDEN / "migrate-reconciliation.csv")
    same_as_csv(run.accounts, GOLDEN / "migrate-accounts.csv")
    same_as_csv(run.cutover, GOLDEN / "migrate-cutover.csv")
    same_as_csv(run.identity, GOLDEN / "migrate-identity.csv")
    # The reconcile step's 17 (8 of customers and cards, 9 of balances and transactions) and the
    # cutover's repeated transaction in delta/.
    assert len(run.rejects) == 18
    assert list(run.rejects["file"]).count("delta/transactions.csv") == 1
    assert set(run.rejects["file"]) >= {"customers.csv", "cards.csv", "balances.csv"}
    assert isinstance(run.reconciliation["legacy_balance"].iloc[0], Decimal)


def test_checks_summary_report_and_json() -> None:
    run = puntos.migrate(SMALL)
    names = [name for name, _, _ in run.checks]
    assert "every row of customers.csv accounted for once" in names
    assert all(holds for _, holds, _ in run.checks)
    assert run.summary().startswith("Migration run\n")
    assert run.to_html().startswith("<!DOCTYPE html>")
    assert '"invariants"' in run.to_json()
    assert run.loaded is None, "nothing is loaded unless asked"


def test_a_failed_gate_refuses_the_load(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    run = puntos.migrate(SMALL, settings={"gates": {"max_rejected_rows_percent": 0}}, load=db)
    assert not run.passed
    failed = [name for name, holds, _ in run.checks if not holds]
    assert failed and "rejected rows" in failed[0]
    assert run.loaded is None


def test_a_load_opens_the_accounts_once(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    first = puntos.migrate(SMALL, load=db)
    assert first.loaded == (14, 0)
    again = puntos.migrate(SMALL, load=db)
    assert again.loaded == (0, 14), "a rerun finds every account loaded, unchanged"
    store = puntos.Store.open(db)
    account = store.account("C001")
    assert account is not None and account.balance == Decimal("140"), "C001 and C002 share +79123456789"
    assert store.verify() > 0


def test_bad_settings_and_paths_are_named() -> None:
    with pytest.raises(ValueError, match="^settings.regoin: unknown field"):
        puntos.migrate(SMALL, settings={"regoin": "RU"})
    with pytest.raises(ValueError, match="phone_conflict: `coin-toss` is not earliest-registered or most-cards"):
        puntos.migrate(SMALL, settings={"phone_conflict": "coin-toss"})
    with pytest.raises(TypeError, match="^settings.gates.max_unexplained_points: a float"):
        puntos.migrate(SMALL, settings={"gates": {"max_unexplained_points": 1.5}})
    with pytest.raises(ValueError, match="cannot read .*nowhere"):
        puntos.migrate(ROOT / "nowhere")
