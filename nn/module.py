"""Module: the base of every network piece. It finds its parameters by walking its own
attributes in the order they were set, names them with dotted paths such as
`layers.0.neurons.3.w.1`, and saves and loads them as JSON (exactly, atomically, refusing
hostile files).
"""
from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import stat
import threading
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeVar

from tracegrad.engine import Value
from tracegrad.engine.value import Number    # the engine's one alias: int | float | Fraction

M = TypeVar("M", bound="Module")      # load() and friends return the model they were given
N = TypeVar("N", int, Fraction)               # _fits_float gives back what it was given
NumberT = TypeVar("NumberT", bound=Number)   # so a dict[str, float] fits (dicts are invariant)

FORMAT = "tracegrad.nn"     # the "format" field of a saved file
VERSION = 1


class Module:
    """Something with parameters: a Neuron, a Layer, an MLP, or your own model.

    Parameters are found, without registration, among the attributes set in __init__:
    a Value, a Module, or a list/tuple of them (nested lists too). Attribute order is definition order, so
    `parameters()` is deterministic."""

    if TYPE_CHECKING:
        # for type checkers only: every network piece is called on an input (fit, plot
        # and the losses call model(x)); each subclass defines its own __call__
        def __call__(self, x: Any) -> Value | Sequence[Value]: ...

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Value]]:
        """(dotted name, Value) pairs, in the same order as parameters(). A Value or Module
        reachable twice (tied weights, a child's back-reference to its parent, a cycle) is
        visited once, under the first name it is found by, as in PyTorch."""
        names, values = self._walk(prefix, named=True)
        return list(zip(names, values))

    def _walk(self, prefix: str, named: bool) -> tuple[list[str], list[Value]]:
        """named_parameters' walk: (dotted names, Values), in order. With named=False the
        names are not made (parameters() needs none: formatting 66,817 names for a
        width-256 MLP costs 0.1 s) and neither are (name, Value) pairs, which the cyclic
        collector would track: 66,817 of them set off 90 of its collections."""
        stack: list[tuple[str, Any]] = [(prefix, self)]   # Any: a Module, Value or list
        seen = set()                  # ids of what has been visited: no loops, no repeats
        names: list[str] = []
        values: list[Value] = []
        while stack:                  # iterative walk: no recursion, however deep
            name, item = stack.pop()
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, Value):
                if named:
                    names.append(name)
                values.append(item)
                continue
            if not named and type(item) is list and all(type(c) is Value for c in item):
                for c in item:        # a neuron's weights: in order, as the stack would
                    if id(c) not in seen:
                        seen.add(id(c))
                        values.append(c)
                continue
            children = (vars(item).items() if isinstance(item, Module)
                        else ((str(i), child) for i, child in enumerate(item)))
            found = [((f"{name}.{key}" if name else key) if named else "", child)
                     for key, child in children
                     if isinstance(child, (Value, Module, list, tuple))]
            stack.extend(reversed(found))
        return names, values

    def parameters(self) -> list[Value]:
        """Every trainable Value: layer by layer, neuron by neuron, weights then bias."""
        return self._walk("", named=False)[1]

    def zero_grad(self) -> None:
        """Set every parameter's .grad to 0 (gradients accumulate until you do)."""
        for p in self.parameters():
            p.grad = 0

    def label_parameters(self: M) -> M:
        """Give each parameter a label graphs, tables and explanations show: its short
        name (short_name: w[1]_21 for an MLP's weight), else its dotted name."""
        for name, p in self.named_parameters():
            p.label = short_name(name)
        return self

    # --- state: names -> numbers ----------------------------------------------------------
    def state_dict(self) -> dict[str, Number]:
        """{dotted name: number} for every parameter, in parameters() order."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self: M, state: dict[str, NumberT], source: str = "state_dict") -> M:
        """Copy numbers into the parameters. Names must match exactly; on any mismatch
        a ValueError names what differs and no parameter is changed."""
        named = self.named_parameters()
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict: expected a dict of name -> number, "
                            f"got {type(state).__name__}")
        mine = [name for name, _ in named]
        missing = [n for n in mine if n not in state]
        known = set(mine)
        unexpected = [n for n in state if n not in known]
        if missing or unexpected:
            raise ValueError(f"{source} does not fit {self!r} ({len(mine)} parameters, "
                             f"{len(state)} given): " + _differences(missing, unexpected))
        values = []
        for name in mine:
            number = state[name]
            if isinstance(number, bool) or not isinstance(number, (int, float, Fraction)):
                raise ValueError(f"{source}: parameter {name} must be a number, "
                                 f"got {number!r}")
            values.append(number)
        for (_, p), number in zip(named, values):     # checked everything: now change
            p.data = number
        return self

    # --- files -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> str | os.PathLike[str]:
        """Write the parameters to a JSON file. Floats round-trip exactly (Python writes
        the shortest repr that reads back to the same float); Fractions are kept as "p/q".

        Like open(path, "w") it writes through a symlink to its target, makes a new file
        with the mode the umask gives and keeps an existing file's mode. It writes a
        temporary file beside the target, `.NAME.PID-THREAD.tmp`, that then replaces it, so
        a crash never leaves half a file; a temporary file left by a killed process (its
        PID no longer running, checked on POSIX) is removed by the next save."""
        state = self.state_dict()
        for key, number in state.items():     # load() refuses them: never write one
            if isinstance(number, float) and not math.isfinite(number):
                raise ValueError(f"save: parameter {key} is {number}; a saved model holds "
                                 "finite numbers only (load() would refuse the file)")
        doc = {"format": FORMAT, "version": VERSION, "model": repr(self),
               "parameters": {k: _encode(v) for k, v in state.items()}}
        text = json.dumps(doc, indent=1, allow_nan=False)
        target = os.path.realpath(path)
        folder, name = os.path.split(target)
        mode = _writable_regular(path, target)
        _remove_stale_temporaries(folder, name)
        tmp = os.path.join(folder, f".{name}.{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            # 0o666 with the umask applied, as open(path, "w") creates a file
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
        return path

    def load(self: M, path: str | os.PathLike[str]) -> M:
        """Read parameters saved by save() into this model (which must have the same shape).
        A corrupt or hostile file (not strict JSON, numbers beyond float, nested too deeply,
        another shape) raises ValueError naming it, and changes nothing."""
        doc = _read(path, strings=4 * len(self.named_parameters()) + 64)
        version = doc.get("version")
        if type(version) is not int or version != VERSION:
            raise ValueError(f"load: {path} has version {_short(version)}; "
                             f"this tracegrad reads version {VERSION}")
        params = doc.get("parameters")
        if not isinstance(params, dict):
            raise ValueError(f"load: {path} has no \"parameters\" object")
        state = {}
        for name, value in params.items():
            try:
                state[name] = _decode(value)
            except (ValueError, ZeroDivisionError, TypeError):
                raise ValueError(f"load: {path}: parameter {name} is {_short(value)}, not a "
                                 "number that fits a float (nor a fraction \"p/q\")") from None
        model = doc.get("model")
        shown = model if isinstance(model, str) and len(model) <= 80 else _short(model)
        same_names = set(state) == {name for name, _ in self.named_parameters()}
        if same_names and isinstance(model, str) and \
                _architecture(model) != _architecture(repr(self)):   # the activation, say
            raise ValueError(f"load: {path} was saved from {shown}, not {repr(self)[:80]}: "
                             "the same parameters in another architecture or activation "
                             "(build the model the file was saved from)")
        return self.load_state_dict(state, source=f"{path} (saved from {shown})")

def _differences(missing: list[str], unexpected: list[str], show: int = 3) -> str:
    def some(names: list[str]) -> str:
        more = f" and {len(names) - show} more" if len(names) > show else ""
        return ", ".join(names[:show]) + more
    parts = []
    if missing:
        parts.append(f"missing {some(missing)}")
    if unexpected:
        parts.append(f"unexpected {some(unexpected)}")
    return "; ".join(parts)


MAX_BYTES = 100_000_000       # a saved 100,000-parameter model is about 6 MB
MAX_CONTAINERS = 1_000        # a saved model has two objects and a bracket or two in its repr
FRACTION = re.compile(r"-?[0-9]+/[0-9]+")


def _read(path: str | os.PathLike[str], strings: int | None = None) -> dict[str, Any]:
    """The saved document as a dict, or a ValueError naming the file. Only strict JSON:
    no NaN or Infinity, numbers that fit a float, no key twice, nesting that fits the
    parser; a number's digits are counted before they are converted. strings: the most
    '"' the model's file can hold (two per name, two per fraction, a few more), counted
    before parsing, so a file of millions of keys costs a count, not gigabytes."""
    def constant(name: str) -> float:
        raise ValueError(f"{name} is not a JSON number")

    def floating(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"{_short(text)} is beyond the range of a float")
        return number

    def integer(text: str) -> int:
        if len(text) > 310:           # float's largest is 309 digits: refuse before int()
            raise ValueError(f"an integer of {len(text.lstrip('-'))} digits does not fit a float")
        return _fits_float(int(text))

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        doc = dict(pairs)
        if len(doc) != len(pairs):    # one pass with a set: linear in the number of keys
            seen: set[str] = set()
            twice = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            raise ValueError(f"the key {twice!r} is twice")
        return doc
    text = _regular_file_text(path)
    quotes = text.count('"')
    if strings is not None and quotes > strings:
        raise ValueError(f"load: {path} does not fit this model ({quotes:,} '\"' in the "
                         f"file, where its own file has at most {strings:,}: far more names "
                         "than it has parameters)")
    containers = text.count("[") + text.count("{")
    if containers > MAX_CONTAINERS:   # each costs the parser memory: refuse before parsing
        raise ValueError(f"load: {path} is not a saved model ({containers:,} '[' and '{{': "
                         f"nested too deeply or too many arrays and objects)")
    try:
        doc = json.loads(text, parse_constant=constant, parse_float=floating,
                         parse_int=integer, object_pairs_hook=unique)
    except RecursionError:
        raise ValueError(f"load: {path} is not a saved model (nested too deeply)") from None
    except ValueError as err:        # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"load: {path} is not a saved model (corrupt JSON: {err})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"load: {path} is not a saved model "
                         f"(no \"format\": \"{FORMAT}\" field)")
    return doc


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def _regular_file_text(path: str | os.PathLike[str]) -> str:
    """The file's text, read only if it is a regular file of at most MAX_BYTES. It is
    opened without blocking (a FIFO nobody writes would block open()) and checked with
    fstat on the open descriptor, so nothing can be swapped in between check and read."""
    def refuse(mode: int) -> None:
        if not stat.S_ISREG(mode):
            raise ValueError(f"load: {path} is {_kind(mode)}, not a saved model "
                             "(load reads regular files only)")
    refuse(os.stat(path).st_mode)         # a socket cannot even be opened: say what it is
    nonblocking = getattr(os, "O_NONBLOCK", 0)             # POSIX; Windows has no FIFOs
    fd = os.open(path, os.O_RDONLY | nonblocking | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        refuse(info.st_mode)              # what was opened, if it was swapped since stat
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        if info.st_size > MAX_BYTES:
            raise ValueError(f"load: {path} is {info.st_size:,} bytes, not a saved model "
                             f"(at most {MAX_BYTES:,})")
        data = f.read(MAX_BYTES + 1)                        # bounded even if it grows now
    if len(data) > MAX_BYTES:
        raise ValueError(f"load: {path} is over {MAX_BYTES:,} bytes, not a saved model")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"load: {path} is not a saved model (corrupt JSON: {err})") from None


def _writable_regular(path: str | os.PathLike[str], target: str) -> int | None:
    """The mode of the file save() replaces (None if there is none yet). Like open(path,
    "w"), it refuses a target without write permission; unlike it, save never replaces
    a directory, device, FIFO or socket with a regular file."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"save: {path} is {_kind(info.st_mode)}; save replaces regular "
                         "files only")
    if not os.access(target, os.W_OK):                     # root may write anyway, as open()
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    return stat.S_IMODE(info.st_mode)


def _architecture(text: str) -> str:
    """A saved "model" field as compared with repr(model): a default repr's address (a
    model class without __repr__) differs from process to process, so it is left out."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", text)


def _fits_float(x: N) -> N:
    """x itself, if it is within float's range (it meets floats in every forward pass)."""
    try:
        float(x)
    except OverflowError:
        raise ValueError(f"{_short(x)} is beyond the range of a float") from None
    return x


def _short(x: object, width: int = 60) -> str:
    text = repr(x)
    return text if len(text) <= width else f"{text[:width - 15]}...({len(text)} chars)"


def _remove_stale_temporaries(folder: str, name: str) -> None:
    """Remove `.NAME.PID-THREAD.tmp` files that a process no longer running left behind."""
    prefix, suffix = f".{name}.", ".tmp"
    for entry in os.listdir(folder):
        pid = entry[len(prefix):-len(suffix)].split("-")[0]
        if entry.startswith(prefix) and entry.endswith(suffix) and pid.isdigit() \
                and not _running(int(pid)):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, entry))


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":    # this process, or no safe test (Windows)
        return True
    try:
        os.kill(pid, 0)               # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:           # it exists, owned by someone else
        return True
    return True


def _encode(x: Number) -> Number | str:
    if isinstance(x, Fraction):
        return f"{x.numerator}/{x.denominator}"
    return x


def _decode(x: object) -> Number:
    if isinstance(x, str):
        if not FRACTION.fullmatch(x):   # digits only: "1e999999999" would expand forever
            raise ValueError(x)
        return _fits_float(Fraction(x))  # more than 4300 digits: Python's int limit refuses
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(x)
    return x


_DOTTED = re.compile(r"^(?:layers\.(\d+)\.)?(?:neurons\.(\d+)\.)?(?:w\.(\d+)|b)$")


def short_name(dotted: str) -> str:
    """The textbook's name of a parameter, short enough for a slide: w[l]_jk is the weight
    from input k into neuron j of layer l, b[l]_j that neuron's bias, all counted from 1
    (layers.0.neurons.1.w.0 is w[1]_21). A lone Layer drops [l] (w_21, b_2), a lone Neuron
    drops j too (w_1, b); an index of 10 or more is set off by a comma (w[1]_12,3). Other
    names stay dotted; state_dict() and save() always use the dotted names."""
    found = _DOTTED.match(dotted)
    if not found:
        return dotted
    layer, neuron, weight = found.groups()
    indexes = [str(int(i) + 1) for i in (neuron, weight) if i is not None]
    kind = "b" if weight is None else "w"
    head = kind if layer is None else f"{kind}[{int(layer) + 1}]"
    joint = "," if any(len(i) > 1 for i in indexes) else ""
    return head + ("_" + joint.join(indexes) if indexes else "")
