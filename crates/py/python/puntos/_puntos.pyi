"""Type stubs of the extension module (the Rust crate crates/py)."""

import datetime
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, Optional, TypeVar

__version__: str

# pandas.DataFrame, polars.DataFrame or pyarrow.Table: the result is of the same type.
FrameT = TypeVar("FrameT")

EffectKind = Literal[
    "earn",
    "redeem",
    "discount",
    "issue_coupon",
    "consume_coupon",
    "tier_change",
    "budget_consumed",
    "limit_counted",
    "reverse_earn",
    "return_redeemed",
]
SourceKind = Literal["rule", "promotion", "coupon", "offer", "tier", "redemption", "refund"]

class CompileError(Exception):
    """A program that does not compile: the first error's code, message and place, every
    diagnostic, and the text a terminal shows."""

    code: Optional[str]
    message: Optional[str]
    line: Optional[int]
    column: Optional[int]
    rendered: str
    diagnostics: list[Diagnostic]

class EvalError(ValueError):
    """An input the evaluator refuses; ``field`` names the field at fault (None for a
    computation that failed in the program, placed by ``line`` and ``column``). From
    ``evaluate_batch``, ``row`` and ``transaction`` place it in the table."""

    field: Optional[str]
    row: int
    transaction: str
    message: str
    line: Optional[int]
    column: Optional[int]

class Diagnostic:
    """One problem the compiler found, with its place (one-based lines and columns)."""

    @property
    def code(self) -> str: ...
    @property
    def severity(self) -> Literal["error", "warning"]: ...
    @property
    def message(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def end_line(self) -> int: ...
    @property
    def end_column(self) -> int: ...
    @property
    def help(self) -> Optional[str]: ...
    @property
    def notes(self) -> list[str]: ...

class Source:
    """Where an effect or a trace step comes from."""

    @property
    def kind(self) -> SourceKind: ...
    @property
    def name(self) -> str: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class Share:
    """The part of an effect one basket line carries."""

    @property
    def line(self) -> int: ...
    @property
    def amount(self) -> Decimal: ...

class Effect:
    """One thing a decision does; the attributes of other kinds are None."""

    @property
    def kind(self) -> EffectKind: ...
    @property
    def source(self) -> Optional[Source]: ...
    @property
    def points(self) -> Optional[Decimal]: ...
    @property
    def value(self) -> Optional[Decimal]: ...
    @property
    def amount(self) -> Optional[Decimal]: ...
    @property
    def code(self) -> Optional[str]: ...
    @property
    def coupon(self) -> Optional[str]: ...
    @property
    def promotion(self) -> Optional[str]: ...
    @property
    def available_at(self) -> Optional[datetime.datetime]: ...
    @property
    def expires_at(self) -> Optional[datetime.datetime]: ...
    @property
    def valid_until(self) -> Optional[datetime.datetime]: ...
    @property
    def tier_from(self) -> Optional[str]: ...
    @property
    def tier_to(self) -> Optional[str]: ...
    @property
    def until(self) -> Optional[datetime.date]: ...
    @property
    def of_transaction(self) -> Optional[str]: ...
    @property
    def lines(self) -> list[Share]: ...
    def describe(self) -> str:
        """The effect in one line of words, as ``puntos eval`` prints it."""

class RefusedCoupon:
    """A coupon code presented and not honoured."""

    @property
    def code(self) -> str: ...
    @property
    def coupon(self) -> Optional[str]: ...
    @property
    def reason(self) -> str: ...

class Fact:
    """A named value in the trace."""

    @property
    def what(self) -> str: ...
    @property
    def value(self) -> str: ...

class Step:
    """One step of the trace."""

    @property
    def subject(self) -> Source: ...
    @property
    def applied(self) -> bool: ...
    @property
    def reason(self) -> Optional[str]: ...
    @property
    def facts(self) -> list[Fact]: ...
    @property
    def arithmetic(self) -> list[Fact]: ...
    def explain(self) -> str: ...

class DecidedLine:
    """A basket line as the decision saw it."""

    @property
    def quantity(self) -> Decimal: ...
    @property
    def amount(self) -> Decimal: ...

class Decision:
    """What one evaluation decided."""

    @property
    def transaction(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def program(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def points_earned(self) -> Decimal: ...
    @property
    def points_redeemed(self) -> Decimal: ...
    @property
    def discount_total(self) -> Decimal: ...
    @property
    def effects(self) -> list[Effect]: ...
    @property
    def refused_coupons(self) -> list[RefusedCoupon]: ...
    @property
    def lines(self) -> list[DecidedLine]: ...
    @property
    def trace(self) -> Optional[list[Step]]: ...
    def points_by_source(self) -> list[tuple[Source, Decimal]]:
        """Points per rule or promotion, reversals subtracted, in the order they apply."""
    def explain(self) -> str:
        """The decision as ``puntos eval`` prints it."""
    def to_json(self, pretty: bool = False) -> str:
        """The decision as ``puntos eval --format json`` writes it."""

class Program:
    """A compiled loyalty program, immutable and reusable."""

    @property
    def name(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def warnings(self) -> list[Diagnostic]: ...
    def evaluate(
        self,
        transaction: Mapping[str, Any],
        customer: Optional[Mapping[str, Any]] = None,
        account: Optional[Mapping[str, Any]] = None,
        *,
        trace: bool = False,
        as_of: Optional[datetime.datetime] = None,
    ) -> Decision:
        """Decides one transaction; raises EvalError naming the field at fault, TypeError for
        a float where money or points are expected."""
    def evaluate_batch(
        self,
        frame: FrameT,
        *,
        errors: Literal["raise", "column"] = "raise",
        ignore: Sequence[str] = (),
    ) -> FrameT:
        """Decides a table with one row per basket line keyed by ``transaction_id``; returns a
        table of the same library (pandas, polars or pyarrow) with one row per transaction:
        ``points``, ``points_<rule or promotion>``, ``discount``, ``redeemed``,
        ``redeemed_value`` (decimal128) and, with ``errors="column"``, ``error``."""
    def redeemable(
        self,
        transaction: Mapping[str, Any],
        customer: Optional[Mapping[str, Any]] = None,
        account: Optional[Mapping[str, Any]] = None,
        *,
        as_of: Optional[datetime.datetime] = None,
    ) -> Decimal:
        """The most points the transaction could pay with."""

class Population:
    """A seeded synthetic population of the example pharmacy chain's customers."""

    def __init__(
        self,
        customers: int,
        *,
        months: int = 12,
        start: Optional[datetime.date] = None,
        seed: int = 42,
        visits: int = 100,
        prices: int = 100,
        mix: Optional[Mapping[str, int]] = None,
        seasonal: bool = True,
    ) -> None: ...
    def history(self, program: Program, *, frames: Literal["pandas", "polars", "arrow"] = "pandas") -> Any:
        """The population's transactions as a table ``simulate(history=...)`` reads."""

class Simulation:
    """The outcome of replaying a history under programs A and B."""

    @property
    def transactions(self) -> int: ...
    @property
    def horizon(self) -> datetime.datetime: ...
    @property
    def gainers(self) -> int: ...
    @property
    def losers(self) -> int: ...
    @property
    def unchanged(self) -> int: ...
    @property
    def totals(self) -> Any:
        """measure, a, b, delta: earned, taken_back, spent, expired, outstanding, pending,
        liability, liability_less_breakage, discounts, applied, refused."""
    @property
    def months(self) -> Any:
        """month, program, earned, taken_back, spent, expired, outstanding."""
    @property
    def cohorts(self) -> Any:
        """cohort, program, age_months, earned, taken_back, spent, expired, outstanding."""
    @property
    def sources(self) -> Any:
        """source, a, b, delta: points per rule and promotion (net of refunds)."""
    @property
    def customers(self) -> Any:
        """account, a_issued, b_issued, delta, a_outstanding, b_outstanding, a_tier, b_tier."""
    def summary(self) -> str: ...
    def to_html(self) -> str: ...
    def to_json(self) -> str: ...

def simulate(
    a: Program,
    b: Program,
    *,
    history: Any = None,
    population: Optional[Population] = None,
    since: Optional[datetime.date | datetime.datetime | str] = None,
    until: Optional[datetime.date | datetime.datetime | str] = None,
    top: int = 10,
    redeem_share: Optional[Decimal | str] = None,
    redeem_seed: int = 1,
    ignore: Sequence[str] = (),
    frames: Literal["pandas", "polars", "arrow"] = "pandas",
) -> Simulation:
    """Replays ``history`` (basket lines with ``account``) or ``population`` under A and B."""

class Migration:
    """What ``migrate`` found: invariants, gates and per-row results."""

    @property
    def passed(self) -> bool: ...
    @property
    def loaded(self) -> Optional[tuple[int, int]]:
        """(accounts opened, accounts already loaded unchanged), when loaded."""
    @property
    def checks(self) -> list[tuple[str, bool, str]]:
        """(name, holds, detail) of every invariant and quality gate."""
    @property
    def identity(self) -> Any: ...
    @property
    def reconciliation(self) -> Any: ...
    @property
    def accounts(self) -> Any: ...
    @property
    def cutover(self) -> Any: ...
    @property
    def rejects(self) -> Any: ...
    def summary(self) -> str: ...
    def to_html(self) -> str: ...
    def to_json(self) -> str: ...

def migrate(
    export: str | os.PathLike[str],
    *,
    settings: Optional[Mapping[str, Any]] = None,
    load: Optional[str | os.PathLike[str]] = None,
    frames: Literal["pandas", "polars", "arrow"] = "pandas",
) -> Migration:
    """Runs every migration step on a legacy export; loads into a SQLite ledger with ``load``
    when every invariant and gate passes."""

class Account:
    """An account as the ledger holds it."""

    @property
    def id(self) -> str: ...
    @property
    def balance(self) -> Decimal: ...
    @property
    def available(self) -> Decimal: ...
    @property
    def pending(self) -> Decimal: ...
    @property
    def tier(self) -> Optional[str]: ...
    @property
    def tier_until(self) -> Optional[datetime.date]: ...
    @property
    def aliases(self) -> list[str]: ...
    @property
    def lots(
        self,
    ) -> list[
        tuple[str, str, Decimal, Decimal, datetime.datetime, Optional[datetime.datetime], Optional[datetime.datetime]]
    ]:
        """(id, source, points, remaining, earned_at, available_at, expires_at)."""
    def to_json(self) -> str: ...

class Store:
    """A SQLite ledger."""

    @staticmethod
    def open(path: str | os.PathLike[str], programs: Optional[Program | Sequence[Program]] = None) -> Store: ...
    def open_account(self, id: str, customer: Optional[Mapping[str, Any]] = None) -> Account: ...
    def account(self, id: str) -> Optional[Account]: ...
    def apply(
        self,
        transaction: Mapping[str, Any],
        *,
        account: str,
        refund_of: Optional[str] = None,
        customer: Optional[Mapping[str, Any]] = None,
    ) -> Decision: ...
    def redeemable(self, transaction: Mapping[str, Any], *, account: str) -> Decimal: ...
    def advance(self, as_of: datetime.datetime, *, account: Optional[str] = None) -> int: ...
    def journal(self, account: Optional[str] = None, *, frames: Literal["pandas", "polars", "arrow"] = "pandas") -> Any: ...
    def verify(self) -> int: ...

def compile(source: str, filename: Optional[str] = None) -> Program:
    """Compiles a program's source; raises CompileError."""

def format(source: str, filename: Optional[str] = None) -> str:
    """Formats a program's source as ``puntos fmt`` does; raises CompileError on syntax
    errors."""
