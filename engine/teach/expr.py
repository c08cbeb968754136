"""A safe reader for math typed on the command line: Python's `ast` with a whitelist of node
types, evaluated by walking the tree (never eval). Numbers are floats, or Fractions in exact
mode (1.3 is 13/10); `x^2` is a power, as on paper; `e` and `pi` are constants unless given
a value; anything else (attributes, unknown names, imports ...) is refused.
"""
import ast
import math
import re
from fractions import Fraction

from ..ops import OPS
from ..value import Value

# the ops of the table written as calls: exp(x) ..., leaky_relu(x) or leaky_relu(x, slope)
FUNCTIONS = {op.name: op for op in OPS.values() if op.function}
CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_LENGTH, MAX_DEPTH = 2000, 200       # characters; nesting of the parsed tree
MAX_EXPONENT, MAX_BITS = 1000, 100_000  # |n| in a ** n; size of any exact number computed
MAX_NUMBER_LENGTH, MAX_POWER_OF_TEN = 100, 400   # a number typed in: characters; |k| in 1ek
ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.Load,
           ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)
WHAT = ("use numbers, variables, + - * / ** (or ^) ( ), the constants e and pi, and the "
        "functions " + ", ".join(sorted(FUNCTIONS)))
REFUSED = {ast.Attribute: "attribute access (a.b)", ast.Subscript: "indexing (a[i])",
           ast.Compare: "comparisons", ast.BoolOp: "and/or", ast.Lambda: "lambda",
           ast.IfExp: "if/else", ast.keyword: "keyword arguments", ast.Starred: "*arguments",
           ast.FloorDiv: "// (floor division)", ast.Mod: "% (remainder)",
           ast.MatMult: "@ (matrix product)", ast.NamedExpr: ":= (assignment)"}


class ExprError(ValueError):
    """An expression that is refused or cannot be evaluated; the message is one line."""


def number(text, exact=False):
    """'2', '-0.5', '1e-3', '1/3' as a float, or as an exact Fraction (int if whole).

    Its size is checked first: Fraction('1e100000000') would build 10**100000000 (minutes)."""
    if len(text) > MAX_NUMBER_LENGTH:
        raise ExprError(f"{text[:20]!r}... is {len(text)} characters long: a number here has "
                        f"at most {MAX_NUMBER_LENGTH}")
    for power in re.findall(r"[eE]\s*([+-]?\d+)", text):
        if abs(int(power)) > MAX_POWER_OF_TEN:
            raise ExprError(f"{text.strip()!r} is out of range: write numbers between "
                            f"1e-{MAX_POWER_OF_TEN} and 1e{MAX_POWER_OF_TEN} in size")
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise ExprError(f"{text!r} is not a number: write 2, -0.5, 1e-3 or 1/3") from None
    if not exact:
        try:
            return float(value)
        except OverflowError:
            raise ExprError(f"{text!r} is too large for a float (use --exact)") from None
    return value.numerator if value.denominator == 1 else value


class Expression:
    """A checked expression: `names` are its variables in order of first use;
    evaluate({name: Value or number}) computes it, building the graph."""

    def __init__(self, text, exact=False):
        self.text, self.exact, self.source = text, exact, text.strip()
        if len(text) > MAX_LENGTH:
            raise ExprError(f"the expression is {len(text)} characters long; at most {MAX_LENGTH}")
        # ^ is a power, as on paper and in LaTeX: swapped for ** before parsing, because
        # Python's ^ (xor) binds more loosely than +, so x^2+1 would parse as x^(2+1)
        self.steps = []             # (the name a step defines or None, its source, its tree)
        for part in _statements(self.source.replace("^", "**")):
            found = _NAMED.match(part)
            name, python = (found.group(1), found.group(2)) if found else (None, part)
            try:
                tree = ast.parse(python, mode="eval")
            except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
                reason = getattr(err, "msg", None) or str(err) or type(err).__name__
                raise ExprError(f"{self.short} is not a math expression ({reason}); "
                                f"{_product_hint(self.source) or WHAT}") from None
            self.steps.append((name, python, tree))
        self.python, self.tree = self.steps[-1][1:]
        self.constants = []         # the constants it uses (e, pi): a value given for one wins
        # steps: 'n = x1*w1 + x2*w2 + b; o = tanh(n)' names n and o in every table and drawing
        self.names = self._check()

    @property
    def short(self):
        """The expression as quoted in messages, cut to 60 characters."""
        return repr(self.source if len(self.source) <= 60 else self.source[:57] + "...")

    def _check(self):
        """The variables, in order of first use (a step's name is not one: it is defined)."""
        names, defined = [], []
        for name, _, tree in self.steps:
            for used in self._check_tree(tree):
                if used not in names and used not in defined:
                    names.append(used)
            if name is not None:
                if name in FUNCTIONS or name in defined or name in names:
                    raise ExprError(f"{name} = ... in {self.short}: {name} is already "
                                    f"{'a function' if name in FUNCTIONS else 'used'}; "
                                    "give each step a new name")
                defined.append(name)
        self.defined = defined
        return names

    def _check_tree(self, tree):
        names, stack = [], [(tree, 0)]
        while stack:                                        # iterative: any depth is safe
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise ExprError(f"the expression is nested more than {MAX_DEPTH} levels deep")
            if not isinstance(node, ALLOWED):
                what = REFUSED.get(type(node), type(node).__name__)
                raise ExprError(f"{what} is not allowed in {self.short}; {WHAT}")
            if isinstance(node, ast.Constant) and (type(node.value) not in (int, float)
                                                   or not math.isfinite(node.value)):
                raise ExprError(f"{node.value!r} is not allowed in {self.short}: only finite "
                                "real numbers")
            if isinstance(node, ast.Call):
                self._check_call(node)
                stack.extend((arg, depth + 1) for arg in node.args)
                continue
            if isinstance(node, ast.Name):
                self._check_name(node.id, names)
            stack.extend((child, depth + 1) for child in reversed(list(ast.iter_child_nodes(node))))
        return names

    def _check_call(self, node):
        if isinstance(node.func, ast.Constant):         # 2(x + 1): a product, as on paper
            raise ExprError(f"{self.short}: write {ast.unparse(node.func)}*(...) for a product "
                            "(a number before a bracket is not multiplied)")
        if not isinstance(node.func, ast.Name):
            raise ExprError(f"calling {ast.unparse(node.func)[:40]} is not allowed in "
                            f"{self.short}; {WHAT}")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExprError(f"unknown function {name!r} in {self.short} (for a product write "
                            f"{name}*(...)); the functions are " + ", ".join(sorted(FUNCTIONS)))
        if node.keywords:
            raise ExprError(f"{name}() takes no keyword arguments: write {name}(x)")
        parameter = FUNCTIONS[name].arg             # leaky_relu's slope, which has a default
        two = FUNCTIONS[name].inputs == 2           # xlogy(x, y): two inputs
        allowed = (2,) if two else (1, 2) if parameter else (1,)
        if len(node.args) not in allowed:
            usage = (f"{name}(x, y)" if two else f"{name}(x) or {name}(x, {parameter})"
                     if parameter else f"{name}(x)")
            raise ExprError(f"{name}() got {len(node.args)} arguments: write {usage}")

    def _check_name(self, name, names):
        if name in FUNCTIONS:
            raise ExprError(f"{name} is a function: call it, as in {name}(x)")
        if name.startswith("_"):
            raise ExprError(f"the name {name!r} is not allowed: variable names do not start with _")
        seen = self.constants if name in CONSTANTS else names
        if name not in seen:
            seen.append(name)

    def evaluate(self, values):
        """The expression's Value (or number, if it has no variables) at values."""
        missing = [n for n in self.names if n not in values]
        if missing:
            raise ExprError(f"no value for {', '.join(missing)}: give one with --at "
                            + " ".join(f"{n}=..." for n in missing))
        try:
            known = dict(values)
            for name, python, tree in self.steps:
                self.python = python                # _literal reads the step's own text
                result = self._eval(tree.body, known, fold=not self.names)   # no graph: a number
                if name is not None and isinstance(result, Value):
                    if result.label is None:        # o = n: a second name, no new node
                        result.label = name
                    known[name] = result
            return result
        except ExprError:
            raise
        except (ValueError, ZeroDivisionError, OverflowError, TypeError) as err:
            raise ExprError(f"{self.short} cannot be evaluated here: {err}") from None

    def _eval(self, node, values, fold=False):
        """node's Value. Every operation written is a node, even between two numbers (the
        0.64*5 of (1.3 - (b + 0.64*5))**2 stays a term, not 3.2), except where fold is
        True: an exponent or a slope, which the table takes as a number."""
        if isinstance(node, ast.Constant):
            return self._literal(node)
        if isinstance(node, ast.Name):
            return values[node.id] if node.id in values else CONSTANTS[node.id]
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, values, fold)
            return -operand if isinstance(node.op, ast.USub) else operand   # -3: a number
        if isinstance(node, ast.Call):
            name = node.func.id
            two = FUNCTIONS[name].inputs == 2       # xlogy(x, y): the second is a node too
            args = [self._eval(arg, values, fold) for arg in node.args[:1 + two]]
            args += [self._eval(arg, values, True) for arg in node.args[1 + two:]]
            x = args[0] if isinstance(args[0], Value) else Value(args[0])
            out = getattr(x, name)(*args[1:] if two else [_plain(a, name) for a in args[1:]])
            return out.data if fold and not any(isinstance(a, Value) for a in args) else out
        power = isinstance(node.op, ast.Pow)
        a = self._eval(node.left, values, fold)
        b = self._eval(node.right, values, fold or power)
        if power:
            _check_power(a, b)
        if not isinstance(a, Value) and not isinstance(b, Value):
            if self.exact:
                a = Fraction(a)                  # 1/3 and 2**-1 stay exact
            if not fold:
                a = Value(a)                     # the operation the teacher wrote: a node
        return _check_size(_BINARY[type(node.op)](a, b))

    def _literal(self, node):
        if not self.exact:
            return float(node.value)
        text = ast.get_source_segment(self.python, node) or repr(node.value)
        return number(text.replace("_", ""), exact=True)   # '1.3' -> 13/10, not the float


_NAMED = re.compile(r"^\s*([A-Za-z]\w*)\s*=(?!=)\s*(.*)$", re.S)     # n = x*w + b


def _statements(text):
    """The steps of 'n = x1*w1 + b; o = tanh(n)' (split at ; and new lines), blanks dropped."""
    parts = [p.strip() for p in re.split(r"[;\n]", text)]
    return [p for p in parts if p] or [text]


_BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
           ast.Pow: lambda a, b: a ** b}


def _product_hint(text):
    """'write 2*x' when text has a number written against a name (2x), else ''."""
    # a number, then a name that does not make it a float literal (1e5, 2e-3 are numbers)
    found = re.search(r"(?<![\w.])(\d+\.?\d*)(?![eE][+-]?\d)([A-Za-z_]\w*)", text)
    return f"write {found[1]}*{found[2]} for {found[0]}" if found else ""


def _plain(x, function):
    if isinstance(x, Value):
        raise ExprError(f"the slope of {function}(x, slope) must be a number, not a variable")
    return x


def _check_power(base, exponent):
    """Refuse powers that would take a long time or a lot of memory to compute exactly."""
    n = getattr(exponent, "data", exponent)
    if abs(n) > MAX_EXPONENT:
        raise ExprError(f"the exponent {n} is too large: at most {MAX_EXPONENT} in absolute value")
    b = getattr(base, "data", base)
    if isinstance(b, (int, Fraction)):
        bits = Fraction(b).numerator.bit_length() + Fraction(b).denominator.bit_length()
        if bits * abs(n) > MAX_BITS:
            raise ExprError(f"a {bits}-bit number to the power {n} is too large to compute "
                            f"exactly (at most {MAX_BITS} bits)")


def _check_size(result):
    """result, if it is an exact number of at most MAX_BITS: every operand is then that
    small, so each exact + - * / takes milliseconds, whatever the expression adds up."""
    x = getattr(result, "data", result)
    if isinstance(x, (int, Fraction)):
        bits = Fraction(x).numerator.bit_length() + Fraction(x).denominator.bit_length()
        if bits > MAX_BITS:
            raise ExprError(f"an exact number of {bits:,} bits is too large (at most "
                            f"{MAX_BITS:,} bits in all): drop --exact, or use fewer or "
                            "smaller terms")
    return result


def parse(text, exact=False):
    """Check text and return its Expression (raises ExprError with a one-line message)."""
    return Expression(text, exact)
