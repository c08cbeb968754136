"""Turning DOT text into SVG or PNG: a function plugged in with set_renderer(fn) if there is one,
else a Graphviz `dot` on PATH, else the `graphviz-pure` program (the `draw` extra; looked up in the
running interpreter's scripts folder, so no activated venv is needed), else the DOT text and one
line saying how to get a renderer. `Drawing` is a graphviz.Digraph that renders this way.
A render has a time limit, and a file that cannot be written is an OutputError: one line each.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import graphviz

ENV = "TRACEGRAD_RENDERER"      # a renderer program to use instead; 'none' for none
HINT = ("no Graphviz renderer found: pip install graphviz-pure (wheels for Linux, macOS and "
        "Windows on x86-64 and ARM64), install Graphviz so `dot` is on PATH, or plug one in "
        "with tracegrad.engine.set_renderer(fn); the DOT text is written instead")
TEXT_FORMATS = {"dot", "gv"}     # written as DOT text, no renderer needed
TIMEOUT = 30                     # seconds one render may take before it is stopped
MEMORY = 2 << 30                 # bytes of address space a render may use (POSIX), as
                                 # TIMEOUT bounds its time: a 10^5-node graph wants more


Renderer = Callable[[str, str], bytes]     # fn(dot_source, format) -> the rendered bytes
_plugged: Renderer | None = None           # set_renderer's function; None: find a program


def set_renderer(fn: Renderer | None) -> Renderer | None:
    """Render every drawing with fn(dot_source, format) -> bytes from now on: draw() in a
    notebook, Drawing.render/pipe, save(), draw_frames() and the stepper all call it.
    format is 'svg', 'png', 'json' (frames' layout) or any suffix given to save(); fn returns
    the file's bytes (str is taken as UTF-8 text) or raises for a format it cannot write.
    set_renderer(None) restores the default (dot, then graphviz-pure). Returns the
    renderer replaced, so a test or a with-block can put it back.

        set_renderer(lambda dot, fmt: my_service.render(dot, fmt))"""
    global _plugged
    if fn is not None and not callable(fn):
        raise TypeError(f"set_renderer: {fn!r} is not callable; give a function "
                        "fn(dot_source, format) -> bytes, or None for the default")
    previous, _plugged = _plugged, fn
    return previous


def plugged() -> Renderer | None:
    """The function given to set_renderer, or None (the default: a Graphviz program)."""
    return _plugged


def renderer_name() -> str | None:
    """What renders: the plugged-in function's name, the program's path, or None."""
    if _plugged is not None:
        return getattr(_plugged, "__qualname__", None) or type(_plugged).__qualname__
    return find_renderer()


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
    if _plugged is not None:
        return _call_plugged(_plugged, source, fmt)
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


def _call_plugged(fn, source, fmt):
    """fn(source, fmt) as bytes; anything it raises, or a wrong answer, is one RenderError."""
    name = renderer_name()
    try:
        data = fn(source, fmt)
    except Exception as err:            # a user's renderer: say whose failure it was
        raise RenderError(f"the renderer {name} given to set_renderer failed for format "
                          f"{fmt!r}: {type(err).__name__}: {err}".splitlines()[0]) from err
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise RenderError(f"the renderer {name} given to set_renderer returned "
                          f"{type(data).__name__} for format {fmt!r}; it must return bytes")
    return bytes(data)


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
    """A graphviz.Digraph that renders with set_renderer's function, `dot` or `graphviz-pure`.

    In Jupyter it displays as SVG with a PNG beside it (what a saved, untrusted notebook and
    GitHub show), or as its DOT text and the hint when no renderer exists."""

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
            svg = self.pipe(format="svg", encoding="utf-8")
        except (NoRenderer, RenderError) as err:
            return {"text/plain": f"{err}\n{self.source}"}, {}
        data, metadata = png_bundle(self.source)
        return {"image/svg+xml": svg, **data, "text/plain": repr(self)}, metadata


def png_bundle(source, scale=2):
    """({'image/png': bytes}, its Jupyter metadata) for DOT source, drawn at scale times
    Graphviz's 96 dpi and shown at its natural size (width/height metadata), so it is sharp
    on a high-density screen; ({}, {}) if the renderer cannot write PNG. A notebook opened
    untrusted shows the PNG: JupyterLab does not show SVG it cannot trust."""
    try:
        png = run(with_dpi(source, 96 * scale), "png")
    except (NoRenderer, RenderError):
        return {}, {}
    width, height = png_size(png)
    size = {"width": round(width / scale), "height": round(height / scale)}
    return {"image/png": png}, {"image/png": size}


def with_dpi(source, dpi):
    """DOT source drawn at dpi pixels per inch (a graph attribute: every renderer reads it)."""
    head, brace, body = source.partition("{")
    return f"{head}{brace}\n\tdpi={dpi}{body}" if brace else source


def png_size(png):
    """(width, height) in pixels from a PNG's header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        raise RenderError("the renderer's PNG is not a PNG file")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _unsupported(**options):
    given = [name for name, value in options.items() if value]
    if given:
        raise TypeError(f"Drawing renders with {renderer_name() or 'no renderer'}: the "
                        f"option(s) {', '.join(given)} are not supported; leave them out")
