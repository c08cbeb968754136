"""Turning DOT text into SVG or PNG after a plain `pip install`: a Graphviz `dot` on PATH if
there is one, else the `graphviz-pure` program installed with tracegrad (looked up in the running
interpreter's scripts folder, so no activated venv is needed), else the DOT text and one line
saying how to get a renderer. `Drawing` is a graphviz.Digraph that renders this way.
A render has a time limit, and a file that cannot be written is an OutputError: one line each.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import graphviz

ENV = "TRACEGRAD_RENDERER"      # a renderer program to use instead; 'none' for none
HINT = ("no Graphviz renderer found: pip install graphviz-pure (or install Graphviz so "
        "`dot` is on PATH); the DOT text is written instead")
TEXT_FORMATS = {"dot", "gv"}     # written as DOT text, no renderer needed
TIMEOUT = 30                     # seconds one render may take before it is stopped
MEMORY = 2 << 30                 # bytes of address space a render may use (POSIX), as
                                 # TIMEOUT bounds its time: a 10^5-node graph wants more


class NoRenderer(RuntimeError):
    """Neither `dot` nor `graphviz-pure` was found."""


class RenderError(RuntimeError):
    """The renderer ran and failed (its first line of complaint is the message)."""


class OutputError(OSError):
    """A file that cannot be written (a folder, no permission, a full disk, no such folder)."""


def find_renderer():
    """The program that will render DOT: $TRACEGRAD_RENDERER, `dot` on PATH, or
    `graphviz-pure` next to this Python interpreter (then on PATH); None if none exists."""
    chosen = os.environ.get(ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "none") else chosen
    dot = shutil.which("dot")
    if dot:
        return dot
    program = "graphviz-pure.exe" if os.name == "nt" else "graphviz-pure"
    for folder in (sysconfig.get_path("scripts"), Path(sys.executable).parent):
        candidate = Path(folder) / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("graphviz-pure")


def run(source, fmt, engine=None, timeout=TIMEOUT, flags=()):
    """The rendered bytes of DOT source in format fmt ('svg', 'png', ...), stopped with a
    RenderError after timeout seconds. flags: more command-line options (-n2)."""
    renderer = find_renderer()
    if renderer is None:
        raise NoRenderer(HINT)
    if Path(renderer).name.startswith("graphviz-pure") and fmt == "pdf":
        raise RenderError("graphviz-pure cannot write PDF: for PDF install Graphviz so `dot` "
                          "is on PATH (apt install graphviz, brew install graphviz), or write "
                          ".svg or .png")
    command = [renderer, f"-T{fmt}"] + ([f"-K{engine}"] if engine else []) + list(flags)
    try:
        done = subprocess.run(command, input=source.encode("utf-8"), capture_output=True,
                              timeout=timeout, preexec_fn=_memory_limit())
    except subprocess.TimeoutExpired:
        nodes = source.count("shape=record")
        raise RenderError(f"rendering a graph of {nodes} Values took longer than {timeout:g} s "
                          "and was stopped: draw less of it (the compact view, or one focus leaf's "
                          "paths) or allow more time") from None
    except OSError as err:
        raise RenderError(f"could not run the renderer {renderer}: {err}") from None
    if done.returncode != 0:
        complaint = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"]
        said = "\n".join(complaint).lower()
        if "memory" in said or "bad_alloc" in said:    # "memory allocation ... failed" (Rust)
            nodes = source.count("shape=record")
            raise RenderError(f"rendering a graph of {nodes} Values needed more than "
                              f"{MEMORY >> 20:,} MB and was stopped: draw less of it (the compact "
                              "view, or one focus leaf's paths)")
        raise RenderError(f"{Path(renderer).name} -T{fmt} failed: {complaint[-1]}")
    return done.stdout


def _memory_limit():
    """A function the render's child process runs first: cap its address space (POSIX)."""
    try:
        import resource
    except ImportError:                    # Windows: the time limit alone
        return None

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    return limit


def save(graph, path, timeout=TIMEOUT, parents=True):
    """Write graph (a Digraph or DOT text) to path, in the format its suffix names
    (.svg, .png, .jpg, .pdf with Graphviz's dot, or .dot for the text). Returns the Path
    written: without a renderer that is path with the suffix .dot, and one line on stderr
    says how to get one. parents: create missing folders (else an OutputError)."""
    path = Path(path)
    source = getattr(graph, "source", graph)
    fmt = path.suffix.lstrip(".").lower()
    if not fmt and not path.is_dir():
        raise ValueError(f"save: {path} has no suffix; end it in .svg, .png or .dot")
    if fmt in TEXT_FORMATS or path.is_dir():
        return write(path, source.encode("utf-8"), parents)
    try:
        data = run(source, fmt, timeout=timeout)
    except NoRenderer:
        path = write(path.with_suffix(".dot"), source.encode("utf-8"), parents)
        print(f"{HINT} ({path})", file=sys.stderr)
        return path
    return write(path, data, parents)


def write(path, data, parents=True):
    """Write bytes to path; any reason it cannot be done is one OutputError line."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name in it, "
                          f"such as {path / 'graph.svg'}")
    if not parents and not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: the folder {path.parent} does not exist "
                          "(create it first)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from None
    return path


class Drawing(graphviz.Digraph):
    """A graphviz.Digraph that renders with find_renderer(): `dot` or `graphviz-pure`.

    In Jupyter it displays as SVG, or as its DOT text and the hint when no renderer exists."""

    def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None,
             quiet=False, *, engine=None, encoding=None):
        _unsupported(renderer=renderer, formatter=formatter, neato_no_op=neato_no_op)
        data = run(self.source, format or self.format, engine)
        return data.decode(encoding) if encoding else data

    def render(self, filename=None, directory=None, view=False, cleanup=False, format=None,
               renderer=None, formatter=None, neato_no_op=None, quiet=False,
               quiet_view=False, *, outfile=None, engine=None, **options):
        """As graphviz's render(): filename 'graph' with format 'png' writes graph.png
        (and the DOT source to 'graph', unless cleanup). Returns the output path."""
        _unsupported(renderer=renderer, formatter=formatter, neato_no_op=neato_no_op)
        fmt = format or (Path(outfile).suffix.lstrip(".") if outfile else self.format)
        source = Path(directory or self.directory or "") / (filename or self.filename)
        out = write(Path(outfile) if outfile else Path(f"{source}.{fmt}"),
                    run(self.source, fmt, engine))
        if not cleanup:
            write(source, self.source.encode("utf-8"))
        if view:
            graphviz.view(out, quiet=quiet_view)
        return str(out)

    def __repr__(self):            # no memory address: notebooks re-run without a diff
        values = self.source.count("shape=record")
        return f"<Drawing of {values} Values: .source is the DOT text>"

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        try:
            return {"image/svg+xml": self.pipe(format="svg", encoding="utf-8"),
                    "text/plain": repr(self)}
        except (NoRenderer, RenderError) as err:
            return {"text/plain": f"{err}\n{self.source}"}


def _unsupported(**options):
    given = [name for name, value in options.items() if value]
    if given:
        raise TypeError(f"Drawing renders with {find_renderer() or 'no renderer'}: the "
                        f"option(s) {', '.join(given)} are not supported; leave them out")
