"""Tables for handouts, slides and notebooks: one header and rows written as Markdown, LaTeX
(a `tabular` that compiles with plain pdflatex), CSV, and HTML (what Jupyter shows).
`Exportable` gives a class with a `parts()` method all four, and `_repr_html_`.
"""
import csv
import html
import io

# what parts() gives Exportable: (caption, header, rows, note)
Parts = tuple[str, tuple[str, ...], list[tuple[str, ...]], str]

# LaTeX's special characters, each as text that prints it
_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}",
          "Σ": r"$\Sigma$", "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}


def latex_text(text):
    """text that LaTeX prints as is (underscores, carets, braces escaped; -> an arrow)."""
    return r" $\to$ ".join("".join(_LATEX.get(ch, ch) for ch in part)
                            for part in str(text).split(" -> "))


def markdown_table(header, rows, caption="", note=""):
    """A GitHub-flavoured Markdown table; caption and note as paragraphs around it."""
    def cells(row):
        return "| " + " | ".join(str(c).replace("|", "\\|") or " " for c in row) + " |"
    lines = ([caption, ""] if caption else []) + [cells(header),
                                                 "|" + "|".join("---" for _ in header) + "|"]
    lines += [cells(row) for row in rows]
    return "\n".join(lines + (["", note] if note else []))


def latex_table(header, rows, caption="", note=""):
    """A `tabular` (booktabs-free, so it needs no package) with the caption above it."""
    def cells(row):
        return " & ".join(latex_text(c) for c in row) + r" \\"
    lines = ([latex_text(caption) + r" \\[2pt]"] if caption else [])
    lines += [r"\begin{tabular}{" + "l" * len(header) + "}", r"\hline", cells(header),
              r"\hline", *[cells(row) for row in rows], r"\hline", r"\end{tabular}"]
    return "\n".join(lines + ([r"\\[2pt]", latex_text(note)] if note else []))


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

    def to_latex(self, digits=4):
        """The tables as LaTeX tabulars (put them inside a document, or \\input them)."""
        return "\n\n".join(latex_table(h, r, c, n) for c, h, r, n in self.all_parts(digits))

    def to_csv(self, digits=4):
        """The first table as CSV (header and rows; the caption and note are left out)."""
        _, header, rows, _ = self.parts(digits)
        return csv_table(header, rows)

    def _repr_html_(self):
        return "\n".join(html_table(h, r, c, n) for c, h, r, n in self.all_parts())
