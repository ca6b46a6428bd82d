"""The spec's top-level `task:` key: checked with a did-you-mean, checked against the loss,
recorded in the canonical spec, round-tripping through YAML and the built network."""

import pytest

from cnnkit import spec as S
from cnnkit import tasks as T
from cnnkit._validation import SpecError
from cnnkit.spec._load import TASK_LOSSES

SEG = """name: seg
input: [1, 16, 16]
layers:
  - conv: {filters: 8, kernel: 3, padding: same, activation: relu}
  - conv: {filters: 3, kernel: 1}
task: segment
"""


def test_task_round_trips():
    spec = S.load(SEG)
    assert spec.task == "segment" and spec.to_dict()["task"] == "segment"
    assert spec.to_dict(defaults=False)["task"] == "segment"
    net = spec.build()
    assert net.task == "segment" and "task='segment'" in repr(net)
    assert net.spec() == spec.to_dict()
    assert S.load(net.to_yaml()) == spec
    assert S.build(net.spec()).spec() == net.spec()
    assert "task: segment" in net.to_yaml()


def test_no_task_leaves_the_canonical_spec_as_it_was():
    spec = S.load(SEG.replace("task: segment\n", ""))
    assert spec.task is None and "task" not in spec.to_dict()
    assert "task" not in spec.build().spec()


def test_task_errors():
    with pytest.raises(SpecError, match=r"^line 6, column 1: task: unknown task 'segmnet'. Did you mean "
                                        r"'segment'\? Valid tasks: classify, multilabel, regress, segment, "
                                        r"reconstruct, detect \(or leave it out"):
        S.load(SEG.replace("task: segment", "task: segmnet"))
    with pytest.raises(SpecError, match=r"^line 7, column 1: loss: loss 'euclidean' does not fit task 'segment'. "
                                        r"Received: loss='euclidean', task='segment'. Use loss: "
                                        r"softmax_cross_entropy, leave the loss out \(the task's default\), "
                                        r"or task: regress."):
        S.load(SEG + "loss: euclidean\n")
    with pytest.raises(SpecError, match=r"unknown top-level key 'tsak'. Did you mean 'task'\?"):
        S.load(SEG.replace("task: segment", "tsak: segment"))
    S.load(SEG + "loss: softmax_cross_entropy\n")  # the loss that fits


def test_spec_and_tasks_agree():
    assert tuple(TASK_LOSSES) == T.task_names()
    for name, losses in TASK_LOSSES.items():
        assert T.TASKS[name].losses == losses
