"""bench/model_overhead.py times the 2-D zoo models with a spec and names why it leaves out
the others; its torch.nn translation computes what the cnnkit model computes."""

import importlib.util
from pathlib import Path

import torch
import torch.nn as nn


def _bench():
    path = Path(__file__).parents[1] / "bench" / "model_overhead.py"
    spec = importlib.util.spec_from_file_location("bench_model_overhead", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_models_that_are_not_2d_or_have_no_spec_are_skipped_with_a_reason():
    bench = _bench()
    assert "3-D inputs" in bench._why_skipped("c3d")
    assert "1-D inputs" in bench._why_skipped("wavenet")
    assert "without a spec" in bench._why_skipped("lenet5", nn.Sequential(nn.Flatten()))
    assert bench._why_skipped("lenet5") is None
    assert bench._why_skipped("lenet5", bench._model("lenet5")) is None


def test_the_plain_translation_matches_the_cnnkit_model():
    bench = _bench()
    torch.manual_seed(0)
    for name in ("lenet5", "minatar_dqn"):
        ours = bench._model(name).eval()
        theirs = bench.to_torch(ours).eval()
        assert not any(isinstance(m, type(ours)) for m in theirs.modules())
        x = torch.randn(3, *ours.input_shape)
        with torch.no_grad():
            torch.testing.assert_close(theirs(x), ours(x), rtol=1e-5, atol=1e-5)
