"""bench/gpu.py skips cleanly where there is no GPU: one line saying why, exit status 0."""

import importlib.util
from pathlib import Path

import pytest
import torch


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: the benchmark runs")
def test_gpu_bench_skips_without_a_gpu(capsys):
    path = Path(__file__).parents[1] / "bench" / "gpu.py"
    spec = importlib.util.spec_from_file_location("bench_gpu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("bench/gpu.py: skipped: no CUDA GPU here (torch ")
    assert out.count("\n") == 1
