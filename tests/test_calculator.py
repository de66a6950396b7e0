"""Safe calculator (RELIABILITY F1-F4) and the current_time built-in."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from agent_app.toolbox.calculator import CalculatorError, calculator, evaluate, format_number
from agent_app.toolbox.clock import current_time, describe_now, make_current_time

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('id')",
        "open('/etc/passwd').read()",
        "exec('1')",
        "eval('1')",
        "lambda: 1",
        "[1, 2]",
        "'a' * 3",
        "x",
        "a = 1",
        "1 if 1 else 2",
        "1 < 2",
        "1 and 2",
        "print(1)",
        "sqrt(x=4)",
        "sqrt(*[4])",
        "f'{1}'",
        "1 << 1000000",
        "~1",
        "1 @ 2",
        "True + 1",
        "1j",
        "__builtins__",
        "(lambda: 0)()",
    ],
)
def test_f1_only_the_allowlist_evaluates(expression: str) -> None:
    with pytest.raises(CalculatorError):
        evaluate(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "().__class__.__bases__[0].__subclasses__()",
        "math.sin.__globals__",
        "sqrt.__globals__",
        "(1).__class__",
        "pi.real",
        "[].__class__",
        "__name__",
        "_",
    ],
)
def test_f2_no_attributes_subscripts_or_dunders(expression: str) -> None:
    with pytest.raises(CalculatorError):
        evaluate(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "9**9**9",
        "10**10**10",
        "factorial(10**8)",
        "2**(2**64)",
        "(10**500)*(10**600)",
        "factorial(451)",
        "2**3322 * 2",
        "10**1000",
        "9" * 400 + "**" + "9" * 50,
    ],
)
def test_f3_huge_numbers_fail_fast(expression: str) -> None:
    started = time.perf_counter()
    with pytest.raises(CalculatorError, match="number too large"):
        evaluate(expression)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "expression, message",
    [
        ("1/0", "division by zero"),
        ("1//0", "division by zero"),
        ("1%0", "division by zero"),
        ("0**-1", "division by zero"),
        ("sqrt(-1)", "math domain error"),
        ("log(0)", "math domain"),
        ("1e309", "number too large"),
        ("nan", "not a number"),
        ("inf", "not a number"),
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("2 +", "syntax"),
        ("(-8)**(1/3)", "complex"),
        ("exp(1000)", "number too large"),
        ("x" * 600, "too long"),
    ],
)
def test_f4_clear_errors(expression: str, message: str) -> None:
    with pytest.raises(CalculatorError, match=message):
        evaluate(expression)


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("１＋１", "2"),
        ("2^3", "8"),
        ("2^3^2", "512"),
        ("3×4÷2", "6"),
        ("5²", "25"),
        ("2π", None),
        ("（1＋2）＊3", "9"),
        ("0.1+0.2", "0.3"),
        ("2**-1", "0.5"),
        ("7//2", "3"),
        ("-7 % 3", "2"),
        ("sqrt(16)", "4"),
        ("log(8, 2)", "3"),
        ("factorial(20)", "2432902008176640000"),
        ("round(2.567, 2)", "2.57"),
        ("max(3, 9, 4)", "9"),
        ("sin(pi/2)", "1"),
        ("1_000 * 3", "3000"),
        ("−5 + 2", "-3"),
    ],
)
def test_f4_documented_normalization(expression: str, expected: str | None) -> None:
    if expected is None:  # implicit multiplication is not supported: a clear error, not a guess
        with pytest.raises(CalculatorError):
            evaluate(expression)
    else:
        assert format_number(evaluate(expression)) == expected


def test_tool_returns_results_and_errors_as_text() -> None:
    ok = calculator.invoke(
        {"type": "tool_call", "id": "1", "name": "calculator", "args": {"expression": "2^10"}}
    )
    bad = calculator.invoke(
        {"type": "tool_call", "id": "2", "name": "calculator", "args": {"expression": "9**9**9"}}
    )
    assert ok.content == "1024" and ok.status == "success"
    assert bad.status == "error" and bad.content.startswith("Calculator error: number too large")


def test_deep_nesting_is_rejected_cleanly() -> None:
    with pytest.raises(CalculatorError):
        evaluate("(" * 240 + "1" + ")" * 240)
    with pytest.raises(CalculatorError, match="too long"):
        evaluate("+".join(["1"] * 240))


def test_current_time_defaults_to_shanghai() -> None:
    fixed = datetime(2025, 1, 1, 0, 30, tzinfo=UTC)
    assert describe_now("Asia/Shanghai", lambda: fixed).startswith(
        "2025-01-01 08:30:00 CST (Asia/Shanghai, UTC+08:00), Wednesday"
    )
    assert "Asia/Shanghai" in current_time.invoke({})
    assert "Europe/Berlin" in make_current_time("Europe/Berlin").invoke({})


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "../../etc/passwd", "/etc/localtime", "", "a" * 200]
)
def test_current_time_unknown_zone_is_a_clear_error(zone: str) -> None:
    out = current_time.invoke(
        {"type": "tool_call", "id": "1", "name": "current_time", "args": {"timezone": zone}}
    )
    assert out.status == "error" and out.content.startswith("Unknown timezone")


def test_bad_default_timezone_fails_at_startup() -> None:
    with pytest.raises(Exception, match="Unknown timezone"):
        make_current_time("Nowhere/Land")


def test_stated_limits_are_the_real_ones() -> None:
    from agent_app.toolbox.calculator import MAX_DIGITS, MAX_FACTORIAL

    assert len(str(evaluate(f"factorial({MAX_FACTORIAL})"))) <= MAX_DIGITS
    with pytest.raises(CalculatorError, match=f"factorial of more than {MAX_FACTORIAL}"):
        evaluate(f"factorial({MAX_FACTORIAL + 1})")  # refused by the factorial rule it states
    assert evaluate("factorial(449)") == evaluate("449 * factorial(448)")
    # A result of exactly MAX_DIGITS digits is allowed, one more digit is not.
    assert len(str(evaluate("(10**500 - 1) * (10**500 + 1)"))) == MAX_DIGITS
    with pytest.raises(CalculatorError, match=f"more than {MAX_DIGITS} digits"):
        evaluate("(10**500 + 1) * (10**500 + 1)")
    assert "Calculator error" in calculator.invoke(
        {"expression": f"factorial({MAX_FACTORIAL + 1})"}
    )
