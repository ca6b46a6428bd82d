"""`cnnkit experiment`: the list, the errors, and every experiment's quick run through the
command line, asserting the table's structure, exact counts and only those directions of
the claims that hold by a wide margin on every seed."""

import json
import re
from pathlib import Path

import pytest

from cnnkit.cli.main import main
from cnnkit.experiments import EXPERIMENTS, Stat
from cnnkit.experiments._common import Data, fit, time_interleaved

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread():
    """One PyTorch thread per test: the suite runs one worker per core, and a second thread
    of each worker would only wait for a core (and spin while it waits)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_quick(name, tmp_path, capsys, *extra):
    """Run ``cnnkit experiment NAME --quick`` in-process; returns (stdout, the JSON result)."""
    assert main(["experiment", name, "--quick", "--out", str(tmp_path), *extra]) == 0
    out = capsys.readouterr().out
    assert f"Wrote {tmp_path / name}.md" in out
    md = (tmp_path / f"{name}.md").read_text()
    assert md.startswith(f"## {name}\n") and "**Published.**" in md
    png = tmp_path / f"{name}.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size < 100_000
    return out, json.loads((tmp_path / f"{name}.json").read_text())


def rows(result, table=0):
    return result["tables"][table]["rows"]


def mean(cell):
    return cell["mean"] if isinstance(cell, dict) else float(cell)


# --- the command ----------------------------------------------------------------------

def test_without_a_name_lists_every_experiment_with_its_claim(capsys):
    assert main(["experiment"]) == 0
    out = capsys.readouterr().out
    for name, experiment in EXPERIMENTS.items():
        assert re.search(rf"^{name} +{re.escape(experiment.claim)}$", out, re.M), name
    assert len(EXPERIMENTS) == 10


def test_an_unknown_name_is_one_line_with_the_names_and_a_suggestion(capsys):
    assert main(["experiment", "equivarance"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Unknown experiment 'equivarance'. Did you mean 'equivariance'?" in err
    assert all(name in err for name in EXPERIMENTS)


@pytest.mark.parametrize("value", ["0", "-2", "three"])
def test_bad_seeds_are_refused_by_name(capsys, value):
    assert main(["experiment", "equivariance", "--seeds", value]) == 2
    assert f"--seeds must be a positive int. Received: --seeds {value}." in capsys.readouterr().err


def test_seeds_for_an_experiment_without_training_are_refused(capsys):
    assert main(["experiment", "receptive_field", "--seeds", "3"]) == 2
    assert ("receptive_field trains nothing and has no seeds. Received: --seeds 3."
            in capsys.readouterr().err)


def test_every_experiment_cites_its_sources_and_what_they_report():
    for experiment in EXPERIMENTS.values():
        assert experiment.sources and experiment.published and experiment.claim
        assert re.search(r"(19|20)\d\d", " ".join(experiment.sources)), experiment.name


# --- the shared plumbing --------------------------------------------------------------

def test_stat_is_mean_and_sample_std():
    stat = Stat([0.90, 0.92, 0.97], scale=100)
    assert str(stat) == "93.0 ± 3.6"
    assert str(Stat([0.5])) == "0.5"


def test_fit_draws_every_sample_once_per_epoch_and_is_reproducible():
    import torch

    seen = []

    class Record(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1, 10))

        def forward(self, x):
            if self.training:
                seen.append(x[:, 0].tolist())
            return x[:, :1] * self.w

    x = torch.arange(12.0).view(12, 1)
    data = Data(x, torch.zeros(12, dtype=torch.long), x, torch.zeros(12, dtype=torch.long))
    fit(Record(), data, steps=6, batch=4, seed=3, eval_train=False)
    first, second = seen[:3], seen[3:]
    assert sorted(sum(first, [])) == sorted(sum(second, [])) == list(range(12))
    again = seen[:]
    seen.clear()
    fit(Record(), data, steps=6, batch=4, seed=3, eval_train=False)
    assert seen == again


def test_time_interleaved_returns_a_median_per_function():
    times = time_interleaved({"a": lambda: sum(range(100)), "b": lambda: None}, rounds=3)
    assert set(times) == {"a", "b"} and all(t > 0 for t in times.values())


def test_the_library_runs_an_experiment_and_writes_its_outputs(tmp_path):
    from cnnkit.experiments import get_experiment, write_outputs

    experiment = get_experiment("receptive_field")
    result = experiment.run(quick=True, seeds=0)
    assert result.seeds == 0 and len(result.tables) == 1 and result.checks
    assert all(holds for _, holds in result.checks)
    written = write_outputs(experiment, result, tmp_path, command="cmd", seconds=1.0)
    assert sorted(p.name for p in written) == ["receptive_field.json", "receptive_field.md",
                                               "receptive_field.png"]
    md = (tmp_path / "receptive_field.md").read_text()
    assert "| stack | layer |" in md and "![receptive_field](receptive_field.png)" in md


# --- one quick run per experiment -----------------------------------------------------

def test_mnist1d_benchmark(tmp_path, capsys):
    _, result = run_quick("mnist1d_benchmark", tmp_path, capsys)
    table = {r["model"].split(" (")[0]: r for r in rows(result)}
    # The paper's four models, parameter for parameter.
    assert {k: v["params"] for k, v in table.items()} == {
        "logistic regression": "410", "MLP": "15,210", "GRU": "5,134", "CNN": "5,210"}
    # The wide margins of the claim, even after 400 steps (3 seeds: CNN 84-87 %, MLP 57-62 %,
    # logistic regression 31-32 %; chance is 10 %).
    acc = {k: mean(v["test_accuracy"]) for k, v in table.items()}
    assert acc["CNN"] > acc["MLP"] + 0.1 and acc["MLP"] > acc["logistic regression"] + 0.1


def test_equivariance(tmp_path, capsys):
    _, result = run_quick("equivariance", tmp_path, capsys)
    for row in rows(result, 0):
        if row["map"].startswith("conv, circular"):
            assert row["whole"] == "0 (exact)" or float(row["whole"]) < 1e-12
        if row["map"].startswith("conv,"):
            assert row["interior"] == "0 (exact)" or float(row["interior"]) < 1e-12
        if row["map"].startswith("conv + ReLU") and row["shift"] == "(0, 1)":
            assert float(row["interior"]) > 1e-3  # no shift of the pooled grid matches
    shares = {(r["kernels"], r["pool"]): r for r in rows(result, 1)}
    one, four = shares[("random", "maxpool 1, stride 1")], shares[("random", "maxpool 4, stride 1")]
    assert mean(one["s1"]) < 0.02 and mean(four["s1"]) > mean(one["s1"]) + 0.2


def test_parameter_sharing(tmp_path, capsys):
    _, result = run_quick("parameter_sharing", tmp_path, capsys)
    counts = [(r["params"], r["per_unit"]) for r in rows(result, 0)]
    assert counts == [("25", "25"), ("230,400", "25"), ("92,160,000", "10,000")]
    table = {r["kind"]: r for r in rows(result, 1)}
    assert {k: v["params"] for k, v in table.items()} == {
        "convolution": "208", "locally connected": "119,808", "dense": "3,617,280"}
    assert all(mean(v["n100"]) > 0.5 for v in table.values())


def test_unsupervised_filters_trains_only_the_read_out(tmp_path, capsys):
    _, result = run_quick("unsupervised_filters", tmp_path, capsys)
    table = {r["kind"].split(",")[0].split(" ")[0]: r for r in rows(result)}
    readout = 32 * 7 * 7 * 10 + 10
    for kind in ("random", "Gabor", "k-means"):
        assert table[kind]["params"] == f"{readout:,}" and table[kind]["trained"] == "read-out only"
        assert mean(table[kind]["accuracy"]) > 0.6
    assert table["trained"]["params"] == f"{readout + 32 * 25 + 32:,}"
    assert table["none:"]["params"] == "7,850"


def test_fft_separable_counts_and_agreement(tmp_path, capsys):
    _, result = run_quick("fft_separable", tmp_path, capsys)
    assert all(float(r["error"]) < 1e-4 for r in rows(result, 0))
    for row in rows(result, 1):
        k, d = row["kernel"], int(row["rank"][0])
        outs = 8 if d == 2 else 4
        assert row["params_full"] == f"{outs * k ** d:,}"
        assert row["params_sep"] == f"{outs * d * k:,}"


def test_relu_vs_tanh(tmp_path, capsys):
    _, result = run_quick("relu_vs_tanh", tmp_path, capsys)
    table = {r["activation"]: r for r in rows(result)}
    assert set(table) == {"relu", "tanh", "ratio tanh / ReLU"}
    for key in ("t0.25", "t0.05"):
        # Both reach the error within the quick budget of 250 steps (3 seeds: 20 steps to
        # 25 %, 40-120 to 5 %; evaluated every 10 steps), and the ratio row is their ratio.
        steps = {a: float(table[a][key].split()[0]) for a in ("relu", "tanh")}
        assert all(v % 10 == 0 and 10 <= v <= 250 for v in steps.values()), steps
        assert float(table["ratio tanh / ReLU"][key]) == pytest.approx(
            steps["tanh"] / steps["relu"], abs=0.006)


def test_pooling(tmp_path, capsys):
    _, result = run_quick("pooling", tmp_path, capsys)
    table = {r["kind"]: r for r in rows(result)}
    assert list(table) == ["max", "average", "strided conv", "stride in conv"]
    # Same parameters except the extra strided convolutions (2 x 32 x 32 x 9 + 2 x 32).
    assert table["max"]["params"] == table["average"]["params"] == table["stride in conv"]["params"]
    extra = int(table["strided conv"]["params"].replace(",", "")) - int(table["max"]["params"].replace(",", ""))
    assert extra == 2 * (32 * 32 * 9 + 32)
    # 3 seeds: max 84-86 %, average 80-81 %, the others 82-84 % (300 test digits).
    acc = {k: mean(v["accuracy"]) for k, v in table.items()}
    assert all(a > 0.7 for a in acc.values()) and acc["max"] > acc["average"]


def test_regularisers(tmp_path, capsys):
    _, result = run_quick("regularisers", tmp_path, capsys)
    table = {r["kind"]: r for r in rows(result)}
    assert list(table) == ["none", "dropout", "DropConnect", "stochastic pooling", "augmentation",
                           "weight decay", "max-norm", "early stopping"]
    # The small set is memorised without regularisation: a wide train-test gap, which
    # dropout and augmentation narrow (3 seeds: none 15-17 points, dropout 10-12,
    # augmentation 4-7).
    gap = {k: mean(v["gap"]) for k, v in table.items()}
    assert gap["none"] > 0.08
    assert gap["dropout"] < gap["none"] and gap["augmentation"] < gap["none"] - 0.05


def test_padding(tmp_path, capsys):
    _, result = run_quick("padding", tmp_path, capsys)
    table = {r["kind"]: r for r in rows(result)}
    assert {k: v["size"] for k, v in table.items()} == {
        "valid": "5x5", "between": "9x9", "same": "14x14", "full": "23x23"}
    assert len({v["params"] for v in table.values()}) == 1  # only the padding differs


def test_receptive_field_computed_equals_measured(tmp_path, capsys):
    out, result = run_quick("receptive_field", tmp_path, capsys)
    table = rows(result)
    assert all(r["centre"].endswith(": agree") and r["corner"].endswith(": agree") for r in table)
    fields = {name: [r["field"] for r in table if r["stack"] == name]
              for name in ("plain", "strided", "dilated")}
    assert fields == {"plain": [3, 5, 7, 9], "strided": [3, 7, 15, 31], "dilated": [3, 7, 15, 31]}
    assert "DISAGREE" not in out


# --- the committed documentation ------------------------------------------------------

def test_the_docs_collect_every_experiment_with_a_small_figure():
    doc = (ROOT / "docs" / "experiments.md").read_text()
    for name in EXPERIMENTS:
        assert f"## {name}" in doc, name
        png = ROOT / "docs" / "experiments" / f"{name}.png"
        assert f"experiments/{name}.png" in doc and png.stat().st_size < 100_000, name
        # A section that shows a quick run says so.
        data = json.loads((ROOT / "docs" / "experiments" / f"{name}.json").read_text())
        section = doc.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert ("--quick" in data["command"]) == ("shows the `--quick` run" in section), name
