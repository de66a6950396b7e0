"""Example tool module: unit conversion. Drop a file like this into tools/ and restart."""

from langchain_core.tools import tool

# Factors to the base unit of each dimension (metre, kilogram, litre).
_LINEAR = {
    "length": {
        "mm": 0.001,
        "cm": 0.01,
        "m": 1.0,
        "km": 1000.0,
        "in": 0.0254,
        "ft": 0.3048,
        "yd": 0.9144,
        "mi": 1609.344,
        "li": 500.0,
        "chi": 1 / 3,
    },
    "mass": {
        "mg": 1e-6,
        "g": 0.001,
        "kg": 1.0,
        "t": 1000.0,
        "lb": 0.45359237,
        "oz": 0.028349523125,
        "jin": 0.5,
        "liang": 0.05,
    },
    "volume": {"ml": 0.001, "l": 1.0, "gal": 3.785411784, "qt": 0.946352946, "cup": 0.2365882365},
}
_ALIASES = {
    "公里": "km",
    "千米": "km",
    "米": "m",
    "厘米": "cm",
    "毫米": "mm",
    "英里": "mi",
    "英尺": "ft",
    "英寸": "in",
    "里": "li",
    "尺": "chi",
    "千克": "kg",
    "公斤": "kg",
    "克": "g",
    "斤": "jin",
    "两": "liang",
    "磅": "lb",
    "吨": "t",
    "升": "l",
    "毫升": "ml",
    "摄氏度": "c",
    "华氏度": "f",
    "foot": "ft",
    "feet": "ft",
    "inch": "in",
    "inches": "in",
    "meter": "m",
    "metre": "m",
    "kilometer": "km",
    "kilometre": "km",
    "mile": "mi",
    "pound": "lb",
    "kilogram": "kg",
    "gram": "g",
    "liter": "l",
    "litre": "l",
    "celsius": "c",
    "fahrenheit": "f",
    "kelvin": "k",
}
_TEMPERATURE = {"c", "f", "k"}


def _unit(name: str) -> str:
    key = name.strip().lower()
    if key not in _ALIASES and len(key) > 2 and key.endswith("s"):
        key = key[:-1]  # plural: "miles", "lbs"
    return _ALIASES.get(key, key)


def _to_celsius(value: float, unit: str) -> float:
    return {"c": value, "f": (value - 32) * 5 / 9, "k": value - 273.15}[unit]


def _from_celsius(value: float, unit: str) -> float:
    return {"c": value, "f": value * 9 / 5 + 32, "k": value + 273.15}[unit]


@tool
def convert_units(value: float, from_unit: str, to_unit: str) -> str:
    """Convert a quantity between units of length, mass, volume or temperature.

    Units: mm cm m km in ft yd mi li chi | mg g kg t lb oz jin liang | ml l gal qt cup | c f k.
    Chinese names such as 公里, 斤, 摄氏度 are accepted too.
    """
    src, dst = _unit(from_unit), _unit(to_unit)
    if src in _TEMPERATURE and dst in _TEMPERATURE:
        result = _from_celsius(_to_celsius(value, src), dst)
        return f"{value:g} {from_unit} = {result:.6g} {to_unit}"
    for table in _LINEAR.values():
        if src in table and dst in table:
            result = value * table[src] / table[dst]
            return f"{value:g} {from_unit} = {result:.6g} {to_unit}"
    return f"Cannot convert {from_unit!r} to {to_unit!r}: unknown units or different dimensions."
