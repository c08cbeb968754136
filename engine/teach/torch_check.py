"""Gradients by PyTorch, for check_grad(f, values, against="torch"): the graph tracegrad
recorded for f is replayed node by node on float64 torch tensors, and torch.autograd
differentiates the replay with its own derivative formulas. So f is written once, with
Value operators and methods, and anything f builds (constants, nn functions) replays.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..extras import require

from ..graph import topological_order
from ..ops import OPS
from ..value import Value

Tensor = Any               # a torch.Tensor (torch is optional: not imported to type-check)


# torch's softplus turns linear above `threshold` (20 by default), where log(1 + e^x) still
# differs from x by e^-x (2e-9 at 20); past 40 that is below float64's resolution, so with
# threshold 40 torch computes tracegrad's numbers (nn.to_torch uses it too)
SOFTPLUS_THRESHOLD: float = 40.0


def _torch_ops(torch: Any) -> dict[str, Callable[[Tensor, Tensor, Any], Tensor]]:
    """For each row of the derivative table, the same function on tensors: (a, b, arg).

    A row written as a call with no parameter (exp, tanh, asin ...) is torch's function of
    the same name, so a new row of that kind needs nothing here; the others are listed."""
    F = torch.nn.functional
    ops: dict[str, Callable[[Tensor, Tensor, Any], Tensor]] = {
        name: (lambda fn: lambda a, b, arg: fn(a))(getattr(torch, name))
        for name, op in OPS.items() if op.function and not op.arg and hasattr(torch, name)}
    ops.update({
        "add": lambda a, b, arg: a + b,
        "sub": lambda a, b, arg: a - b,
        "mul": lambda a, b, arg: a * b,
        "div": lambda a, b, arg: a / b,
        "neg": lambda a, b, arg: -a,
        "pow": lambda a, b, arg: a ** float(arg),
        "powv": lambda a, b, arg: a ** b,
        "leaky_relu": lambda a, b, arg: F.leaky_relu(a, float(arg)),
        "softplus": lambda a, b, arg: F.softplus(a, threshold=SOFTPLUS_THRESHOLD),
        "maximum": lambda a, b, arg: torch.maximum(a, b),
        "xlogy": lambda a, b, arg: torch.xlogy(a, b),
        # torch.heaviside has no derivative: the step taken on a.detach() passes none back,
        # as the row's 0 says; NaN stays NaN (heaviside gives 0 for it)
        "step": lambda a, b, arg: torch.where(a.isnan(), a.detach(),
                                              torch.heaviside(a.detach(), torch.zeros_like(a))),
    })
    return ops


def torch_replay(out: Value, inputs: Sequence[Value]) -> tuple[Tensor, list[Tensor]]:
    """out's graph computed again by torch: (the output tensor, one leaf tensor per input).

    Each input (a Value in out's graph) becomes a float64 tensor that requires grad; every
    other leaf is a constant tensor; every node applies its op's torch counterpart."""
    torch = require("torch", "torch", "check_grad's comparisons against torch")
    ops = _torch_ops(torch)
    leaves = {id(x): torch.tensor(float(x.data), dtype=torch.float64, requires_grad=True)
              for x in inputs}
    tensors: dict[Value, Tensor] = {}
    for node in topological_order(out):
        if node.is_leaf:
            tensors[node] = leaves.get(id(node))
            if tensors[node] is None:
                tensors[node] = torch.tensor(float(node.data), dtype=torch.float64)
            continue
        if node.op not in ops:
            raise ValueError(f"check_grad(against='torch'): the op {node.op!r} has no torch "
                             f"counterpart here; the ops torch replays are {sorted(ops)}")
        parents = [tensors[p] for p in node.parents] + [None]
        tensors[node] = ops[node.op](parents[0], parents[1], node.arg)
    return tensors[out], [leaves[id(x)] for x in inputs]


def torch_grad(out: Value, inputs: Sequence[Value]) -> list[float]:
    """d out / d x for each input, by torch.autograd over the replayed graph (floats).

    An input the output does not depend on gets 0.0, as tracegrad's grad() gives it."""
    torch = require("torch", "torch", "check_grad's comparisons against torch")
    result, leaves = torch_replay(out, inputs)
    if not result.requires_grad:                  # out does not depend on any input
        return [0.0 for _ in inputs]
    grads = torch.autograd.grad(result, leaves, allow_unused=True)
    return [0.0 if g is None else g.item() for g in grads]
