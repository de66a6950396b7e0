"""Safe calculator: an AST allowlist evaluator with size caps, never eval."""

from __future__ import annotations

import ast
import math
import operator
import unicodedata
from collections.abc import Callable

from langchain_core.tools import ToolException, tool

MAX_CHARS = 500
MAX_NODES = 200
MAX_DIGITS = 1000  # an integer result may have at most this many digits
MAX_INT_BITS = int(MAX_DIGITS * math.log2(10)) + 1  # the bit length of the largest such integer
_INT_LIMIT = 10**MAX_DIGITS  # the exact bound; bit lengths are only a cheap pre-check
MAX_FACTORIAL = 449  # the largest n whose factorial has at most MAX_DIGITS digits (450! has 1001)

Number = int | float


class CalculatorError(ValueError):
    """A user-facing calculator error; the message is safe to show to the model and the user."""


# Characters a human types that Python spells differently. `^` means power on every
# calculator, so it is mapped to `**` (XOR has no use here). `%` stays modulo.
_REPLACEMENTS = {"^": "**", "×": "*", "÷": "/", "−": "-", "²": "**2", "³": "**3", "π": "pi"}


def normalize(expression: str) -> str:
    """Map full-width forms (NFKC: `１＋１` -> `1+1`), `^`, `×`, `÷`, `²`, `π` to Python syntax."""
    for src, dst in _REPLACEMENTS.items():
        expression = expression.replace(src, dst)
    expression = unicodedata.normalize("NFKC", expression)
    return expression.replace("^", "**").strip()


def _checked_int(value: int) -> int:
    if value.bit_length() > MAX_INT_BITS or abs(value) >= _INT_LIMIT:
        raise CalculatorError(f"number too large (more than {MAX_DIGITS} digits)")
    return value


def _checked(value: Number) -> Number:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return _checked_int(value)
    if isinstance(value, float):
        if math.isnan(value):
            raise CalculatorError("result is not a number (NaN)")
        if math.isinf(value):
            raise CalculatorError("number too large (overflows a float)")
        return value
    raise CalculatorError("unsupported value")


def _power(base: Number, exponent: Number) -> Number:
    # Bound the result size before computing it: 9**9**9 would otherwise run for minutes.
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise CalculatorError(f"number too large (more than {MAX_DIGITS} digits)")
    if base == 0 and exponent < 0:
        raise CalculatorError("division by zero")
    result = operator.pow(base, exponent)
    if isinstance(result, complex):
        raise CalculatorError("math domain error (complex result)")
    return result


def _multiply(left: Number, right: Number) -> Number:
    if isinstance(left, int) and isinstance(right, int):
        # The product has at least a + b - 1 bits: above MAX_INT_BITS it cannot fit.
        if left.bit_length() + right.bit_length() - 1 > MAX_INT_BITS:
            raise CalculatorError(f"number too large (more than {MAX_DIGITS} digits)")
    return left * right


_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _multiply,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def _factorial(n: Number) -> int:
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if not isinstance(n, int) or n < 0:
        raise CalculatorError("factorial needs a non-negative integer")
    if n > MAX_FACTORIAL:
        raise CalculatorError(f"number too large (factorial of more than {MAX_FACTORIAL})")
    return math.factorial(n)


def _round(x: Number, ndigits: Number = 0) -> Number:
    if not isinstance(ndigits, int) or abs(ndigits) > 100:
        raise CalculatorError("round() digits must be an integer between -100 and 100")
    return round(x, ndigits) if ndigits else round(x)


FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    # name: (function, min args, max args)
    "sqrt": (math.sqrt, 1, 1),
    "cbrt": (lambda x: math.copysign(abs(x) ** (1 / 3), x), 1, 1),
    "exp": (math.exp, 1, 1),
    "log": (math.log, 1, 2),
    "ln": (math.log, 1, 1),
    "log10": (math.log10, 1, 1),
    "log2": (math.log2, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "asin": (math.asin, 1, 1),
    "acos": (math.acos, 1, 1),
    "atan": (math.atan, 1, 1),
    "atan2": (math.atan2, 2, 2),
    "sinh": (math.sinh, 1, 1),
    "cosh": (math.cosh, 1, 1),
    "tanh": (math.tanh, 1, 1),
    "degrees": (math.degrees, 1, 1),
    "radians": (math.radians, 1, 1),
    "hypot": (math.hypot, 1, 10),
    "abs": (abs, 1, 1),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "round": (_round, 1, 2),
    "factorial": (_factorial, 1, 1),
    "gcd": (math.gcd, 1, 10),
    "min": (min, 1, 50),
    "max": (max, 1, 50),
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


class _Evaluator:
    """Walks an allowlisted expression tree; any other node type is rejected, never executed."""

    def __init__(self) -> None:
        self.nodes = 0

    def visit(self, node: ast.AST) -> Number:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise CalculatorError("expression too long")
        if isinstance(node, ast.Expression):
            return self.visit(node.body)
        if isinstance(node, ast.Constant):
            return self._constant(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.visit(node.left), self.visit(node.right)
            return _checked(_BINARY[type(node.op)](left, right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _checked(_UNARY[type(node.op)](self.visit(node.operand)))
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise CalculatorError(f"not allowed in a calculation: {type(node).__name__}")

    @staticmethod
    def _constant(value: object) -> Number:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CalculatorError("only numbers are allowed")
        return _checked(value)

    @staticmethod
    def _name(name: str) -> Number:
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name.lower() in {"nan", "inf", "infinity"}:
            raise CalculatorError(f"{name} is not a number the calculator accepts")
        raise CalculatorError(f"unknown name: {name[:40]}")

    def _call(self, node: ast.Call) -> Number:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise CalculatorError("function not allowed; use one of: " + ", ".join(FUNCTIONS))
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise CalculatorError("functions take plain positional arguments only")
        func, low, high = FUNCTIONS[node.func.id]
        if not low <= len(node.args) <= high:
            raise CalculatorError(f"{node.func.id}() takes {low}-{high} arguments")
        args = [self.visit(arg) for arg in node.args]
        return _checked(func(*args))


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic expression; raises CalculatorError with a clear message."""
    if not isinstance(expression, str) or not expression.strip():
        raise CalculatorError("empty expression")
    if len(expression) > MAX_CHARS:
        raise CalculatorError(f"expression too long (limit {MAX_CHARS} characters)")
    text = normalize(expression)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise CalculatorError("invalid expression syntax") from None
    except (ValueError, MemoryError, RecursionError):  # e.g. a 5000-digit literal
        raise CalculatorError("number too large or expression too deep") from None
    try:
        return _Evaluator().visit(tree)
    except CalculatorError:
        raise
    except ZeroDivisionError:
        raise CalculatorError("division by zero") from None
    except OverflowError:
        raise CalculatorError("number too large (overflows a float)") from None
    except ValueError:
        raise CalculatorError("math domain error (e.g. sqrt or log of a negative number)") from None
    except (TypeError, RecursionError, MemoryError):
        raise CalculatorError("invalid arguments for this calculation") from None


def format_number(value: Number) -> str:
    """Integers exactly; floats with 15 significant digits (so 0.1+0.2 shows 0.3)."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".15g")


@tool(parse_docstring=False)
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression, e.g. "2*(3+4)", "sqrt(2)", "2^10", "factorial(20)".

    Supports + - * / // % ** (^ also means power), parentheses, pi, e, tau and the functions
    sqrt, cbrt, exp, log, ln, log10, log2, sin, cos, tan, asin, acos, atan, atan2, sinh, cosh,
    tanh, degrees, radians, hypot, abs, floor, ceil, round, factorial, gcd, min, max.
    """
    try:
        return format_number(evaluate(expression))
    except CalculatorError as exc:
        raise ToolException(f"Calculator error: {exc}") from None


calculator.handle_tool_error = True
