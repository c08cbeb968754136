"""The teaching tools' notation: node names (labels, constants, v1, v2 ...), node definitions
(`o = tanh(n)`), each rule of the derivative table in the graph's own names, partials
(`do/dn`) and plain-text tables.
"""
from ..text import fmt, written


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
    return template.format(out=out, arg=fmt(node.arg), **dict(zip("ab", operands)))


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
    return f"{names[node]} = {written(node._op, [names[p] for p in node.parents], node.arg)}"


def table(header, rows):
    """Columns aligned under their headers, a rule under the header row."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
