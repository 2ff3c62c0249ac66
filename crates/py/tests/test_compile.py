"""puntos.compile and puntos.format: programs in, diagnostics with their places out."""

import pytest

import puntos

CLUB = 'program "Club" { currency RUB  timezone "Europe/Moscow" }\n'


def test_a_program_compiles_with_its_name_currency_and_zone(pharmacy: puntos.Program) -> None:
    assert pharmacy.name == "Vita Club"
    assert pharmacy.currency == "RUB"
    assert pharmacy.timezone == "Europe/Moscow"
    assert pharmacy.warnings == []
    assert repr(pharmacy) == '<Program "Vita Club" (RUB, Europe/Moscow)>'


def test_a_syntax_error_names_code_line_and_column() -> None:
    source = CLUB + "rule a { on purchase  earn 5 pointz }\n"
    with pytest.raises(puntos.CompileError) as raised:
        puntos.compile(source, "club.pts")
    error = raised.value
    assert error.code == "P0001"
    assert (error.line, error.column) == (2, 30)
    assert "pointz" in error.rendered and "^^^^^^" in error.rendered
    assert "did you mean `points`?" in error.rendered
    assert str(error).startswith("club.pts:2:30: ")
    [diagnostic] = error.diagnostics
    assert (diagnostic.code, diagnostic.severity) == ("P0001", "error")
    assert (diagnostic.line, diagnostic.column, diagnostic.end_line, diagnostic.end_column) == (
        2,
        30,
        2,
        36,
    )
    assert diagnostic.help == "did you mean `points`?"


def test_every_error_is_reported_and_the_first_gives_the_attributes() -> None:
    source = (
        CLUB
        + "rule a { on purchase  earn 5 points }\n"
        + "rule b { on purchase  when basket.total >= 1000  earn 50% of a }\n"
        + "rule c { on purchase  earn 10% of nowhere }\n"
    )
    with pytest.raises(puntos.CompileError) as raised:
        puntos.compile(source)
    error = raised.value
    codes = [d.code for d in error.diagnostics if d.severity == "error"]
    assert len(codes) == 2, error.rendered
    assert error.code == codes[0] == "P0203"
    assert error.line == 3
    assert "and 1 more errors" in str(error)
    assert "program.pts" in error.rendered, "the default file name is used"


def test_a_warning_does_not_stop_the_program() -> None:
    source = CLUB + "segment unused = customer.age >= 60\nrule a { on purchase  earn 5 points }\n"
    program = puntos.compile(source)
    [warning] = program.warnings
    assert (warning.code, warning.severity, warning.line) == ("P0502", "warning", 2)


def test_format_is_the_formatter_of_puntos_fmt(pharmacy_source: str) -> None:
    assert puntos.format(pharmacy_source) == pharmacy_source, "the examples are formatted"
    messy = 'program "Club" {currency RUB timezone "Europe/Moscow"}\nrule a {on purchase earn 5 points}'
    formatted = puntos.format(messy)
    assert formatted.startswith('program "Club" {\n  currency RUB\n')
    assert puntos.format(formatted) == formatted


def test_format_refuses_text_with_syntax_errors() -> None:
    with pytest.raises(puntos.CompileError) as raised:
        puntos.format("rule {")
    assert raised.value.code == "P0001"


def test_compile_takes_text_only() -> None:
    with pytest.raises(TypeError):
        puntos.compile(b"rule a {}")  # type: ignore[arg-type]
