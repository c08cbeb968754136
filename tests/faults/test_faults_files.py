"""Faults in files: hostile JSON refused by load() with the file named (non-finite and huge
numbers, wrong types, deep nesting, expanding exponents), SIGKILL during save() with a count
of temporary files, and save() behaving like a normal write (umask, existing mode, symlink)."""
import os
import stat
import subprocess
import sys

import pytest

from tracegrad.nn import MLP, Neuron

from . import files

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX signals, modes and symlinks")


@pytest.mark.parametrize("text, message", [h[1:] for h in files.HOSTILE],
                         ids=[h[0] for h in files.HOSTILE])
def test_load_refuses_a_hostile_file_naming_it_and_changing_nothing(tmp_path, text, message):
    path = tmp_path / "hostile.json"
    path.write_text(text)
    neuron = Neuron(2, seed=0)
    before = neuron.state_dict()
    with pytest.raises(ValueError, match=f"load: {path}") as err:
        neuron.load(path)
    assert message in str(err.value)
    assert neuron.state_dict() == before


def test_load_refuses_an_oversized_file_without_reading_it(tmp_path):
    path = tmp_path / "big.json"
    with open(path, "wb") as f:
        f.truncate(100_000_001)                       # sparse: nothing is written
    with pytest.raises(ValueError, match="100,000,001 bytes, not a saved model"):
        Neuron(2).load(path)


def test_an_expanding_exponent_is_refused_in_bounded_time(tmp_path):
    # Fraction("1e999999999") would build a billion-digit integer: run it where it can be
    # stopped, so a regression fails in 60 s instead of hanging the suite
    path = tmp_path / "exponent.json"
    path.write_text(files.w0('"1e999999999"'))
    code = ("import sys; from tracegrad.nn import Neuron\n"
            "try: Neuron(2).load(sys.argv[1])\nexcept ValueError as e: print(e)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=60).stdout
    assert "parameter w.0 is '1e999999999', not a number" in out


@posix
def test_sigkill_during_save_leaves_nothing_the_next_save_does_not_remove(tmp_path):
    tried, ok, _ = files.trials(4, str(tmp_path), seed=0)
    assert ok == tried


@posix
@pytest.mark.slow
def test_fifty_sigkills_during_save(tmp_path):
    tried, ok, _ = files.trials(50, str(tmp_path), seed=1)
    assert ok == tried


def test_a_stale_temporary_of_a_dead_process_is_removed_and_a_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / f".model.json.{dead}-1.tmp").write_text("half a fi")
    (tmp_path / f".model.json.{os.getppid()}-1.tmp").write_text("still being written")
    (tmp_path / "notes.tmp").write_text("not ours")
    MLP(2, [1]).save(tmp_path / "model.json")
    expected = sorted([f".model.json.{os.getppid()}-1.tmp", "model.json", "notes.tmp"])
    assert sorted(os.listdir(tmp_path)) == (expected if os.name == "posix" else
                                            sorted(expected + [f".model.json.{dead}-1.tmp"]))


@posix
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        MLP(2, [1]).save(tmp_path / "model.json")
        with open(tmp_path / "plain.txt", "w") as f:           # what a normal write gives
            f.write("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "model.json").st_mode) == mode
    assert stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode) == mode


@posix
def test_saving_over_a_file_keeps_its_mode(tmp_path):
    path = tmp_path / "model.json"
    MLP(2, [1]).save(path)
    os.chmod(path, 0o640)
    MLP(2, [1], seed=1).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


@posix
def test_saving_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "model.json"
    link = tmp_path / "latest.json"
    link.symlink_to(target)                              # dangling until the first save
    for seed in (0, 1):
        MLP(2, [3, 1], seed=seed).save(link)
        assert link.is_symlink() and os.readlink(link) == str(target)
        assert MLP(2, [3, 1]).load(target).state_dict() == MLP(2, [3, 1], seed=seed).state_dict()
    assert sorted(os.listdir(tmp_path / "runs")) == ["model.json"]


@posix
def test_load_and_save_refuse_special_files_without_blocking_or_replacing_them(tmp_path):
    # a FIFO nobody writes, a directory, a socket, and (as root) a character device made
    # in tmp_path (never /dev): load refuses each within 20 s, save leaves each in place
    tried, ok, failures = files.special_trials(str(tmp_path))
    assert failures == [] and tried >= 6


@posix
def test_a_fifo_is_named_as_one(tmp_path):
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"is a FIFO \(named pipe\), not a saved model"):
        Neuron(2).load(fifo)
    with pytest.raises(ValueError, match=r"is a FIFO \(named pipe\); save replaces regular"):
        Neuron(2).save(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@posix
def test_save_onto_a_read_only_file_does_what_open_does(tmp_path):
    assert files.read_only_trial(str(tmp_path))


def test_a_file_of_another_activation_names_both(tmp_path):
    path = tmp_path / "tanh.json"
    MLP(2, [4, 1], activation="tanh", seed=0).save(path)
    relu = MLP(2, [4, 1], seed=1)
    before = relu.state_dict()
    with pytest.raises(ValueError, match=r"saved from MLP\(2, \[4, 1\], activation='tanh'\), "
                                         r"not MLP\(2, \[4, 1\]\)"):
        relu.load(path)
    assert relu.state_dict() == before
    assert MLP(2, [4, 1], activation="tanh").load(path).state_dict() == \
        MLP(2, [4, 1], activation="tanh", seed=0).state_dict()


def test_save_refuses_a_non_finite_parameter_it_could_not_load(tmp_path):
    neuron = Neuron(2, seed=0)
    neuron.b.data = float("nan")
    with pytest.raises(ValueError, match="save: parameter b is nan; a saved model holds finite"):
        neuron.save(tmp_path / "nan.json")
    assert not (tmp_path / "nan.json").exists()


def test_a_million_keys_is_refused_before_parsing(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(files.saved(", ".join(f'"k{i}": 0' for i in range(1_000_000))))
    with pytest.raises(ValueError, match="far more names than it has parameters"):
        Neuron(2).load(path)


def test_a_key_twice_among_forty_thousand_is_found_in_one_pass(tmp_path):
    model = MLP(2, [200, 200, 1])                # 41,001 parameters: 40,001 keys fit
    path = tmp_path / "twice.json"
    path.write_text(files.saved(", ".join(f'"k{i}": 0' for i in range(40_000)) + ', "k7": 1'))
    with pytest.raises(ValueError, match="the key 'k7' is twice"):
        model.load(path)
