"""The engine's commands: demo (the lecture neuron), draw, steps, explain, check, grade; run as
`tracegrad COMMAND` (where demo is called `neuron`) or `python -m tracegrad.engine COMMAND`.

Expressions are ordinary math read by engine.expr (a whitelist over Python's ast, never eval).
Exit codes: 0 done, 1 a gradient check failed or rendering failed, 2 a usage error.
"""
import argparse
import sys
from textwrap import fill

from .commandline import new_parser, run
from .check import ATOL, EPS, RTOL, GradCheckFailed, check_grad
from .demo import demo
from .draw import RANKDIRS, draw
from .frames import draw_frames
from .explain import explain
from .export import NoLatex, pdf
from .expr import FUNCTIONS, ExprError, number, parse
from .forward import forward_steps
from .answers import MIN_DIGITS
from .formula import check_formula
from .grade import grade
from .worksheet import FORMATS as SHEET_FORMATS, RANGE, LatexError, worksheets, \
    write as write_sheets
from .render import TIMEOUT, NoRenderer, OutputError, RenderError, save
from .slides import NoBrowser
from .stepper import stepper
from .steps import backward_steps
from ..value import Value

EXAMPLES = """examples:
  tracegrad neuron                                   the lecture neuron, steps and graph
  tracegrad forward "tanh(x*w + b)" --at x=2 w=-3 b=6.88
  tracegrad steps "tanh(x*w + b)" --at x=2 w=-3 b=6.88 --format md
  tracegrad explain "(a*b)*(a+b)" --wrt a --at a=3 b=2
  tracegrad check "(1.3 - (b + 0.64*5))**2" --wrt b --at b=0 --expect 3.8
  tracegrad check "(1.3 - (b + 0.64*5))**2" --wrt b --at b=0 --expect 19/5 --exact
  tracegrad check "tanh(x)" --at x=0.5 --expect 0.7864 --digits 4
  tracegrad check "(1.3 - (b + 0.64*5))**2" --wrt b --at b=0,1,2 --expect "3.8 + 2*b" --exact
  tracegrad check "(a*b)*(a+b)" --at a=3 b=2 --wrt a b --expect "2*a*b + b^2" "a^2 + 2*a*b"
  tracegrad steps -- "-x^2" --at x=3
  tracegrad draw "tanh(x*w + b)" --at x=2 w=-3 b=6.88 -o graph.png --frames frames/
  tracegrad play "tanh(x*w + b)" --at x=2 w=-3 b=6.88 -o backprop.html
  tracegrad play "n = x1*w1 + x2*w2 + b; o = tanh(n)" --at x1=2 w1=-3 x2=0 w2=1 b=6.88 \
      --title "The lecture neuron" --png-steps slides/
  tracegrad play "(a*b)*(a+b)" --at a=3 b=2 --exact --practice -o practice.html
  tracegrad grade "(a*b)*(a+b)" filled.csv --at a=3 b=2 --exact

""" + fill(f"EXPR uses numbers, variables, + - * / ** ( ) and {', '.join(FUNCTIONS)}. "
           "x^2 is a power (as x**2); write 2*x, not 2x.", 88) + """
e and pi are the constants, unless --at gives them a value (--at e=2 makes e a variable).
Quote EXPR; one starting with - goes right after --, as in steps -- "-x^2" --at x=3.
Numbers are floats; with --exact they are Fractions (1.3 is 13/10), so results are exact."""

SHEET_EXAMPLES = """examples:
  tracegrad worksheet "(a*b)*(a+b)" --students 30 --seed 7 -o sheets
  tracegrad worksheet "tanh(x*{w} + {b})" --range w=-3..3 --fractions -o sheets
sheets/README.txt gives each sheet's seed and the tracegrad grade line for its CSV."""

# --format: the method of a table that writes it so
FORMATS = {"text": "table", "md": "to_markdown", "latex": "to_latex", "csv": "to_csv",
           "pdf": "to_pdf"}

# check_grad's keywords as spelled on this command line (a failure says how to loosen)
CHECK_WORDS = {"digits": "--digits {}", "expected_rtol": "--expect-rtol {}", "rtol": "--rtol {}"}


# what a failing command exits with (printed as one line): 2 bad input, 1 rendering or
# writing a file failed
ERRORS = {ExprError: 2, ValueError: 2, ZeroDivisionError: 2, OverflowError: 2, RenderError: 1,
          NoRenderer: 1, OutputError: 1, NoBrowser: 1, NoLatex: 1, LatexError: 1}


def main(argv=None):
    parser, commands = new_parser("python -m tracegrad.engine",
                                  "tracegrad's teaching tools: backprop step by step, the chain "
                                  "rule written out, gradient checks and graph drawings.", EXAMPLES)
    add_commands(commands)
    return run(parser, argv, ERRORS)


def add_commands(commands, demo_name="demo"):
    """Add demo (as demo_name), draw, steps, explain and check to an argparse subparser group."""
    def command(name, run, help):
        sub = commands.add_parser(name, help=help, description=help, epilog=EXAMPLES,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(run=run)
        if run is not run_demo:
            sub.add_argument("expr", metavar="EXPR", help='the expression, e.g. "tanh(x*w + b)"')
            # extend: --at x=1 --at x=2 is refused as x twice, not silently x=2
            sub.add_argument("--at", nargs="+", action="extend", default=[], metavar="NAME=VALUE",
                             help="the value of each variable: --at x=2 w=-3 b=1/2")
            sub.add_argument("--exact", action="store_true",
                             help="read numbers as Fractions: exact arithmetic and gradients")
        return sub

    sub = command(demo_name, run_demo, "the lecture neuron: forward, backward steps, graph image")
    sub.add_argument("--out", default="out", help="folder for the graph images (default: out)")
    sub = command("draw", run_draw, "draw the graph (after backward) as SVG, PNG or DOT")
    sub.add_argument("-o", "--output", default=None,
                     help="image file: .svg, .png, .jpg, .pdf (with Graphviz's dot) or .dot "
                          "(default: out/graph.svg, creating out/)")
    sub.add_argument("--rankdir", default="LR", choices=RANKDIRS, help="direction (default LR)")
    sub.add_argument("--local", action="store_true", help="label edges with local derivatives")
    sub.add_argument("--compact", action=argparse.BooleanOptionalAction, default=None,
                     help="a sum of many terms as one Sigma node (default: 5 terms or more)")
    sub.add_argument("--focus", metavar="NAME", help="draw NAME's paths to EXPR in colour")
    sub.add_argument("--prune", action="store_true", help="with --focus: draw only its paths")
    sub.add_argument("--frames", metavar="DIR", help="also save one image per backward step")
    sub.add_argument("--constant-grads", action="store_true",
                     help="also show the gradients of the numbers written in")
    sub.add_argument("--timeout", type=float, default=TIMEOUT, metavar="S",
                     help=f"seconds one image may take to render (default {TIMEOUT})")
    sub = command("play", run_play, "write an HTML page that steps through forward and backward")
    sub.add_argument("-o", "--output", default="backprop.html",
                     help="the page to write (default: backprop.html)")
    sub.add_argument("--wrt", nargs=1, metavar="NAME", help="step only through NAME's paths")
    sub.add_argument("--rankdir", default=None, choices=RANKDIRS,
                     help="direction (default: LR if it fits a 1280 px projector, else TB)")
    sub.add_argument("--title", help="the page's title (default: EXPR at the values)")
    sub.add_argument("--png-steps", metavar="DIR",
                     help="also write one 1920x1080 PNG per step into DIR, for slides "
                          "(needs a headless Chromium)")
    sub.add_argument("--constant-grads", action="store_true",
                     help="also show the gradients of the numbers written in")
    sub.add_argument("--practice", action="store_true",
                     help="practice mode: type each number before the page shows it")
    min_digits(sub)
    sub = command("grade", run_grade, "grade a filled table: each cell right, or which mistake")
    sub.add_argument("table", metavar="CSV", help="the filled table: a worksheet's CSV, or "
                     "the layout of steps --format csv or forward --format csv")
    min_digits(sub)

    help = "one worksheet per student (each names its seed) and the answer key"
    sub = commands.add_parser("worksheet", help=help, description=help, epilog=SHEET_EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.set_defaults(run=run_worksheet)
    sub.add_argument("template", metavar="TEMPLATE", help="the expression; its variables and "
                     "placeholders such as {k} get numbers drawn for each student")
    sub.add_argument("--students", type=int, default=30, help="how many sheets (default 30)")
    sub.add_argument("--seed", default="0", help="the seed; sheet i's seed is SEED-i (default 0)")
    sub.add_argument("-o", "--output", default="worksheets", metavar="DIR",
                     help="the folder to write (default: worksheets)")
    sub.add_argument("--range", nargs="+", default=[], metavar="NAME=LO..HI",
                     help=f"numbers for NAME from LO to HI (default {RANGE[0]}..{RANGE[1]}, "
                          "0 left out)")
    sub.add_argument("--fractions", action="store_true",
                     help="draw simple fractions too (halves, thirds, quarters)")
    sub.add_argument("--format", nargs="+", default=list(SHEET_FORMATS),
                     choices=SHEET_FORMATS, help="what to write (default: all; tex makes a "
                                                 "PDF too where pdflatex is installed)")

    def table_options(sub):
        sub.add_argument("--digits", type=int, default=4, help="significant digits (default 4)")
        sub.add_argument("--format", default="text", choices=FORMATS,
                         help="text (default), md (Markdown with $maths$), latex (tables in "
                              "maths), csv, or pdf (a handout, with pdflatex)")
        sub.add_argument("--standalone", action="store_true",
                         help="with --format latex: a whole document for pdflatex")
        sub.add_argument("-o", "--output", default=None,
                         help="with --format pdf: the PDF to write (default: COMMAND.pdf)")

    table_options(command("forward", run_forward, "print the forward pass node by node"))
    sub = command("steps", run_steps, "print the backward pass step by step")
    table_options(sub)
    sub.add_argument("--constant-grads", action="store_true",
                     help="also list what flows into the numbers written in")
    sub = command("explain", run_explain, "write d EXPR / d NAME as the chain rule")
    sub.add_argument("--wrt", nargs="+", action="extend", required=True, metavar="NAME",
                     help="the variable(s)")
    sub.add_argument("--max-paths", type=int, default=16,
                     help="list paths up to this many, else the per-node recurrence (16)")
    table_options(sub)
    sub = command("check", run_check, "compare autograd, central differences and your values")
    sub.add_argument("--wrt", nargs="+", action="extend", metavar="NAME",
                     help="the variables (default: all)")
    sub.add_argument("--expect", nargs="+", default=None, metavar="VALUE",
                     help="your hand-worked d EXPR / d NAME, one per --wrt name: a number, "
                          'or a formula ("3.8 + 2*b") checked at the --at point and more')
    sub.add_argument("--eps", type=float, default=EPS, help=f"central-difference step ({EPS})")
    sub.add_argument("--rtol", type=float, default=RTOL, help=f"relative tolerance ({RTOL})")
    sub.add_argument("--atol", type=float, default=ATOL, help=f"absolute tolerance ({ATOL})")
    sub.add_argument("--expect-rtol", type=float, default=None, metavar="R",
                     help="relative tolerance for --expect (default 1e-9; exact with --exact)")
    sub.add_argument("--digits", type=int, default=None, metavar="N",
                     help="--expect values are rounded: they must agree to N significant digits")


def min_digits(sub):
    sub.add_argument("--min-digits", type=int, default=MIN_DIGITS, metavar="N",
                     help="significant digits a rounded answer needs (default "
                          f"{MIN_DIGITS}); an exact graph (--exact) needs the exact value")


def build(args):
    """The parsed expression, its leaves {name: Value} and its root Value (labelled f)."""
    expr = parse(args.expr, exact=args.exact)
    leaves = {}
    for item in args.at:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ExprError(f"--at {item!r}: write NAME=VALUE, as in --at x=2")
        if name in leaves:
            raise ExprError(f"--at gives {name} twice")
        if name not in expr.names and name not in expr.constants:   # --at e=2 wins over e
            raise ExprError(f"--at {name}: {expr.short} has no variable {name} "
                            f"(its variables: {', '.join(expr.names) or 'none'})")
        leaves[name] = Value(number(text, exact=args.exact), label=name)
    root = expr.evaluate(leaves)
    if not isinstance(root, Value) or not leaves:
        raise ExprError(f"{expr.short} has no variables: nothing to differentiate")
    if root.label is None:          # f, unless the expression has a variable f
        root.label = next(n for n in ("f", "g", "h", "F", "out") + tuple(
            f"f{k}" for k in range(len(expr.names) + 1)) if n not in expr.names)
    return expr, leaves, root


def wrt_leaves(args, leaves, names=None, flag="--wrt"):
    names = names or args.wrt or list(leaves)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ExprError(f"{flag} names {', '.join(twice)} twice: give each variable once")
    unknown = [n for n in names if n not in leaves]
    if unknown:
        raise ExprError(f"{flag} {' '.join(unknown)}: not a variable of the expression "
                        f"(its variables: {', '.join(leaves)})")
    return names


def run_demo(args):
    demo(args.out)
    return 0


def run_draw(args):
    _, leaves, root = build(args)
    if args.prune and not args.focus:
        raise ExprError("--prune draws only the paths of one variable: give --focus NAME")
    focus = leaves[wrt_leaves(args, leaves, [args.focus], "--focus")[0]] if args.focus else None
    root.backward()
    view = {"rankdir": args.rankdir, "show_local": args.local, "focus": focus,
            "prune": args.prune, "show_constant_grads": args.constant_grads}
    # the default folder out/ is made if missing; a folder the user names must exist
    output = save(draw(root, compact=args.compact, **view), args.output or "out/graph.svg",
                  timeout=args.timeout, parents=args.output is None)
    print(f"wrote {output}")
    if args.frames:
        frames = draw_frames(root, args.frames, output.suffix.lstrip(".") or "svg",
                             timeout=args.timeout, **view)
        print(f"wrote {len(frames)} frames: {frames[0]} ... {frames[-1].name}")
    return 0


def run_play(args):
    _, leaves, root = build(args)
    focus = leaves[wrt_leaves(args, leaves)[0]] if args.wrt else None
    title = f"{root.label} = {args.expr}" + (f" at {', '.join(args.at)}" if args.at else "")
    practice = {"min_digits": args.min_digits} if args.practice else False
    page = stepper(root, focus=focus, rankdir=args.rankdir, title=args.title or title,
                   show_constant_grads=args.constant_grads, practice=practice)
    path = page.save(args.output)
    print(f"wrote {path}: {len(page.data['steps']) - 1} steps; open it in a browser")
    if args.png_steps:
        pngs = page.save_png_steps(args.png_steps)
        print(f"wrote {len(pngs)} slides: {pngs[0]} ... {pngs[-1].name}")
    return 0


def run_worksheet(args):
    ranges = {}
    for item in args.range:
        name, sep, span = item.partition("=")
        lo, dots, hi = span.partition("..")
        try:
            ranges[name.strip()] = (int(lo), int(hi))
        except ValueError:
            raise ExprError(f"--range {item!r}: write NAME=LO..HI with whole numbers, as in "
                            "--range a=-3..3") from None
        if not (sep and dots) or int(lo) > int(hi):
            raise ExprError(f"--range {item!r}: write NAME=LO..HI with LO <= HI")
    sheets = worksheets(args.template, args.students, args.seed, ranges, args.fractions)
    paths = write_sheets(sheets, args.output, args.template, args.seed, args.format)
    pdfs = sum(p.suffix == ".pdf" for p in paths)
    print(f"wrote {len(sheets)} sheets and the key to {args.output}/ ({len(paths)} files"
          + (f", {pdfs} PDFs" if pdfs else ", no PDF: pdflatex is not installed"
             if "tex" in args.format else "") + "); README.txt lists each seed")
    return 0


def run_grade(args):
    _, _, root = build(args)
    try:
        with open(args.table, encoding="utf-8-sig") as file:
            text = file.read()
    except OSError as err:
        raise ValueError(f"grade: cannot read {args.table}: {err.strerror}") from None
    title = f"{args.table}: {root.label} = {args.expr} at {', '.join(args.at)}"
    result = grade(root, text, args.min_digits, title)
    print(result)
    return 0 if result.passed else 1


def is_number(text):
    try:
        number(text)
    except ExprError:
        return False
    return True


def listed_points(args):
    """--at b=0,1,2 a=1: the points to check a formula at ([{name: text}], one per value of
    the listed variables, the others held), with args.at set to the first; [] if no lists."""
    listed = {}
    for item in args.at:
        name, sep, text = item.partition("=")
        if sep and "," in text:
            listed[name.strip()] = [t.strip() for t in text.split(",")]
    if not listed:
        return []
    sizes = {len(v) for v in listed.values()}
    if len(sizes) > 1:
        raise ExprError("--at: the lists of values have different lengths ("
                        + ", ".join(f"{n}: {len(v)}" for n, v in listed.items())
                        + "); give each listed variable as many values")
    points = [{n: v[i] for n, v in listed.items()} for i in range(sizes.pop())]
    args.at = [f"{n}={points[0][n]}" if n in listed else item
               for item in args.at for n in [item.partition("=")[0].strip()]]
    return points


def check_formulas(args, expr, leaves, names, points):
    """--expect "3.8 + 2*b": each formula against autograd at the --at point and more
    (or at each listed point); the variables not in --wrt stay at their --at values."""
    fixed = {n: v.data for n, v in leaves.items() if n not in names}
    held = [n for n in fixed if points and n in points[0]]
    if held:
        raise ExprError(f"--at lists values for {', '.join(held)}, which is not in --wrt: "
                        "a formula is checked at points of the --wrt variables")

    def f(*values):
        return expr.evaluate({**leaves, **dict(zip(names, values))})

    at = [[number(p.get(n, str(leaves[n].data)), exact=args.exact) for n in names]
          for p in points] or None
    try:
        result = check_formula(f, [leaves[n].data for n in names], args.expect, names, at, fixed)
    except GradCheckFailed as failure:
        print(failure.result.text(CHECK_WORDS))
        return 1
    print(result)
    return 0


def written_as(table, args):
    """A steps table or an explanation in the --format asked for."""
    if args.format == "text":
        return table.table(args.digits) if hasattr(table, "table") else str(table)
    if args.format == "latex":
        return table.to_latex(args.digits, document=args.standalone).rstrip("\n")
    return getattr(table, FORMATS[args.format])(args.digits).rstrip("\n")


def printed(tables, args, command):
    """Print the tables (joined by blank lines), or with --format pdf write them as one
    handout and say where."""
    if args.format == "pdf":
        body = "\n\n\\bigskip\n".join(t.to_latex(args.digits) for t in tables)
        print(f"wrote {pdf(body, args.output or command + '.pdf')}")
        return
    print("\n\n".join(written_as(t, args) for t in tables))


def run_forward(args):
    _, _, root = build(args)
    printed([forward_steps(root)], args, "forward")
    return 0


def run_steps(args):
    _, _, root = build(args)
    printed([backward_steps(root, show_constant_grads=args.constant_grads)], args, "steps")
    return 0


def run_explain(args):
    _, leaves, root = build(args)
    printed([explain(root, leaves[n], args.max_paths, args.digits)
             for n in wrt_leaves(args, leaves)], args, "explain")
    return 0


def run_check(args):
    points = listed_points(args)            # --at b=0,1,2: the first point goes to build()
    expr, leaves, _ = build(args)
    names = wrt_leaves(args, leaves)
    expected = None
    if args.expect is not None:
        if len(args.expect) != len(names):
            raise ExprError(f"--expect has {len(args.expect)} values for {len(names)} "
                            f"variables ({' '.join(names)}): give one per --wrt name")
        if points or not all(is_number(text) for text in args.expect):
            return check_formulas(args, expr, leaves, names, points)
        expected = [number(text, exact=args.exact) for text in args.expect]
    elif points:
        raise ExprError("--at with a list of points (b=0,1,2) checks a formula: give it with "
                        '--expect, as in --expect "3.8 + 2*b"')

    def f(*values):
        return expr.evaluate({**leaves, **dict(zip(names, values))})

    try:
        result = check_grad(f, [leaves[n] for n in names], expected, eps=args.eps,
                            rtol=args.rtol, atol=args.atol, expected_rtol=args.expect_rtol,
                            digits=args.digits)
    except GradCheckFailed as failure:
        print(failure.result.text(CHECK_WORDS))
        return 1
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
