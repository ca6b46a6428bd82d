"""The `cnnkit` command: summary and demo; errors exit 2 with one line, no traceback."""

import pathlib
import subprocess
import sys

import pytest

from cnnkit.models import list_models

from cnnkit.cli.main import main

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
LENET = str(EXAMPLES / "lenet5.yaml")


def test_summary_prints_the_table(capsys):
    assert main(["summary", LENET]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "lenet5: input 1x28x28 -> output 10"
    assert out[-1].split() == ["total", "10", "61,706", "416,520"]


def test_summary_with_an_input_override(capsys):
    assert main(["summary", LENET, "--input", "1,32,32"]) == 0
    out = capsys.readouterr().out
    assert "lenet5: input 1x32x32 -> output 10" in out
    assert " 576 " in out  # the flatten of 16x6x6


def test_summary_of_a_zoo_model(capsys):
    assert main(["summary", "lenet5"]) == 0
    assert "61,706" in capsys.readouterr().out


def test_demo_trains_and_leaves_a_run_that_eval_accepts(capsys, tmp_path):
    # Two epochs only: the full demo (40 epochs, >= 98 %) is `make demo`.
    assert main(["demo", "--epochs", "2", "--runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "lenet5: input 1x28x28 -> output 10" in out
    accuracy = float(out.split("test accuracy: ")[1].split("%")[0])
    # Chance is 10 %. Two epochs of a 40-epoch recipe land anywhere in 37-84 % across seeds
    # (the warm-up is still running), so the floor only says that it learned something.
    assert accuracy > 25.0, out
    run = out.split("run folder:")[1].split()[0]
    assert main(["eval", run, "--which", "last"]) == 0
    assert f"accuracy {accuracy:.2f}%" in capsys.readouterr().out


def one_error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    return lines[0]


def test_spec_error_exits_2_with_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [1, 8, 8]\nlayers:\n  - conv: {filters: 4, kernel: 9}\n")
    assert main(["summary", str(bad)]) == 2
    assert one_error_line(capsys) == (
        f"cnnkit summary: error: {bad}:3:24: layers[0].conv.kernel: kernel 9 does not fit the "
        f"8x8 input volume coming from the input. Received: kernel=9. Use padding: same, a "
        f"kernel of at most 8, or a larger input.")


def test_input_override_that_does_not_fit_exits_2(capsys):
    assert main(["summary", LENET, "--input", "1,8,8"]) == 2
    assert "layers[2].conv.kernel: kernel 5 does not fit the 4x4 input volume coming from " \
           "layers[1] (avgpool 2 of 8x8)" in one_error_line(capsys)


def test_bad_input_option_exits_2(capsys):
    assert main(["summary", LENET, "--input", "1,twenty"]) == 2
    assert one_error_line(capsys) == (
        "cnnkit summary: error: --input must be comma-separated positive ints, channels first "
        "(e.g. --input 3,32,32). Received: --input '1,twenty'.")


def test_missing_spec_file_exits_2(capsys, tmp_path):
    missing = tmp_path / "none.yaml"
    assert main(["summary", str(missing)]) == 2
    assert one_error_line(capsys).startswith(
        f"cnnkit summary: error: spec file '{missing}' not found (looked in {missing}).")


def test_unknown_model_name_exits_2(capsys):
    assert main(["summary", "lenet"]) == 2
    assert one_error_line(capsys) == (
        "cnnkit summary: error: 'lenet' is neither a spec file nor a zoo model. Did you mean "
        f"'lenet5'? Zoo models: {', '.join(list_models())}. Received: SPEC='lenet'.")
    assert "minatar_dqn" in list_models()  # the registry does not depend on what was imported


def test_bad_demo_epochs_exits_2(capsys):
    assert main(["demo", "--epochs", "0"]) == 2
    assert "--epochs must be a positive int. Received: --epochs 0." in one_error_line(capsys)


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_the_command_in_a_subprocess(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [1, 8, 8]\nlayers: [{dense: 10}]\n")
    result = subprocess.run([sys.executable, "-m", "cnnkit", "summary", str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert "layers[0].dense: dense needs a flat input" in result.stderr
    ok = subprocess.run([sys.executable, "-m", "cnnkit", "summary", LENET],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "61,706" in ok.stdout
