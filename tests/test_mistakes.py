"""Hand answers read as the checker reads them (19/5, -1.5, the digits given) and mistake
diagnoses computed from the graph: each known mistake's number, worked out here by hand on
the diamond (a*b)*(a+b) at a=3, b=2, the lecture neuron and x**3, gets that diagnosis.
"""
import math
from fractions import Fraction

import pytest

from tracegrad.engine import Value, backward_steps
from tracegrad.engine.teach.answers import Unreadable, agrees, read_answer
from tracegrad.engine.teach.demo import lecture_neuron
from tracegrad.engine.teach.mistakes import backward_cells, diagnose, forward_cells


def diamond():
    a, b = Value(3, label="a"), Value(2, label="b")
    f = (a * b) * (a + b)
    f.label = "f"
    return f


def cell(root, table, step, quantity, parent=""):
    cells = forward_cells(root) if table == "forward" else backward_cells(backward_steps(root))
    return next(c for c in cells if (c.step, c.quantity, c.parent) == (step, quantity, parent))


@pytest.mark.parametrize("text, value, digits, place", [
    ("19/5", Fraction(19, 5), None, None), ("-1.5", Fraction(-3, 2), 2, -1),
    ("0.7864", Fraction(7864, 10000), 4, -4), (" 2 ", Fraction(2), 1, 0),
    ("1e-3", Fraction(1, 1000), 1, -3), ("\u22120.50", Fraction(-1, 2), 2, -2),
    ("6 / -4", Fraction(-3, 2), None, None)])
def test_answers_are_read_with_the_digits_given(text, value, digits, place):
    answer = read_answer(text)
    assert (answer.value, answer.digits, answer.place) == (value, digits, place)


@pytest.mark.parametrize("text", ["", "abc", "1/0", "2x", "1e999", "3.8 + 2*b", "0x10"])
def test_what_is_not_a_number_is_unreadable(text):
    with pytest.raises(Unreadable):
        read_answer(text)


def test_a_float_is_right_to_the_digits_given_and_an_exact_graph_needs_the_exact_value():
    tanh = math.tanh(0.8814)                         # 0.70710...
    assert agrees(tanh, read_answer("0.71")) and agrees(tanh, read_answer("0.7071"))
    assert not agrees(tanh, read_answer("0.7")), "one significant digit is too few"
    assert agrees(tanh, read_answer("0.7"), min_digits=1)
    assert not agrees(tanh, read_answer("0.72")) and not agrees(tanh, read_answer("0.7072"))
    assert agrees(0.5, read_answer("0.5")) and agrees(0.5, read_answer("1/2"))
    assert agrees(Fraction(19, 5), read_answer("3.8")) and agrees(Fraction(19, 5),
                                                                   read_answer("19/5"))
    assert not agrees(Fraction(1, 3), read_answer("0.3333"))
    c = forward_cells(diamond() / 3)[-1]                   # (30)/3 = 10 exactly
    assert c.right == 10
    assert diagnose(c, "10").right and diagnose(c, "10.0").right


def test_the_diamonds_mistakes_by_hand():
    f = diamond()
    # step 1, f = v1*v2 with v1 = 6, v2 = 5: df/dv1 = v2 = 5; f itself is 30, v1 itself 6
    local = cell(f, "backward", 1, "local", "v1")
    assert local.right == 5 and diagnose(local, "5").right
    assert diagnose(local, "30").mistake.kind == "own_value"
    assert diagnose(local, "6").mistake.kind == "own_parent"
    assert diagnose(local, "-5").mistake.kind == "sign"
    assert "instead of the other factor: df/dv1 = v2" in diagnose(local, "30").message
    # step 3, v1 = a*b with df/dv1 = 5: a gets b*5 = 10; forgetting the upstream gives 2
    contribution = cell(f, "backward", 3, "contribution", "a")
    assert contribution.right == 10 and diagnose(contribution, "2").mistake.kind == \
        "forgot_upstream"
    assert diagnose(contribution, "7").mistake.kind == "added"            # 2 + 5
    # a.grad held 6 (from v2 = a + b): 6 + 10 = 16; replacing it gives 10
    grad = cell(f, "backward", 3, "grad", "a")
    assert grad.right == 16 and diagnose(grad, "16").right
    verdict = diagnose(grad, "10")
    assert verdict.mistake.kind == "replaced_grad" and "it held 6 already" in verdict.message
    assert diagnose(grad, "8").mistake.kind == "forgot_upstream"        # 6 + 2
    assert diagnose(grad, "-4").mistake.kind == "sign"                  # 6 - 10: local -2
    assert diagnose(grad, "17").mistake is None
    assert diagnose(grad, "17").message == ("not the right number, and not one a known "
                                            "mistake gives")
    # forward: v1 = a*b = 6; adding gives 5
    value = cell(f, "forward", 3, "value")
    assert value.right == 6 and diagnose(value, "5").mistake.kind == "wrong_op"


def test_tanh_where_its_derivative_was_due():
    o, _ = lecture_neuron()
    local = cell(o, "backward", 1, "local", "n")             # do/dn = 1 - tanh(n)^2 = 0.5
    assert diagnose(local, "0.5").right and diagnose(local, "0.50").right
    assert diagnose(local, "0.7071").message == "used tanh(n) where 1 - tanh(n)^2 was due"
    assert diagnose(local, "0.71").mistake.kind == "own_value"
    assert diagnose(local, "0.29").mistake.kind == "forgot_square"       # 1 - 0.7071
    assert diagnose(local, "0.6").message.startswith("not the right number")


def test_the_power_rule_off_by_one():
    x = Value(2, label="x")
    y = x ** 3
    y.label = "y"
    local = cell(y, "backward", 1, "local", "x")            # 3 x^2 = 12
    assert local.right == 12
    assert diagnose(local, "24").mistake.kind == "power_off_by_one"      # 3 x^3
    assert diagnose(local, "6").mistake.kind == "power_off_by_one"       # 3 x^1
    assert diagnose(local, "8").mistake.kind == "power_off_by_one"       # 2 x^2
    assert diagnose(local, "4").mistake.kind == "power_forgot_n"         # x^2
    assert "power rule off by one: dy/dx = 3 * x^2" in diagnose(local, "24").message


def test_a_node_used_twice_sums_its_childrens_gradients():
    x = Value(3, label="x")
    u = x * 2                          # u feeds both factors: y = u * (u + 1)
    y = u * (u + 1)
    y.label = "y"
    # u = 6: dy/du = (u + 1) + u = 7 + 6 = 13 from two children (y and v2 = u + 1)
    upstream = next(c for c in backward_cells(backward_steps(y)) if c.quantity == "upstream"
                    and c.node == "v1")
    assert upstream.right == 13
    assert diagnose(upstream, "7").mistake.kind == "one_path"
    assert diagnose(upstream, "6").mistake.kind == "one_path"


def test_a_mistake_that_gives_the_right_number_is_left_out():
    f = diamond()
    # df/df = 1: forgetting the upstream gradient at the root changes nothing
    contribution = cell(f, "backward", 1, "contribution", "v1")
    assert "forgot_upstream" not in [m.kind for m in contribution.mistakes]
    values = [m.value for m in contribution.mistakes]
    assert len(values) == len(set(values)) and 5 not in values


def test_exact_cells_say_when_a_rounded_decimal_is_close():
    x = Value(Fraction(1, 3), label="x")
    y = x * 3 + x * x
    y.label = "y"
    c = cell(y, "forward", 5, "value")                      # 1 + x*x = 10/9
    assert c.right == Fraction(10, 9) and diagnose(c, "10/9").right
    assert "exact" in diagnose(c, "1.111").message
