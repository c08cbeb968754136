"""Building the static site: `python -m tracegrad.site -o out/site` (or `python3 tasks.py site`).
At build time it takes the Pyodide core runtime and viz-js from the npm registry (`npm pack`,
pinned versions, only the files the page loads), tracegrad's wheel (`pip wheel --no-deps`) and
the pure-Python graphviz wheel; at run time the page fetches nothing outside its own folder.
"""
import argparse
import gzip
import html
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from importlib import metadata, resources
from pathlib import Path
from urllib.parse import quote, urlencode

from .. import __version__
from .app import EXAMPLES, PRACTICE

# npm package, pinned version, the folder in the site, the files the page loads from it
NPM = [("pyodide", "314.0.8", "pyodide", ["pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm",
                                          "python_stdlib.zip", "pyodide-lock.json",
                                          "package.json"]),
       ("@viz-js/viz", "3.31.0", "viz", ["dist/viz-global.js", "package.json"])]
GRAPHVIZ = "0.21"           # the pure-Python graphviz package, if none is installed here
PAGE = ["index.html", "site.js", "site.css"]
MARKER = "tracegrad-site.json"    # what the build wrote (and the sign that a folder is one)


class SiteError(RuntimeError):
    """The site cannot be built (no npm, no network, an occupied folder): one line."""


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tracegrad.site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", default="out/site",
                        help="the folder to write (default out/site; replaced if it is an "
                             "earlier build)")
    args = parser.parse_args(argv)
    try:
        out = build(args.output)
    except SiteError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 1
    info = json.loads((out / MARKER).read_text(encoding="utf-8"))
    print(f"wrote {out}/: {info['files']} files, {info['bytes'] / 1e6:.1f} MB, "
          f"{info['gzipped'] / 1e6:.1f} MB gzipped\n"
          f"serve it with: python3 -m http.server -d {out} 8000   "
          f"(then open http://127.0.0.1:8000/)")
    return 0


def build(output="out/site"):
    """Write the site into output (a new folder, or one an earlier build wrote); its Path."""
    out = Path(output)
    _clear(out)
    with tempfile.TemporaryDirectory(prefix="tracegrad-site-") as tmp:
        tmp = Path(tmp)
        for name, version, folder, files in NPM:
            _unpack(_npm_pack(f"{name}@{version}", tmp), files, out / folder)
        wheels = _wheels(tmp, out / "wheels")
    for name in PAGE[1:]:
        (out / name).write_bytes(resources.files(__package__).joinpath(name).read_bytes())
    built = {"tracegrad": __version__, "wheels": wheels, "practice": PRACTICE,
             "npm": {name: version for name, version, _, _ in NPM}}
    (out / "index.html").write_text(_index(built), encoding="utf-8")
    files = [p for p in sorted(out.rglob("*")) if p.is_file()]
    built["files"] = len(files) + 1
    built["bytes"] = sum(p.stat().st_size for p in files)
    built["gzipped"] = sum(len(gzip.compress(p.read_bytes(), 6)) for p in files)
    (out / MARKER).write_text(json.dumps(built, indent=1) + "\n", encoding="utf-8")
    return out


def _clear(out):
    """Make out an empty folder: never delete a folder that an earlier build did not write."""
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file()):
            raise SiteError(f"{out} exists and is not an earlier site build: give a new or "
                            "empty folder with -o")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def _npm_pack(spec, tmp):
    """The tarball `npm pack spec` downloads (npm's cache makes a second build quick)."""
    npm = shutil.which("npm")
    if npm is None:
        raise SiteError("npm is needed at build time to fetch Pyodide and viz-js: install "
                        "Node.js (apt-get install nodejs npm, or nodejs.org)")
    done = _run([npm, "pack", spec, "--json", "--pack-destination", str(tmp)], tmp)
    return tmp / json.loads(done)[0]["filename"].replace("@", "").replace("/", "-")


def _unpack(tarball, files, folder):
    """Copy files (paths inside the npm package) from tarball into folder, flat."""
    folder.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        for name in files:
            member = tar.extractfile(f"package/{name}")
            if member is None:
                raise SiteError(f"{tarball.name} has no {name}")
            (folder / Path(name).name).write_bytes(member.read())


def _wheels(tmp, folder):
    """tracegrad's wheel and graphviz's, in folder; their file names, tracegrad's first.
    From a clone, pip builds tracegrad's wheel; else the installed files are zipped as one."""
    root = Path(__file__).resolve().parents[2]
    clone = (root / "pyproject.toml").is_file() and (root / "engine").is_dir()
    try:
        graphviz = f"graphviz=={metadata.version('graphviz')}"
    except metadata.PackageNotFoundError:
        graphviz = f"graphviz=={GRAPHVIZ}"
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
          str(tmp), *([str(root)] if clone else []), graphviz], tmp)
    if not clone:
        _installed_wheel(tmp)
    folder.mkdir(parents=True)
    names = []
    for prefix in ("tracegrad-", "graphviz-"):
        wheel = next(tmp.glob(f"{prefix}*.whl"))
        shutil.copy2(wheel, folder / wheel.name)
        names.append(wheel.name)
    return names


def _installed_wheel(folder):
    """tracegrad as pip installed it, zipped as its wheel (the files its RECORD lists, but
    the command-line scripts and caches) into folder; the wheel's Path."""
    dist = metadata.distribution("tracegrad")
    wheel = folder / f"tracegrad-{dist.version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zipped:
        for file in dist.files or []:
            path = Path(dist.locate_file(file))
            if ".." not in file.parts and "__pycache__" not in file.parts and path.is_file():
                zipped.write(path, file.as_posix())
    return wheel


def _run(command, cwd):
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    except OSError as err:
        raise SiteError(f"could not run {command[0]}: {err}") from None
    if done.returncode != 0:
        complaint = (done.stderr.strip() or done.stdout.strip() or "no message").splitlines()
        raise SiteError(f"{Path(command[0]).name} {' '.join(command[1:3])} failed: "
                        f"{complaint[-1]}")
    return done.stdout


def _index(built):
    """index.html with the build's facts (the wheels to load) and the gallery written in."""
    links = "\n".join(
        f'<a class="tg-example" href="#{html.escape(_fragment(example))}">'
        f'{html.escape(example["title"])}</a>' for example in EXAMPLES)
    text = resources.files(__package__).joinpath("index.html").read_text(encoding="utf-8")
    return (text.replace("<!--gallery-->", links)
            .replace("{build}", json.dumps(built).replace("</", "<\\/"))
            .replace("{version}", html.escape(__version__)))


def _fragment(example):
    """The link that opens an example: #expr=...&at=...&wrt=... (as the page writes it)."""
    fields = {key: ("1" if value is True else value) for key, value in example.items()
              if key != "title"}
    return urlencode(fields, quote_via=quote)
