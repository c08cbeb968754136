"""The page's Python: site.js hands compute() the form (expression, values, the input to
explain, a hand answer) as JSON and shows the JSON it returns: the gradients, the forward
table, the backward steps, explain, the check, the drawing and the stepper. Every number on
the page is written here, by the same code as the command line (engine/teach/cli.py).
"""
import contextlib
import inspect
import io
import json
import re
from argparse import Namespace

from ..cli import UsageError, dash_dash, new_parser
from ..engine import draw, stepper
from ..engine.teach import cli
from ..engine.teach.forward import forward_steps
from ..engine.teach.explain import explain
from ..engine.teach.render import RenderError
from ..engine.teach.steps import backward_steps
from ..engine.text import fmt

DIGITS = 4

# the gallery: ready examples (the build writes them into the page as links)
EXAMPLES = [
    {"title": "the lecture neuron", "expr": "n = x1*w1 + x2*w2 + b; o = tanh(n)",
     "at": "x1=2 w1=-3 x2=0 w2=1 b=6.8813735870195432", "wrt": "w1"},
    {"title": "the diamond (a*b)*(a+b)", "expr": "(a*b)*(a+b)", "at": "a=3 b=2", "wrt": "a"},
    {"title": "the seeds' SSR: intercept", "expr": "(1.3 - (intercept + 0.64*5))**2",
     "at": "intercept=0", "wrt": "intercept", "expect": "3.8"},
    {"title": "softmax of [34, 32, 25]", "expr": "exp(z1) / (exp(z1) + exp(z2) + exp(z3))",
     "at": "z1=34 z2=32 z3=25", "wrt": "z1"},
    {"title": "one weight of a small network",
     "expr": "(tanh(v1*tanh(w1*x1 + w2*x2 + b1) + v2*tanh(w3*x1 + w4*x2 + b2) + c) - y)^2",
     "at": "x1=2 x2=-1 w1=0.5 w2=-0.3 b1=0.1 w3=-0.4 w4=0.8 b2=0 v1=1.2 v2=-0.7 c=0.05 y=1",
     "wrt": "w1", "focus": True},
]

# practice mode (issue 23): the student types each number first, where this tracegrad's
# stepper has it (the page shows its box only then)
PRACTICE = "practice" in inspect.signature(stepper).parameters

# what a request may fail with: one line on the page, as the command line prints it
ERRORS = (*cli.ERRORS, UsageError)


def compute(request):
    """request: JSON {"expr", "at" ("a=3 b=2"), "exact", "wrt", "expect", "focus",
    "practice"}.
    Returns JSON: {"ok": true, ...every part...} or {"ok": false, "error": one line}."""
    form = json.loads(request)
    try:
        return json.dumps({"ok": True, **_parts(form)}, ensure_ascii=False)
    except ERRORS as err:
        return json.dumps({"ok": False, "error": str(err)}, ensure_ascii=False)


def _parts(form):
    args = Namespace(expr=form.get("expr", ""), at=_values(form.get("at", "")),
                     exact=bool(form.get("exact")))
    _, leaves, root = cli.build(args)
    names = list(leaves)
    # the input to explain; the first one when the expression (just edited) has no such name
    wrt = form.get("wrt") if form.get("wrt") in leaves else names[0]
    focus = leaves[wrt] if form.get("focus") else None
    root.backward()
    f = root.label
    grads = {"caption": f"{f} = {fmt(root.data, DIGITS)}; each input's .grad after "
                        f"{f}.backward() is d{f}/d(input)",
             "header": ["input", "value", "grad"], "note": "",
             "rows": [[n, fmt(v.data, DIGITS), fmt(v.grad, DIGITS)] for n, v in leaves.items()]}
    parts = {"names": names, "wrt": wrt, "root": f, "grads": grads, "forward": _table(forward_steps(root)),
             "steps": _table(backward_steps(root)),
             "explain": explain(root, leaves[wrt], digits=DIGITS).text,
             "check": _check(args, wrt, form.get("expect", ""))}
    # named steps ("n = x1*w1 + x2*w2 + b; o = tanh(n)") come through cli.build as well
    parts["drawing"] = _drawing(root, focus)
    parts["stepper"] = _stepper(root, focus, f"{root.label} = {args.expr.strip()}",
                                bool(form.get("practice")))
    return parts


def _values(text):
    """'a=3 b=2' (or 'a=3, b=2') as the command line's --at list ['a=3', 'b=2']."""
    return [item for item in re.split(r"[\s,;]+", text.strip()) if item]


def _table(exportable):
    caption, header, rows, note = exportable.parts(DIGITS)
    return {"caption": caption, "header": list(header), "rows": [list(r) for r in rows],
            "note": note}


def _check(args, wrt, expect):
    """The command line's `check EXPR --at ... --wrt NAME --expect ANSWER` for a hand answer
    (None when none is given): {"passed", "text"}, the text as the command prints it.
    The command line itself reads the options, so its defaults (and any new option) hold;
    an answer may be a formula ("2*a*b + b^2") where the command line takes one."""
    if not expect.strip():
        return None
    argv = ["check", "--", args.expr, "--wrt", wrt, f"--expect={expect.strip()}"]
    argv += (["--at", *args.at] if args.at else []) + (["--exact"] if args.exact else [])
    parser, commands = new_parser("tracegrad", "")
    cli.add_commands(commands)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.run_check(parser.parse_args(dash_dash(argv)))
    return {"passed": status == 0, "text": out.getvalue().rstrip("\n")}


def _drawing(root, focus):
    """draw()'s SVG (through the renderer set by use_renderer), or {"error": one line}."""
    try:
        svg = draw(root, focus=focus).pipe(format="svg", encoding="utf-8")
    except (RenderError, cli.NoRenderer) as err:
        return {"error": str(err)}
    return {"svg": svg[svg.index("<svg"):]}


def _stepper(root, focus, title, practice=False):
    """The stepper as one HTML element (its script runs when the page inserts it)."""
    options = {"practice": True} if practice and PRACTICE else {}
    try:
        return {"html": stepper(root, focus=focus, title=title, digits=DIGITS,
                                **options).fragment()}
    except (ValueError, RenderError, cli.NoRenderer) as err:
        return {"error": str(err)}


def use_renderer(render):
    """Draw with render(dot_source, format) -> str (viz-js in the page), through the engine's
    renderer hook tracegrad.engine.set_renderer (contracts: fn(dot, format) -> bytes)."""
    def viz_js(source, format):
        out = render(source, format)
        return out.encode("utf-8") if isinstance(out, str) else bytes(out)
    viz_js.__qualname__ = "viz-js"              # how the hook's error messages name it

    from .. import engine
    try:
        set_renderer = engine.set_renderer
    except AttributeError:
        _patch_renderer(viz_js)
    else:
        set_renderer(viz_js)


def _patch_renderer(renderer):
    """TEMPORARY, until the issue-18 branch's set_renderer is on main: point render.run (which
    draw's Drawing calls) and the stepper's imported copy of it at renderer."""
    from importlib import import_module
    render = import_module("tracegrad.engine.teach.render")
    stepper_module = import_module("tracegrad.engine.teach.stepper")   # not teach.stepper:
    # the package's name stepper is the function

    def run(source, fmt, engine=None, timeout=None, flags=()):
        try:
            return renderer(source, fmt)
        except Exception as err:    # a JsException from viz-js: its first line
            raise RenderError(f"viz-js -T{fmt} failed: {err}".splitlines()[0]) from None

    render.run = stepper_module.run = run
