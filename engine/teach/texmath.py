"""The tables' plain-text maths written as LaTeX, for handouts (`to_latex`) and for Markdown
that GitHub and Jupyter render (`$...$`): `do/dn` is \\frac{\\partial o}{\\partial n}, `x1` is
x_{1}, `w[1]_21` is w^{[1]}_{21}, `tanh(n)^2` is \\tanh(n)^{2}, `a * b` is a \\cdot b,
`1/b` is \\frac{1}{b}, `a -> b` is a \\to b, and a minus sign is a true minus.
"""
import re

# functions LaTeX knows by name; the others are set upright with \operatorname
KNOWN = {"tanh", "exp", "log", "sin", "cos", "tan", "sinh", "cosh", "arcsin", "arccos",
         "arctan", "max", "min"}
NAME = r"[A-Za-z]\w*(?:\[\d+\]_[\d,]+)?"
PARTIAL = re.compile(rf"(?<![\w.])d({NAME}|\(\w+\))/d({NAME}|\(\w+\))(\[\d+\])?")
TOKEN = re.compile(rf"\s+|\d+(?:\.\d*)?(?:e[+-]?\d+)?|{NAME}|\*\*|->|!=|\.grad\b|[-+*/^()=,<>\[\]]|\S")
WORDS = {"input", "constant"}                   # what the forward table says of a leaf
FORMULA = re.compile(r"[\w\s.+\-*/^()=!,<>\[\]Σ]*")  # what the tables' formulas are made of
PROSE = re.compile(r"[A-Za-z]{3,} [A-Za-z]{2,}")       # two words: a sentence, not a formula
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
            "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def name(text):
    """A node's name in maths: x1 is x_{1}, w[1]_21 is w^{[1]}_{21}, loss is \\mathit{loss}."""
    if text.startswith("(") and text.endswith(")"):          # d(node): a word in brackets
        return r"(\text{" + text[1:-1] + "})"
    found = re.fullmatch(r"([A-Za-z])(?:\[(\d+)\])?_([\d,]+)", text)
    if found:
        letter, layer, index = found.groups()
        return letter + (f"^{{[{layer}]}}" if layer else "") + f"_{{{index}}}"
    found = re.fullmatch(r"([A-Za-z])(\d+)", text)
    if found:
        return f"{found[1]}_{{{found[2]}}}"
    if len(text) == 1:
        return text
    if text in ("inf",):
        return r"\infty"
    if text == "nan":
        return r"\mathrm{NaN}"
    return r"\mathit{" + text.replace("_", r"\_") + "}"


def partial(top, bottom, which=""):
    """d top / d bottom as a fraction of partials; which: '[1]' for x*x's first slot."""
    mark = f"_{{{which}}}" if which else ""
    return rf"\frac{{\partial {name(top)}}}{{\partial {name(bottom)}}}{mark}"


def formula(text):
    """A formula of the tables (a definition, a rule, a number, a path) in LaTeX maths,
    without the dollar signs."""
    tokens = _group(_tokens(text))
    out = re.sub(r"\s+", " ", _render(tokens)).strip()
    return re.sub(r"(^|[=(,{]|\\to) ?- (?=[\d\\a-zA-Z])", r"\1 -", out).strip()   # = -3: a sign


def is_prose(text):
    """True for a sentence (a caption, a note in words) or text with characters no formula
    of the tables has (a label such as 'x & y'), False for a formula."""
    return bool(PROSE.search(str(text))) or not FORMULA.fullmatch(str(text))


def latex_text(text):
    """Prose for LaTeX: special characters escaped, each partial (do/dn) and arrow in maths."""
    out, last = [], 0
    for found in PARTIAL.finditer(str(text)):
        out += [_escape(text[last:found.start()]), "$" + partial(*found.groups("")) + "$"]
        last = found.end()
    out.append(_escape(str(text)[last:]))
    return "".join(out).replace(r" -\textgreater{} ", r" $\to$ ").replace(" * ", r" $\cdot$ ")


def cell(text, dollar="$"):
    """One table cell: maths between dollars, or prose escaped (LaTeX's dollar signs; Markdown
    uses the same)."""
    text = str(text)
    if not text.strip() or re.fullmatch(r"\d+(\.\d+)?", text):
        return text                     # a plain number needs no maths
    if is_prose(text) or text in WORDS:
        return latex_text(text)
    return dollar + formula(text) + dollar


def _escape(text):
    return "".join(_SPECIAL.get(ch, ch) for ch in text).replace("Σ", r"$\Sigma$")


def _tokens(text):
    """text cut into tokens, partials (dv1/dx1) already whole."""
    out, last = [], 0
    for found in PARTIAL.finditer(text):
        out += TOKEN.findall(text[last:found.start()])
        out.append(("partial", found.groups("")))
        last = found.end()
    return out + TOKEN.findall(text[last:])


def _group(tokens):
    """Brackets nested: ( a + b ) becomes one list, so ^ and / can take it whole."""
    stack = [[]]
    for token in tokens:
        if token == "(":
            stack.append(["("])
        elif token == ")" and len(stack) > 1:
            group = stack.pop() + [")"]
            stack[-1].append(group)
        else:
            stack[-1].append(token)
    while len(stack) > 1:                          # an unclosed bracket: kept as written
        group = stack.pop()
        stack[-1].extend(group)
    return stack[0]


def _inner(group):
    """A bracketed group without its brackets (for an exponent or a square root)."""
    return group[1:-1] if isinstance(group, list) and group[:1] == ["("] else [group]


def _render(tokens):
    out = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        nxt = _next(tokens, i)
        if isinstance(token, tuple):
            out.append(partial(*token[1]))
        elif isinstance(token, list):
            out.append("(" + _render(token[1:-1]) + ")")
        elif token in ("^", "**") and nxt is not None:
            out.append("^{" + _render(_inner(tokens[nxt])) + "}")
            i = nxt
        elif token == "/" and nxt is not None and out:
            top = _last_atom(out)
            out.append(r"\frac{" + top + "}{" + _render(_inner(tokens[nxt])) + "}")
            i = _power_of(tokens, nxt, out)
        elif re.fullmatch(r"[A-Za-z]\w*", token) and nxt is not None and \
                isinstance(tokens[nxt], list) and token not in ("if", "else"):
            out.append(_function(token, tokens[nxt]))
            i = nxt
        else:
            out.append(_word(token))
        i += 1
    return "".join(out)


def _power_of(tokens, at, out):
    """After a fraction's denominator: a power on it (b^2 in a/b^2) joins the denominator."""
    nxt = _next(tokens, at)
    if nxt is not None and tokens[nxt] in ("^", "**") and _next(tokens, nxt) is not None:
        power = _next(tokens, nxt)
        out[-1] = out[-1][:-1] + "^{" + _render(_inner(tokens[power])) + "}}"
        return power
    return at


def _last_atom(out):
    """Take the last atom written (a name, number or bracket) off out: a fraction's top."""
    while out and not out[-1].strip():
        out.pop()
    return out.pop() if out else ""


def _next(tokens, i):
    """The index of the next token after i that is not a space, or None."""
    j = i + 1
    while j < len(tokens) and isinstance(tokens[j], str) and not tokens[j].strip():
        j += 1
    return j if j < len(tokens) else None


def _function(fn, group):
    inside = _render(group[1:-1])
    if fn == "sqrt":
        return r"\sqrt{" + inside + "}"
    if fn == "abs":
        return r"\lvert " + inside + r"\rvert"
    head = "\\" + fn if fn in KNOWN else r"\operatorname{" + fn.replace("_", r"\_") + "}"
    return head + "(" + inside + ")"


def _word(token):
    if not token.strip():
        return " "
    if token == "*":
        return r" \cdot "
    if token == "->":
        return r" \to "
    if token == "!=":                           # xlogy's rule: a/b if a != 0 else 0
        return r" \neq "
    if token == ".grad":
        return r"\text{.grad}"
    if token in ("if", "else"):
        return rf" \text{{ {token} }} "
    if token == "Σ":
        return r"\Sigma"
    if token in ("+", "-", "="):
        return f" {token} "
    if re.fullmatch(r"\d+(?:\.\d*)?e[+-]?\d+", token):
        mantissa, power = token.split("e")
        return rf"{mantissa} \times 10^{{{int(power)}}}"
    if re.fullmatch(r"\d[\d.]*", token):
        return token
    if re.fullmatch(NAME, token):
        return name(token)
    return {"<": "<", ">": ">", "[": "[", "]": "]", ",": ","}.get(token, token)
