"""Tables for handouts, slides and notebooks: one header and rows written as Markdown (maths in
$...$, as GitHub and Jupyter render it), LaTeX (real maths in a `longtable` the width of the
page; document=True: a whole document for plain pdflatex), PDF (through pdflatex), CSV, and
HTML (what Jupyter shows). `Exportable` gives a class with a `parts()` method all of them.
"""
import csv
import html
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import texmath
from .texmath import latex_text        # noqa: F401  (prose for LaTeX: the worksheets use it)

# what parts() gives Exportable: (caption, header, rows, note)
Parts = tuple[str, tuple[str, ...], list[tuple[str, ...]], str]

PDFLATEX_HINT = ("--format pdf needs pdflatex: apt-get install texlive-latex-recommended "
                 "(or write --format latex --standalone and compile it where LaTeX is)")
PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath}
\usepackage{array}
\usepackage{longtable}
\setlength{\parindent}{0pt}
\begin{document}
"""


class NoLatex(RuntimeError):
    """No pdflatex to make a PDF with (the message says how to get it)."""

def markdown_table(header, rows, caption="", note=""):
    """A GitHub-flavoured Markdown table, formulas in $...$ maths (a minus sign a true
    minus, do/dn a fraction of partials); caption and note as paragraphs around it."""
    def cells(row, head=False):
        return "| " + " | ".join(_markdown_cell(c, head) or " " for c in row) + " |"
    lines = ([caption, ""] if caption else []) + [cells(header, True),
                                                 "|" + "|".join("---" for _ in header) + "|"]
    lines += [cells(row) for row in rows]
    return "\n".join(lines + (["", _markdown_cell(note)] if note else []))


def _markdown_cell(text, head=False):
    text = str(text)
    if head and not texmath.PARTIAL.search(text) or texmath.is_prose(text) or text in texmath.WORDS:
        return text.replace("|", "\\|")
    return texmath.cell(text)


def latex_table(header, rows, caption="", note=""):
    """A `longtable` as wide as the text (columns share it by the length of what they
    hold; long cells wrap; a long table breaks across pages, its header repeated), every
    formula in maths; the caption above it and the note below. Needs the amsmath, array
    and longtable packages (document=True writes them)."""
    widths, size = _widths([header, *rows])
    spec = "".join(r">{\raggedright\arraybackslash}p{%.3f\dimexpr\linewidth-%d\tabcolsep\relax}"
                   % (w, 2 * len(header)) for w in widths)

    def cells(row, head=False):
        return " & ".join(_latex_cell(c, head) for c in row) + r" \\"
    lines = [texmath.latex_text(caption) + r"\par"] if caption else []
    lines += ["{\\" + size + r"\renewcommand{\arraystretch}{1.35}",
              r"\begin{longtable}{" + spec + "}", r"\hline", cells(header, True),
              r"\hline", r"\endhead", r"\hline", r"\endfoot",
              *[cells(row) for row in rows], r"\end{longtable}}"]
    # a list of results (x.grad = 1, w.grad = 2) as one formula each, so the line can break
    note = ", ".join(map(_latex_cell, note.split(", "))) if note else ""
    return "\n".join(lines + ([note + r"\par"] if note else []))


def _latex_cell(text, head=False):
    text = str(text)
    if head and not texmath.PARTIAL.search(text):
        return r"\textbf{" + texmath.latex_text(text) + "}"
    return texmath.cell(text)


def _widths(rows):
    """Each column's share of the text width and the font size that fits them: first
    every column gets its longest unbreakable word (a number, a name; bold headers a
    little wider), then what is left goes to the columns with longer cells (a cell of
    more than 40 characters wraps). Lengths in characters: about 87 fit an A4 line at
    \\small, 100 at \\footnotesize."""
    columns = list(zip(*[[str(c) for c in row] for row in rows]))
    need = [max(max((len(w) * (1.35 if i == 0 else 1) + 1 for i, c in enumerate(col)
                     for w in c.split()), default=0), 3) for col in columns]
    # maths is wider than its text (space around = and +): 1.3 characters a character
    want = [max(min(1.3 * max(map(len, col)), 40), n) for col, n in zip(columns, need)]
    for size, room in (("small", 87), ("footnotesize", 100)):
        if sum(need) <= room:
            break
    left = max(room - sum(need), 0)
    extra = [w - n for w, n in zip(want, need)]
    share = min(1.0, left / sum(extra)) if sum(extra) else 0
    total = 1.01 * max(room, sum(need))          # 1%: rounding never makes it too wide
    return [(n + e * share) / total for n, e in zip(need, extra)], size


def latex_document(body):
    """A whole LaTeX document around body (tables from to_latex): plain pdflatex compiles it."""
    return PREAMBLE + body + "\n\\end{document}\n"


def pdf(body, path):
    """Compile the document around body with pdflatex into path; returns the Path."""
    program = shutil.which("pdflatex")
    if program is None:
        raise NoLatex(PDFLATEX_HINT)
    with tempfile.TemporaryDirectory(prefix="tg-latex-") as folder:
        (Path(folder) / "handout.tex").write_text(latex_document(body), encoding="utf-8")
        for _ in range(2):                  # twice: longtable settles its columns
            done = subprocess.run([program, "-interaction=nonstopmode", "-halt-on-error",
                                   "handout.tex"], cwd=folder, capture_output=True,
                                  text=True, timeout=120)
            if done.returncode != 0:
                why = [line for line in done.stdout.splitlines() if line.startswith("!")]
                raise RuntimeError(f"pdflatex failed: {(why or ['see its log'])[0]}")
            if "Rerun" not in done.stdout:
                break
        target = Path(path)
        shutil.copyfile(Path(folder) / "handout.pdf", target)
    return target


def csv_table(header, rows):
    """CSV text (the header, then one line per row), as Python's csv module writes it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def html_table(header, rows, caption="", note=""):
    """An HTML table with its caption: what a Jupyter notebook shows."""
    def cells(row, tag):
        return "<tr>" + "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in row) + "</tr>"
    parts = ["<table>"]
    if caption:
        parts.append(f"<caption style=\"text-align:left\">{html.escape(caption)}</caption>")
    parts += ["<thead>", cells(header, "th"), "</thead>", "<tbody>",
              *[cells(row, "td") for row in rows], "</tbody>", "</table>"]
    if note:
        parts.append(f"<p>{html.escape(note)}</p>")
    return "\n".join(parts)


class Exportable:
    """to_markdown(), to_latex(), to_csv() and Jupyter's _repr_html_ from parts(digits),
    which gives (caption, header, rows, note): the same table as str() in other formats.
    An object of several tables (an explanation) gives them all by all_parts(digits)."""

    def parts(self, digits=4):
        raise NotImplementedError

    def all_parts(self, digits=4):
        """Every table, as parts(); most objects have one."""
        return (self.parts(digits),)

    def to_markdown(self, digits=4):
        """The tables in Markdown, for a handout or a README."""
        return "\n\n".join(markdown_table(h, r, c, n) for c, h, r, n in self.all_parts(digits))

    def to_latex(self, digits=4, document=False):
        """The tables in LaTeX, formulas as maths, each a longtable the width of the page
        (\\input them into a document with amsmath, array and longtable); document=True:
        a whole A4 document that plain pdflatex compiles."""
        body = "\n\n\\bigskip\n".join(latex_table(h, r, c, n)
                                       for c, h, r, n in self.all_parts(digits))
        return latex_document(body) if document else body

    def to_pdf(self, path, digits=4):
        """The tables as a PDF handout at path, through pdflatex (NoLatex, saying how to
        install it, if there is none); returns the Path."""
        return pdf(self.to_latex(digits), os.fspath(path))

    def to_csv(self, digits=4):
        """The first table as CSV (header and rows; the caption and note are left out)."""
        _, header, rows, _ = self.parts(digits)
        return csv_table(header, rows)

    def _repr_html_(self):
        return "\n".join(html_table(h, r, c, n) for c, h, r, n in self.all_parts())
