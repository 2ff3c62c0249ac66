"""puntos: loyalty-points rules for analysts.

The same core as the ``puntos`` command, the ledger and the WebAssembly build: compile a
program's ``.pts`` source, evaluate transactions, and read every point it awards with the
reason. Money and points are :class:`decimal.Decimal` in and out, never float.

>>> import puntos
>>> from decimal import Decimal
>>> program = puntos.compile('''
... program "Club" { currency RUB  timezone "Europe/Moscow" }
... rule base { on purchase  earn floor(item.amount / 10 RUB) points for each item }
... ''')
>>> decision = program.evaluate({
...     "time": "2026-03-14T12:30:00+03:00",
...     "lines": [{"sku": "A1", "unit_price": Decimal("199.90"), "quantity": 2}],
... })
>>> decision.points_earned
Decimal('39')
"""

from ._puntos import (
    Account,
    CompileError,
    DecidedLine,
    Decision,
    Diagnostic,
    Effect,
    EvalError,
    Fact,
    Migration,
    Population,
    Program,
    RefusedCoupon,
    Share,
    Simulation,
    Source,
    Step,
    Store,
    __version__,
    compile,
    format,
    migrate,
    simulate,
)

__all__ = [
    "Account",
    "CompileError",
    "DecidedLine",
    "Decision",
    "Diagnostic",
    "Effect",
    "EvalError",
    "Fact",
    "Migration",
    "Population",
    "Program",
    "RefusedCoupon",
    "Share",
    "Simulation",
    "Source",
    "Step",
    "Store",
    "__version__",
    "compile",
    "format",
    "migrate",
    "simulate",
]
