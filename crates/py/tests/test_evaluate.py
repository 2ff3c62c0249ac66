"""Program.evaluate and Program.redeemable: decisions as Python objects, decimals both ways."""

import datetime
import json
from decimal import Decimal

import pytest

import puntos

SATURDAY = "2026-03-14T12:30:00+03:00"


def basket(*lines: dict, **fields: object) -> dict:
    return {"id": "T-1", "time": SATURDAY, "lines": list(lines), **fields}


VITAMINS = {"sku": "VIT-C", "category": "vitamins", "unit_price": Decimal("899.00"), "quantity": 2}
OTC = {"sku": "OTC-1", "category": "otc", "unit_price": Decimal("312.50")}


def test_points_are_earned_per_rule_with_their_lines(pharmacy, no_history) -> None:
    # base: floor(1798 / 10) = 179 and floor(312.50 / 10) = 31; vitamin month: 2 x 179 = 358.
    decision = pharmacy.evaluate(basket(VITAMINS, OTC), account=no_history)
    assert decision.points_earned == Decimal("568")
    assert isinstance(decision.points_earned, Decimal)
    assert (decision.transaction, decision.kind, decision.program, decision.currency) == (
        "T-1",
        "purchase",
        "Vita Club",
        "RUB",
    )
    earns = [e for e in decision.effects if e.kind == "earn"]
    assert [(str(e.source), e.points) for e in earns] == [
        ("rule base", Decimal("210")),
        ("promotion vitamin_month", Decimal("358")),
    ]
    base = earns[0]
    assert [(s.line, s.amount) for s in base.lines] == [(0, Decimal("179")), (1, Decimal("31"))]
    assert sum(s.amount for s in base.lines) == base.points
    # pending 14 days, expire after 365 days, in the program's time zone.
    assert base.available_at == datetime.datetime(
        2026, 3, 28, 12, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=3))
    )
    assert base.expires_at is not None and base.expires_at.year == 2027
    assert base.value is None and base.code is None, "attributes of other kinds are None"
    budget = decision.effects[-1]
    assert (budget.kind, budget.promotion, budget.amount) == (
        "budget_consumed",
        "vitamin_month",
        Decimal("358"),
    )
    assert [(str(s), p) for s, p in decision.points_by_source()] == [
        ("rule base", Decimal("210")),
        ("promotion vitamin_month", Decimal("358")),
    ]
    assert [(line.quantity, line.amount) for line in decision.lines] == [
        (Decimal("2"), Decimal("1798.00")),
        (Decimal("1"), Decimal("312.50")),
    ]
    assert decision.trace is None, "no trace unless asked for"


def test_the_trace_explains_what_applied_and_what_did_not(pharmacy, no_history) -> None:
    decision = pharmacy.evaluate(basket(VITAMINS), account=no_history, trace=True)
    assert decision.trace is not None
    steps = {(s.subject.kind, s.subject.name): s for s in decision.trace}
    gold = steps[("tier", "Gold")]
    assert not gold.applied and gold.reason == "does not qualify"
    assert [(f.what, f.value) for f in gold.facts] == [
        ("spend(last 12 months)", "0 RUB"),
        ("spend(last 12 months) >= 30000 RUB", "false"),
    ]
    base = steps[("rule", "base")]
    assert base.applied and base.facts[0].what == "line 0 (VIT-C)"
    assert base.arithmetic[-1].what == "earned"
    text = decision.explain()
    assert text.startswith("purchase T-1 under Vita Club\n")
    assert "why:\n" in text and "  - tier Gold: does not qualify\n" in text
    assert repr(gold) == "<Step tier Gold not applied: does not qualify>"


def test_the_json_is_what_puntos_eval_writes(pharmacy, no_history) -> None:
    decision = pharmacy.evaluate(basket(VITAMINS), account=no_history)
    data = json.loads(decision.to_json())
    assert data["effects"][0] == {
        "effect": "earn",
        "source": {"rule": "base"},
        "points": "179",
        "available_at": "2026-03-28T12:30:00+03:00",
        "expires_at": "2027-03-14T12:30:00+03:00",
        "lines": [{"line": 0, "amount": "179"}],
    }
    assert json.loads(decision.to_json(pretty=True)) == data


def test_a_refund_takes_back_what_its_purchase_earned(pharmacy) -> None:
    gold = {"tier": {"name": "Gold", "until": datetime.date(2026, 12, 31)}, "spend": {"12 months": 35000}}
    purchase = pharmacy.evaluate(
        {
            "id": "P-1",
            "time": "2026-02-10T12:00:00+03:00",
            "lines": [{"sku": "VIT-D", "category": "vitamins", "unit_price": 459, "quantity": 3}],
        },
        account=gold,
    )
    assert purchase.points_earned == Decimal("205"), "base 137, gold 68"
    one_unit = {
        "kind": "refund",
        "time": "2026-02-12T12:00:00+03:00",
        "lines": [{"original_line": 0, "unit_price": 459, "quantity": 1}],
    }
    # The original purchase as the Decision object, or as its JSON read back: the same.
    for original in (purchase, json.loads(purchase.to_json())):
        refund = pharmacy.evaluate({**one_unit, "refund": {"original": original}}, account=gold)
        reversed_ = {(str(e.source), e.points, e.of_transaction) for e in refund.effects if e.kind == "reverse_earn"}
        assert reversed_ == {
            ("rule base", Decimal("46"), "P-1"),
            ("rule gold_boost", Decimal("23"), "P-1"),
        }
        assert refund.points_earned == Decimal("-69")


def test_redeemable_is_what_a_till_can_offer(pharmacy, no_history) -> None:
    account = {**no_history, "available": 5000}
    # max 30% of 1798 = 539.40, in steps of 1 point at 1 RUB: 539.
    assert pharmacy.redeemable(basket(VITAMINS), account=account) == Decimal("539")
    decision = pharmacy.evaluate(basket(VITAMINS, redeem=539), account=account)
    [redeem] = [e for e in decision.effects if e.kind == "redeem"]
    assert (redeem.points, redeem.value) == (Decimal("539"), Decimal("539"))
    assert pharmacy.redeemable(basket(VITAMINS), account={**no_history, "available": 50}) == 0


def test_dates_and_aware_datetimes_are_read(pharmacy, no_history) -> None:
    moscow = datetime.timezone(datetime.timedelta(hours=3))
    at = datetime.datetime(2026, 3, 14, 12, 30, tzinfo=moscow)
    decision = pharmacy.evaluate(
        {"time": at, "lines": [VITAMINS]},
        customer={"birth_date": datetime.date(1960, 5, 20)},
        account=no_history,
        as_of=at,
    )
    # 65 years old on a Saturday: base 179, vitamin month 358, senior weekend 100% of base 179.
    assert decision.points_earned == Decimal("716")
    assert [str(s) for s, _ in decision.points_by_source()] == [
        "rule base",
        "promotion vitamin_month",
        "promotion senior_weekend",
    ], "in the order of the decision's effects"


# Bad input: the error a user sees, with the field it names.


def test_a_float_is_a_type_error_that_says_what_to_pass(pharmacy, no_history) -> None:
    with pytest.raises(TypeError) as raised:
        pharmacy.evaluate(basket({"unit_price": 899.0}), account=no_history)
    assert str(raised.value) == (
        "transaction.lines[0].unit_price: a float (899.0) where an exact number is expected; "
        'pass decimal.Decimal("899.0") or the text "899.0" (money and points are never floats)'
    )
    with pytest.raises(TypeError, match=r"^account\.spend\.12 months: a float"):
        pharmacy.evaluate(basket(VITAMINS), account={"spend": {"12 months": 0.5}})
    with pytest.raises(TypeError, match=r"^transaction\.redeem: a float"):
        pharmacy.evaluate(basket(VITAMINS, redeem=10.0), account=no_history)


def test_an_unknown_field_names_its_path(pharmacy, no_history) -> None:
    with pytest.raises(puntos.EvalError) as raised:
        pharmacy.evaluate(basket({"sku": "A", "unit_price": 10, "prise": 5}), account=no_history)
    assert raised.value.field == "transaction.lines[0].prise"
    assert "unknown field `prise`" in raised.value.message
    assert isinstance(raised.value, ValueError)


def test_bad_values_name_their_fields(pharmacy, no_history) -> None:
    cases = [
        (basket({"unit_price": "ten"}), no_history, "transaction.lines[0].unit_price"),
        (basket({"unit_price": 10, "quantity": -1}), no_history, "transaction.lines[0].quantity"),
        (basket({"unit_price": -10}), no_history, "transaction.lines[0].unit_price"),
        ({"time": "2026-03-14T12:30:00", "lines": [VITAMINS]}, no_history, "transaction.time"),
        (basket(VITAMINS, currency="EUR"), no_history, "transaction.currency"),
        (basket(VITAMINS, redeem=500), {**no_history, "available": 100}, "transaction.redeem"),
        (basket(VITAMINS), None, "account.spend"),
        ({"lines": [VITAMINS]}, no_history, "transaction"),
    ]
    for transaction, account, field in cases:
        with pytest.raises(puntos.EvalError) as raised:
            pharmacy.evaluate(transaction, account=account)
        assert raised.value.field == field, (transaction, str(raised.value))
        assert str(raised.value).startswith(field + ": ")


def test_an_unknown_coupon_is_refused_with_its_reason_not_skipped(pharmacy, no_history) -> None:
    decision = pharmacy.evaluate(basket(VITAMINS, coupons=["NOPE-123"]), account=no_history)
    [refused] = decision.refused_coupons
    assert (refused.code, refused.coupon, refused.reason) == ("NOPE-123", None, "unknown code")


def test_a_naive_datetime_is_refused(pharmacy, no_history) -> None:
    with pytest.raises(ValueError, match=r"^transaction\.time: a datetime without a time zone"):
        pharmacy.evaluate({"time": datetime.datetime(2026, 3, 14, 12, 30), "lines": []}, account=no_history)


def test_other_python_values_are_type_errors(pharmacy, no_history) -> None:
    with pytest.raises(TypeError, match=r"^transaction\.lines\[0\]: cannot read a set here"):
        pharmacy.evaluate(basket({1, 2}), account=no_history)
    with pytest.raises(TypeError, match=r"^transaction: a key 1 that is not text"):
        pharmacy.evaluate({1: "x"}, account=no_history)
    with pytest.raises(ValueError, match=r"^transaction\.lines\[0\]\.unit_price: Decimal\('NaN'\) is not a finite"):
        pharmacy.evaluate(basket({"unit_price": Decimal("NaN")}), account=no_history)


def test_nesting_deeper_than_the_limit_is_an_error(pharmacy) -> None:
    deep: dict = {}
    inner = deep
    for _ in range(40):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(ValueError, match="nested more than 32 levels deep"):
        pharmacy.evaluate({"time": SATURDAY, "store": deep})


def test_a_cycle_is_an_error_not_a_crash(pharmacy) -> None:
    cycle: dict = {}
    cycle["self"] = cycle
    with pytest.raises(ValueError, match="nested more than 32 levels deep"):
        pharmacy.evaluate({"time": SATURDAY, "store": cycle})


def test_too_many_lines_is_an_error_naming_the_limit(pharmacy, no_history) -> None:
    many = [{"unit_price": 1}] * 10_001
    with pytest.raises(puntos.EvalError) as raised:
        pharmacy.evaluate(basket(*many), account=no_history)
    assert raised.value.field == "transaction.lines"
    assert "10000" in raised.value.message.replace(",", "")
