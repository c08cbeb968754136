"""The README's Python examples run as written and print what the README says."""
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert python_blocks()


def test_readme_examples_run(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)              # examples that write files write them here
    for block in python_blocks():
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})
    assert "4 10 6" in capsys.readouterr().out
