"""Worksheets: the same backprop exercise with different numbers for each student, and the
key. A template is an expression whose variables, and placeholders such as {k}, get small
integers (or simple fractions) drawn from a seeded generator, avoiding divisions by zero,
domain errors and corners (relu at 0); each sheet names its seed, so it can be regenerated.
Each sheet has a blank forward table and a blank backward table (Markdown, LaTeX, HTML, and
the CSV the student fills in for `tracegrad grade`); the key has them filled in.
"""
from __future__ import annotations

import math
import random
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

from .export import html_table, latex_table, latex_text, markdown_table
from .expr import ExprError, parse
from .forward import forward_steps
from .grade import blank_sheet, cells_of
from ..graph import topological_order
from .steps import backward_steps
from ..text import fmt
from ..value import Number, Value

RANGE = (-5, 5)                      # integers drawn, 0 left out (it makes a product vanish)
DENOMINATORS = (2, 3, 4)             # with fractions=True: p/q, p from the range, q one of these
FORMATS = ("md", "tex", "html", "csv")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")


class Sheet(NamedTuple):
    """One student's exercise: its seed, the numbers drawn, the expression with the
    placeholders filled in, and its graph's root (backward run, so the key is in .grad)."""
    number: int
    seed: str
    values: dict[str, Number]
    expr: str
    root: Value

    @property
    def at(self) -> str:
        """The variables' values as `tracegrad grade` takes them: 'a=3 b=-1/2'."""
        return " ".join(f"{n}={fmt(v)}" for n, v in self.values.items() if n in self.variables)

    @property
    def variables(self) -> list[str]:
        return parse(self.expr, exact=True).names


def draw_sheet(template: str, seed: str, ranges: Mapping[str, tuple[int, int]] | None = None,
               fractions: bool = False, number: int = 1) -> Sheet:
    """The sheet seed makes: numbers for every variable and placeholder of template, drawn
    again until the graph evaluates and differentiates without an error or a corner."""
    names = _names(template)
    rng = random.Random(seed)
    for _ in range(1000):
        values = {n: _draw(rng, (ranges or {}).get(n, RANGE), fractions) for n in names}
        sheet = _try_sheet(template, values, seed, number)
        if sheet is not None:
            return sheet
    raise ValueError(f"worksheet: no numbers in the ranges given make {template!r} "
                     "defined everywhere (every draw divided by zero or left the domain)")


def worksheets(template: str, students: int, seed: int | str = 0,
               ranges: Mapping[str, tuple[int, int]] | None = None,
               fractions: bool = False) -> list[Sheet]:
    """One sheet per student, all different: sheet i is draw_sheet(template, f'{seed}-{i}')
    (or, if that repeats an earlier sheet's numbers, the seed with .1, .2 ... added)."""
    if type(students) is not int or students < 1:
        raise ValueError(f"worksheet: students={students!r}; give a whole number from 1 up")
    sheets: list[Sheet] = []
    seen: set[tuple] = set()
    for i in range(1, students + 1):
        for retry in range(100):
            own = f"{seed}-{i}" + (f".{retry}" if retry else "")
            sheet = draw_sheet(template, own, ranges, fractions, i)
            key = tuple(sheet.values.items())
            if key not in seen:
                break
        else:
            raise ValueError(f"worksheet: the ranges give fewer than {students} different "
                             f"sheets of {template!r}: widen them (--range NAME=LO..HI)")
        seen.add(key)
        sheets.append(sheet)
    return sheets


def _names(template: str) -> list[str]:
    """The placeholders ({k}) and the variables of template, in order of first use."""
    placeholders = list(dict.fromkeys(_PLACEHOLDER.findall(template)))
    plain = _PLACEHOLDER.sub("1", template)
    return placeholders + [n for n in parse(plain, exact=True).names if n not in placeholders]


def _draw(rng: random.Random, bounds: tuple[int, int], fractions: bool) -> Number:
    lo, hi = bounds
    choices = [p for p in range(lo, hi + 1) if p != 0]
    if not choices:
        raise ValueError(f"worksheet: the range {lo}..{hi} has no number but 0")
    # a simple fraction: a whole number of the range over 2, 3 or 4 (so still in the range)
    x = Fraction(rng.choice(choices), rng.choice((1,) + DENOMINATORS) if fractions else 1)
    return x.numerator if x.denominator == 1 else x


def _try_sheet(template: str, values: dict[str, Number], seed: str, number: int) -> Sheet | None:
    """The sheet with these numbers, or None if its graph divides by zero, leaves an op's
    domain, is not finite, or sits on a corner (relu(0), abs(0))."""
    text = _PLACEHOLDER.sub(lambda m: _written(values[m.group(1)]), template)
    try:
        expr = parse(text, exact=True)
        leaves = {n: Value(values[n], label=n) for n in expr.names}
        root = expr.evaluate(leaves)
        if not isinstance(root, Value) or not leaves:
            raise ValueError(f"worksheet: {template!r} has no variables to differentiate")
        root.label = root.label or "f"
        backward_steps(root)
    except (ExprError, ZeroDivisionError, OverflowError, ArithmeticError) as err:
        if isinstance(err, ExprError) and "cannot be evaluated" not in str(err):
            raise                   # a bad template, not bad numbers
        return None
    for node in topological_order(root):
        numbers = [node.data, node.grad]
        if any(isinstance(x, float) and not math.isfinite(x) for x in numbers):
            return None
        if node._op is not None and node._op.kinks and node.parents[0].data in node._op.kinks:
            return None
    return Sheet(number, seed, values, text, root)


def _written(x: Number) -> str:
    """A drawn number as it goes into the expression: 3, or (-2) and (1/2) in brackets."""
    text = fmt(x)
    return text if text.isdigit() else f"({text})"


# ---- writing sheets and the key ------------------------------------------------------------

def tables(sheet: Sheet, key: bool = False, digits: int = 4) -> list[tuple]:
    """The sheet's forward and backward tables as (caption, header, rows, note); blank
    where the student writes (the key: filled in)."""
    forward = forward_steps(sheet.root)
    backward = backward_steps(sheet.root)
    f_caption, f_header, f_rows, _ = forward.parts(digits)
    b_caption, b_header, b_rows, b_note = backward.parts(digits)
    if not key:
        f_rows = [r if r[2] in ("input", "constant") else r[:3] + ("", "") for r in f_rows]
        b_rows = [r[:2] + ("",) + r[3:4] + ("", "", "") for r in b_rows]
        b_note = "the inputs' gradients: " + ", ".join(f"{n}.grad = ____"
                                                      for n in sheet.variables)
    return [(f_caption, f_header, f_rows, ""), (b_caption, b_header, b_rows, b_note)]


def _heading(sheet: Sheet) -> tuple[str, str]:
    values = ", ".join(f"{n} = {fmt(v)}" for n, v in sheet.values.items() if n in sheet.variables)
    return (f"Backprop by hand: sheet {sheet.number} (seed {sheet.seed})",
            f"f = {sheet.expr} at {values}")


HOW = ("Fill in the forward table (each node's value), then the backward table, root "
       "first: the node's gradient, each parent's local derivative, the contribution (local "
       "times upstream) and the parent's new .grad (what it held plus the contribution). "
       "Write exact numbers (19/5, -3) where you can, else decimals to at least 2 "
       "significant digits.")


def markdown(sheet: Sheet, key: bool = False) -> str:
    title, what = _heading(sheet)
    parts = [f"# {title}" + (" - key" if key else ""), "", what, "",
             "" if key else "Name: ______________________", "" if key else HOW, ""]
    parts += [markdown_table(h, r, c, n) + "\n" for c, h, r, n in tables(sheet, key)]
    return "\n".join(p for p in parts if p is not None) + "\n"


def latex_body(sheet: Sheet, key: bool = False) -> str:
    title, what = _heading(sheet)
    lines = [r"\section*{" + latex_text(title + (" - key" if key else "")) + "}",
             latex_text(what) + r"\par\medskip"]
    if not key:
        lines += [r"Name: \rule{8cm}{0.4pt}\par\medskip", latex_text(HOW) + r"\par\medskip"]
    for c, h, r, n in tables(sheet, key):
        lines += [r"{\small", latex_table(h, r, c, n) if key else _latex_grid(h, r, c, n),
                  r"}\par\bigskip"]
    return "\n".join(lines)


def _latex_grid(header: Sequence[str], rows: Sequence[Sequence[str]], caption: str,
                note: str) -> str:
    """A blank table to write in: ruled boxes, each column left blank for the student
    2.8 cm wide, the rows tall enough to write a fraction."""
    blank = [all(row[i] == "" for row in rows) or header[i] in ("with numbers", "value")
             for i in range(len(header))]
    spec = "|" + "|".join("p{2.8cm}" if b else "l" for b in blank) + "|"

    def cells(row: Sequence[str]) -> str:
        return " & ".join(latex_text(x) for x in row) + r" \\[3mm] \hline"
    lines = [latex_text(caption) + r" \\[2pt]", r"\begin{tabular}{" + spec + "}", r"\hline",
             " & ".join(latex_text(x) for x in header) + r" \\ \hline",
             *[cells(row) for row in rows], r"\end{tabular}"]
    if note:
        lines += [r"\\[4pt]", latex_text(note).replace(r"\_\_\_\_", r"\rule{2cm}{0.4pt}")]
    return "\n".join(lines)


def latex(sheets: Sequence[Sheet], key: bool = False) -> str:
    """A whole LaTeX document (a plain article with LaTeX's own amsmath, array and longtable,
    which the key's tables in maths need): one page per sheet."""
    body = "\n\\newpage\n".join(latex_body(s, key) for s in sheets)
    return ("\\documentclass[a4paper]{article}\n" + PACKAGES + MARGINS + "\\pagestyle{empty}\n"
            "\\begin{document}\n" + body + "\n\\end{document}\n")


PACKAGES = "\\usepackage{amsmath}\n\\usepackage{array}\n\\usepackage{longtable}\n"

# an A4 page with 1.5 cm margins, set by hand (the geometry package is not always there)
MARGINS = "\n".join(r"\setlength{\%s}{%s}" % pair for pair in [
    ("textwidth", "18cm"), ("oddsidemargin", "-1cm"), ("evensidemargin", "-1cm"),
    ("textheight", "26cm"), ("topmargin", "-2cm"), ("headheight", "0pt"),
    ("headsep", "0pt")]) + "\n"


def html_page(sheets: Sequence[Sheet], key: bool = False) -> str:
    import html
    parts = []
    for sheet in sheets:
        title, what = _heading(sheet)
        parts.append(f"<section><h1>{html.escape(title)}{' - key' if key else ''}</h1>"
                     f"<p>{html.escape(what)}</p>" +
                     ("" if key else f"<p>Name: ____________________</p><p>{html.escape(HOW)}</p>")
                     + "".join(html_table(h, r, c, n) for c, h, r, n in tables(sheet, key))
                     + "</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
            f"{'key' if key else 'worksheet'}</title><style>{STYLE}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


STYLE = """body { font: 15px/1.4 system-ui, sans-serif; margin: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-family: ui-monospace, monospace; }
caption { text-align: left; font-weight: bold; font-family: system-ui, sans-serif; }
th, td { border: 1px solid #888; padding: 0.3em 0.6em; min-width: 4em; height: 1.6em; }
section { page-break-after: always; }"""


def write(sheets: Sequence[Sheet], folder: str | Path, template: str, seed: int | str,
          formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write every sheet (sheet-01.md, .tex, .html, .csv; .pdf when pdflatex is here) and
    the key (key.md, key.tex, key.html, key-01.csv ...) into folder; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    width = len(str(len(sheets)))

    def put(name: str, text: str) -> Path:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
        return path

    for sheet in sheets:
        stem = f"sheet-{sheet.number:0{width}d}"
        if "md" in formats:
            put(stem + ".md", markdown(sheet))
        if "html" in formats:
            put(stem + ".html", html_page([sheet]))
        if "csv" in formats:
            put(stem + ".csv", blank_sheet(cells_of(sheet.root)))
            put(f"key-{sheet.number:0{width}d}.csv", blank_sheet(cells_of(sheet.root), key=True))
        if "tex" in formats:
            tex = put(stem + ".tex", latex([sheet]))
            pdf = compile_pdf(tex)
            if pdf is not None:
                written.append(pdf)
    if "md" in formats:
        put("key.md", "\n".join(markdown(s, key=True) for s in sheets))
    if "html" in formats:
        put("key.html", html_page(sheets, key=True))
    if "tex" in formats:
        tex = put("key.tex", latex(sheets, key=True))
        pdf = compile_pdf(tex)
        if pdf is not None:
            written.append(pdf)
    put("README.txt", _readme(sheets, template, seed))
    return written


class LatexError(RuntimeError):
    """pdflatex could not compile a sheet; the message has its first error line."""


def compile_pdf(tex: Path) -> Path | None:
    """tex compiled to a PDF beside it with pdflatex, or None when pdflatex is not here.
    A failed compile raises LatexError with pdflatex's first error line."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        return None
    with tempfile.TemporaryDirectory(prefix="tg-latex-") as work:
        done = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error",
                               "-output-directory", work, str(tex.resolve())],
                              capture_output=True, text=True, timeout=120, cwd=work)
        built = Path(work) / (tex.stem + ".pdf")
        if done.returncode != 0 or not built.exists():
            first = next((line for line in done.stdout.splitlines() if line.startswith("!")),
                         done.stdout.strip()[-200:])
            raise LatexError(f"worksheet: pdflatex could not compile {tex.name}: {first}")
        pdf = tex.with_suffix(".pdf")
        shutil.copyfile(built, pdf)
    return pdf


def _readme(sheets: Sequence[Sheet], template: str, seed: int | str) -> str:
    lines = [f"{len(sheets)} worksheets of {template} (seed {seed}); each names its own seed.",
             "Regenerate one in Python: draw_sheet(template, seed) with its seed, as below.",
             "Grade a filled CSV with the line beside its sheet:", ""]
    for s in sheets:
        exact = " --exact"
        lines.append(f"sheet {s.number} (seed {s.seed}): tracegrad grade \"{s.expr}\" "
                     f"sheet-{s.number:0{len(str(len(sheets)))}d}.csv --at {s.at}{exact}")
    return "\n".join(lines) + "\n"
