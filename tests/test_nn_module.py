"""Module, Neuron, Layer, MLP: parameter order and names, seeding, reprs, state_dict,
save/load (exact, atomic, refusing other shapes and corrupt files without changes)."""
import json
import os
from fractions import Fraction

import pytest

from tracegrad.engine import Value
from tracegrad.nn import MLP, Layer, Module, Neuron, activations


def test_micrograd_demo_model_has_337_parameters():
    model = MLP(2, [16, 16, 1], seed=0)
    assert len(model.parameters()) == 337 == 16 * 3 + 16 * 17 + 17
    assert repr(model) == "MLP(2, [16, 16, 1])"


def test_parameter_order_is_layer_neuron_weights_then_bias():
    model = MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1",
                         "layers.0.neurons.0.b", "layers.0.neurons.1.w.0"]
    assert names[-4:] == ["layers.1.neurons.0.w.0", "layers.1.neurons.0.w.1",
                          "layers.1.neurons.0.w.2", "layers.1.neurons.0.b"]
    expected = [p for layer in model.layers for n in layer.neurons for p in n.w + [n.b]]
    assert all(a is b for a, b in zip(model.parameters(), expected))
    assert len(model.parameters()) == len(expected) == 13


def test_dotted_names_match_the_objects_and_label_them():
    model = MLP(2, [16, 16, 1], seed=0)
    named = dict(model.named_parameters())
    assert named["layers.0.neurons.3.w.1"] is model.layers[0].neurons[3].w[1]
    assert named["layers.2.neurons.0.b"] is model.layers[2].neurons[0].b
    # labels: the textbook's short names (w[l]_jk from input k into neuron j of layer l)
    assert model.layers[1].neurons[5].w[7].label == "w[2]_68"
    assert model.layers[0].neurons[3].b.label == "b[1]_4"
    assert [n for n, _ in Neuron(2).named_parameters()] == ["w.0", "w.1", "b"]


def test_seeded_initialisation_is_deterministic_and_documented_scale():
    a, b, c = MLP(2, [4, 1], seed=7), MLP(2, [4, 1], seed=7), MLP(2, [4, 1], seed=8)
    assert a.state_dict() == b.state_dict() != c.state_dict()
    first = a.layers[0].neurons[0]
    assert all(abs(w.data) <= 2 ** -0.5 for w in first.w) and first.b.data == 0.0
    wide = Neuron(100, seed=1)
    assert max(abs(w.data) for w in wide.w) <= 0.1
    assert max(abs(w.data) for w in Neuron(100, seed=1, weight_scale=1.0).w) > 0.5


def test_layers_return_lists_and_neurons_compute_w_dot_x_plus_b():
    n = Neuron(2, activation="linear", seed=0)
    n.w[0].data, n.w[1].data, n.b.data = 2.0, -3.0, 0.5
    assert n([1.0, 2.0]).data == 2.0 - 6.0 + 0.5
    assert Neuron(2, activation="relu", seed=0).activation is activations.relu
    layer = Layer(2, 3, seed=0)
    out = layer([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3
    assert isinstance(MLP(2, [1], seed=0)([1.0, 2.0]), list)
    assert MLP(1, [2, 1], seed=0)(0.5)[0].data == MLP(1, [2, 1], seed=0)([0.5])[0].data


def test_hidden_layers_use_activation_and_the_last_is_linear_by_default():
    model = MLP(2, [3, 3, 2], activation="tanh", seed=0)
    assert [activations.name_of(layer.neurons[0].activation) for layer in model.layers] == \
        ["tanh", "tanh", "linear"]
    assert repr(model) == "MLP(2, [3, 3, 2], activation='tanh')"
    probs = MLP(2, [1], output_activation="sigmoid", seed=0)
    assert 0 < probs([5.0, 5.0])[0].data < 1
    custom = Neuron(1, activation=lambda v: v * 2, seed=0)
    assert custom(1.0).data == pytest.approx(2 * (custom.w[0].data + custom.b.data))


def test_bad_shapes_and_names_are_clear_errors():
    with pytest.raises(ValueError, match=r"expected 2 inputs, got 3"):
        MLP(2, [1], seed=0)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="unknown activation 'relux'.*relu"):
        Neuron(2, activation="relux")
    with pytest.raises(ValueError, match="positive int"):
        Neuron(0)
    with pytest.raises(ValueError, match="non-empty list"):
        MLP(2, [])


def test_parameters_makes_nothing_the_cyclic_collector_tracks_per_parameter():
    # (name, Value) pairs, one per parameter, set off a collection every 700 of them
    # (with a big library loaded, a full one took 0.2 s of a width-256 fit's start)
    import gc
    model = MLP(2, [64, 64, 1], seed=0)
    collections = []
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    gc.callbacks.append(lambda phase, info: collections.append(info["generation"]))
    try:
        gc.enable()
        gc.set_threshold(700, 10, 10)
        gc.collect()                      # the count of new objects starts at 0
        collections.clear()
        params = model.parameters()
    finally:
        gc.callbacks.pop()
        gc.set_threshold(*threshold)
        if not enabled:
            gc.disable()
    assert len(params) == 4417 and collections == []
    assert params == [p for _, p in model.named_parameters()]


def test_zero_grad_resets_every_parameter():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, -1.0])[0].backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_your_own_module_finds_values_modules_and_lists():
    class Line(Module):
        def __init__(self):
            self.slope = Value(0.64)
            self.intercept = Value(0.95)
            self.name = "line"                     # not a parameter

        def __call__(self, x):
            return [self.slope * x + self.intercept]

    class Two(Module):
        def __init__(self):
            self.lines = [Line(), Line()]

    assert [n for n, _ in Two().named_parameters()] == [
        "lines.0.slope", "lines.0.intercept", "lines.1.slope", "lines.1.intercept"]


def test_state_dict_round_trip_and_mismatch_changes_nothing():
    model, other = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
    other.load_state_dict(model.state_dict())
    assert other.state_dict() == model.state_dict()
    before = model.state_dict()
    bad = dict(before)
    bad["layers.0.neurons.0.w.0"] = "x"
    with pytest.raises(ValueError, match=r"layers\.0\.neurons\.0\.w\.0 must be a number"):
        model.load_state_dict(bad)
    del bad["layers.0.neurons.0.w.0"]
    bad["layers.9.b"] = 1.0
    with pytest.raises(ValueError, match=r"missing layers\.0\.neurons\.0\.w\.0; "
                                         r"unexpected layers\.9\.b"):
        model.load_state_dict(bad)
    assert model.state_dict() == before


def test_save_load_round_trip_is_exact(tmp_path):
    model = MLP(2, [16, 16, 1], seed=3)
    model.layers[0].neurons[0].w[0].data = 0.1 + 0.2          # 0.30000000000000004
    model.layers[0].neurons[0].b.data = Fraction(1, 3)        # exact mode survives too
    path = tmp_path / "model.json"
    model.save(path)
    copy = MLP(2, [16, 16, 1], seed=99).load(path)
    assert copy.state_dict() == model.state_dict()
    assert copy.layers[0].neurons[0].w[0].data == 0.30000000000000004
    assert copy.layers[0].neurons[0].b.data == Fraction(1, 3)
    assert json.loads(path.read_text())["model"] == "MLP(2, [16, 16, 1])"
    assert os.listdir(tmp_path) == ["model.json"]             # no temporary file left


def test_save_is_atomic_a_crash_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    old = path.read_text()

    def crash(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        MLP(2, [3, 1], seed=1).save(path)
    assert path.read_text() == old
    assert os.listdir(tmp_path) == ["model.json"]


def test_load_of_another_shape_names_the_difference_and_changes_nothing(tmp_path):
    path = tmp_path / "small.json"
    MLP(2, [8, 1], seed=0).save(path)
    model = MLP(2, [16, 16, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"saved from MLP\(2, \[8, 1\]\).*does not fit "
                                         r"MLP\(2, \[16, 16, 1\]\).*missing layers\.0\.neurons\.8"):
        model.load(path)
    assert model.state_dict() == before


@pytest.mark.parametrize("text, message", [
    ('{"format": "tracegrad.nn", "version": 1, "parameters": {"w.0": 0.5', "corrupt JSON"),
    ("\x00\x01", "corrupt JSON"),
    ('{"hello": 1}', "not a saved model"),
    ('{"format": "tracegrad.nn", "version": 2, "parameters": {}}', "version 2"),
    ('{"format": "tracegrad.nn", "version": 1, "parameters": {"w.0": "1/0", "w.1": 1, "b": 1}}',
     r"parameter w\.0 is '1/0', not a number"),
    ('{"format": "tracegrad.nn", "version": 1, "parameters": {"w.0": [1], "w.1": 1, "b": 1}}',
     r"parameter w\.0 is \[1\]"),
])
def test_load_of_a_corrupt_file_is_a_clear_error_and_changes_nothing(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    neuron = Neuron(2, seed=0)
    before = neuron.state_dict()
    with pytest.raises(ValueError, match=message):
        neuron.load(path)
    assert neuron.state_dict() == before


def test_a_network_too_big_for_a_scalar_engine_is_refused_before_it_is_built():
    with pytest.raises(ValueError, match=r"MLP\(2, \[1000, 1000\]\) would have 1,004,000 "
                                         "parameters"):               # 3,000 + 1,001,000
        MLP(2, [1000, 1000])
