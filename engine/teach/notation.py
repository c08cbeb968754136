"""The teaching tools' notation: node names (labels, constants, v1, v2 ...), node definitions
(`o = tanh(n)`), each rule of the derivative table in the graph's own names, partials
(`do/dn`) and plain-text tables.
"""
import re
from fractions import Fraction

from ..text import fmt, written

# a numeric exponent's rule written as a teacher does: 2 * v2^(2-1) is 2 * v2
_EXPONENT = re.compile(r"\^\((-?\d+(?:\.\d+)?(?:/\d+)?)-1\)")


def rule(node, slot, names):
    """d node / d (its parent in slot) as a formula in the graph's own names, from the op's
    rules in the derivative table: 'd' for e = c * d, '1 - tanh(n)^2' for o = tanh(n)
    (out is written as the node's formula when the op is a function, else as its name)."""
    op, template = node._op, node._op.rules[slot]
    plain = [names[p] for p in node.parents]
    if template in ("{a}", "{b}"):              # the rule is one operand: no brackets needed
        return template.format(**dict(zip("ab", plain)))
    operands = [f"({name})" if name.startswith("-") else name for name in plain]
    out = written(op, operands, node.arg) if op.function else names[node]
    return simplified(template.format(out=out, arg=fmt(node.arg), **dict(zip("ab", operands))))


def simplified(text):
    """A rule with a number for its exponent, worked out: 'n * a^(n-1)' with n = 2 is
    '2 * a', with n = 3 '3 * a^2', with n = 1 '1', with n = 1/2 '1/2 * a^(-1/2)'."""
    found = _EXPONENT.search(text)
    if not found:
        return text
    power = Fraction(found.group(1)) - 1
    if "." in found.group(1):
        power = float(power)
    written_power = fmt(power)
    if power == 1:
        text = text[:found.start()] + text[found.end():]
    elif power == 0:
        text = re.sub(r"\S+$", "1", text[:found.start()]) + text[found.end():]
    else:
        plain = written_power.isdigit()
        text = (text[:found.start()] + "^" + (written_power if plain else f"({written_power})")
                + text[found.end():])
    text = re.sub(r"^1 \* ", "", text)
    text = re.sub(r"^(.+) \* 1$", r"\1", text)
    return re.sub(r"^-1 \* ", "-", text)


def local_text(node, slot, names, value, digits=4):
    """'d = 2', '1 - tanh(n)^2 = 0.5': the rule and its number; '1' when they are the same."""
    number, formula = fmt(value, digits), rule(node, slot, names)
    return number if formula == number else f"{formula} = {number}"


def with_numbers(node, names, digits=4):
    """'2 * (-3)', 'tanh(0.8814)': node's op from the table filled with its parents' values
    (a constant as named in names; a negative operand in brackets, unless the op's symbol
    already brackets it)."""
    op = node._op
    texts = []
    for slot, parent in zip("ab", node.parents):
        constant = parent.is_leaf and parent.label is None
        text = names[parent] if constant else fmt(parent.data, digits)
        bracketed = "({%s})" % slot in op.symbol or "({%s}," % slot in op.symbol
        # a fraction under ** is bracketed too: 1/2**2 would read as 1/(2**2)
        needs = text.startswith("-") or ("/" in text and "**" in op.symbol)
        texts.append(f"({text})" if needs and not bracketed else text)
    return written(op, texts, node.arg)


def is_constant(node):
    """A number written into the expression (an unlabelled leaf): it has no gradient a
    teacher shows, unless asked (show_constant_grads=True)."""
    return node.is_leaf and node.label is None


def constant_names(constants, digits=4):
    """A name for each constant: its number at `digits` digits, with more digits where two
    different numbers would otherwise share a name (1.00001 beside 1)."""
    values = list(dict.fromkeys(node.data for node in constants))
    name = {}
    for v in values:
        more = digits
        while more < 17 and any(fmt(w, more) == fmt(v, more) for w in values if w != v):
            more += 1
        name[v] = fmt(v, more)
    if len(set(name.values())) < len(values):       # still shared: the exact numbers
        name = {v: repr(v) for v in values}
    return {node: name[node.data] for node in constants}


def node_names(order):
    """A name for every node: its label; a constant's number (different constants have
    different names); else v1, v2 ... in topological order (skipping names a label uses)."""
    taken = {str(node.label) for node in order if node.label is not None}
    constants = constant_names([n for n in order if n.is_leaf and n.label is None])
    names, k = {}, 0
    for node in order:
        if node.label is not None:
            names[node] = str(node.label)
        elif node.is_leaf:
            names[node] = constants[node]
        else:
            k += 1
            while f"v{k}" in taken:
                k += 1
            names[node] = f"v{k}"
    return names


def partial(child, slot, names):
    """'dv1/dx': d child / d its parent in slot; 'dy/dx[1]' and 'dy/dx[2]' when that parent
    is both operands (x*x, x**x), to say which one (first, second)."""
    parent = child.parents[slot]
    mark = f"[{slot + 1}]" if child.parents.count(parent) > 1 else ""
    return f"d{names[child]}/d{names[parent]}{mark}"


def definition(node, names):
    """'o = tanh(n)': how node was computed, from the op's symbol in the derivative table."""
    if node.is_leaf:
        return names[node]
    op = node._op
    # a negative constant in brackets beside an operator: v8 = w * (-1), not w * -1
    operands = [f"({names[p]})" if names[p].startswith("-") and not op.function else names[p]
                for p in node.parents]
    return f"{names[node]} = {written(op, operands, node.arg)}"


def table(header, rows):
    """Columns aligned under their headers, a rule under the header row."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
