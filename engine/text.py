"""How the core writes things down in its reprs and error messages: a number as a person
reads it, and an operation written with its inputs (`tanh(n)`, `exp(1000.0)`). The teaching
tools' notation (names, rules, tables) builds on these in teach/notation.py.
"""
import numbers
from fractions import Fraction


def fmt(x, digits=4, typed=False):
    """A number as a person reads it: -1.5, 0.7071, 3, 19/5 (a Fraction stays exact).

    typed=True keeps the kind of number visible, as repr and error messages do: 1.0 is a
    float, 1 an int, and a Value (a create_graph gradient) shows as Value(...)."""
    if not isinstance(x, numbers.Number) and hasattr(x, "data"):
        # a Value; a numpy scalar is a number, though it too has a .data (a memory buffer)
        inner = fmt(x.data, digits, typed)
        return f"Value({inner})" if typed else inner
    if isinstance(x, float):
        text = f"{x + 0.0:.{digits}g}"         # + 0.0 turns -0.0 into 0.0
        return text + ".0" if typed and not any(c in text for c in ".enia") else text
    if isinstance(x, Fraction) and x.denominator == 1:
        return str(x.numerator)
    return str(x)


def written(op, names, arg=None):
    """'tanh(n)', 'x**3': an op's symbol from the derivative table, filled with its inputs."""
    return op.symbol.format(arg=fmt(arg), **dict(zip("ab", names)))


def describe(op, parents, arg=None):
    """An operation written out with its inputs, for error messages: 'exp(1000.0)',
    'x * 2 with x=inf'."""
    names = [fmt(p.data, typed=True) if p.label is None else p.label for p in parents]
    text = written(op, names, arg)
    labelled = [f"{p.label}={fmt(p.data, typed=True)}" for p in parents if p.label is not None]
    return text + (" with " + ", ".join(dict.fromkeys(labelled)) if labelled else "")
