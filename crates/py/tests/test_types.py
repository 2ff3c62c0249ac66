"""The type stubs: mypy checks the examples against them, and catches a float mixed into points."""

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

EXAMPLES = ROOT / "examples" / "python"


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_the_examples_type_check_against_the_stubs() -> None:
    examples = sorted(str(p) for p in EXAMPLES.glob("*.py"))
    assert examples, "examples/python has scripts"
    result = mypy(*examples)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_stubs_say_points_are_decimals(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "import puntos\n"
        "program = puntos.compile('')\n"
        "decision = program.evaluate({})\n"
        "total: float = decision.points_earned + 1.5\n"
        "program.evaluate({}, trace='yes')\n"
    )
    result = mypy(str(wrong))
    assert result.returncode == 1
    assert 'Unsupported operand types for + ("Decimal" and "float")' in result.stdout
    assert 'Argument "trace" to "evaluate" of "Program" has incompatible type "str"' in result.stdout


def test_the_simulation_example_saves_its_chart(tmp_path: Path) -> None:
    chart = tmp_path / "chart.png"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "simulate_rule_change.py"), str(chart)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Simulated ")
    assert "chart saved to" in result.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
