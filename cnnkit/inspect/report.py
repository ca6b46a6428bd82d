"""The run report (``report/index.html``) and the pictures of one image through a run.

:func:`build_report` reads a run folder (spec, config, ``metrics.jsonl``,
``results.json``, checkpoints) and writes ``report/index.html``. Every network gets one,
with the sections that apply: learning curves (loss and the task's monitored metric) and
the summary table always; then by the run's task (:func:`run_task`): for classify the
confusion matrix with per-class accuracy, the most confidently wrong test samples and an
embedding of the penultimate layer; for the other tasks the test metrics, a per-class (or
per-label, per-output) table and the task's pictures (:mod:`cnnkit.inspect.pictures`:
masks, boxes, reconstructions, predicted against true, per-label precision and recall);
then the filters of the first two convolutions and the activations of two test samples in
any rank (1-D layers as traces over time, 3-D ones at their middle depth slice), and for a
2-D image classifier the saliency maps and one unit's receptive field. The page is
one self-contained file (every image is a base64 ``data:`` URI; no script, no link to
anything outside it), so it opens offline and can be mailed; the PNGs are written next to
it as well.

:func:`inspect_image` writes the pictures of one input image to a folder
(``cnnkit inspect RUN --input IMAGE``).

The run folder is read through :mod:`cnnkit.runs` (weights only through its safetensors
checkpoints); ``cnnkit train`` and :func:`cnnkit.train_and_report` call :func:`build_report`
at the end of a run.
"""

from __future__ import annotations

import base64
import html
import json
import os
import time
from pathlib import Path

import torch

from .._validation import ArgumentError, ShapeError
from . import plots
from .activations import capture, default_layers, resolve_layer
from .classify import embedding, evaluate_classes
from .fields import layer_geometry, receptive_field
from .filters import conv_filters, conv_layers
from .saliency import grad_cam, gradient, occlusion, smoothgrad
from .summary import summary

__all__ = ["build_report", "inspect_image", "load_run", "RunView"]

_CLASSIFIER_LOSSES = (None, "softmax_cross_entropy", "sigmoid_cross_entropy")


class RunView:
    """What the report and the viewer need from a run folder.

    Attributes:
        path: the run folder.
        network: the Network with the chosen weights, in eval mode, on the CPU.
        which: ``"best"`` or ``"last"``: the checkpoint the weights came from.
        classes: class names (``config.yaml`` data.classes), or numbers.
        config: the parsed ``config.yaml``.
        records: the ``metrics.jsonl`` records.
        results: the parsed ``results.json`` (empty before the run finished).
        test: the test split of the run's data, or None where it cannot be loaded.
    """

    def __init__(self, path, network, which, classes, config, records, results, test):
        self._task = None
        self.path = Path(path)
        self.network = network
        self.which = which
        self.classes = list(classes)
        self.config = config
        self.records = records
        self.results = results
        self.test = test

    @property
    def task(self):
        """The run's :class:`cnnkit.tasks.Task` (:func:`run_task`), its class count taken
        from the network's output where the test targets fit it."""
        if self._task is None:
            self._task = run_task(self)
        return self._task

    @property
    def is_classifier(self) -> bool:
        out = tuple(self.network.output_shape)
        if self.task.name != "classify":
            return False
        return (len(out) == 1 and out[0] >= 2 and self.network.loss in _CLASSIFIER_LOSSES)

    @property
    def is_image(self) -> bool:
        shape = tuple(self.network.input_shape)
        return len(shape) == 3 and shape[0] in (1, 3)

    def class_name(self, index: int) -> str:
        return str(self.classes[index]) if index < len(self.classes) else str(index)


def run_task(view: "RunView"):
    """The task a run was trained for: the one it records (``results.json`` or
    ``config.yaml`` ``task``: a name or :meth:`~cnnkit.tasks.Task.to_dict`), else the one
    its spec's ``task:`` key, loss and test targets decide
    (:func:`cnnkit.tasks.resolve_task`), else classify.

    Example:
        >>> from cnnkit.spec import build
        >>> net = build({"input": [1, 4], "layers": ["flatten", {"dense": 2}], "loss": "euclidean"})
        >>> run_task(RunView(".", net, "last", [], {}, [], {}, None)).name
        'regress'
    """
    from .._validation import CnnkitError
    from ..tasks import make_task, resolve_task, task_from_dict

    for record in ((view.results or {}).get("task"), (view.config or {}).get("task")):
        try:
            if isinstance(record, dict):
                return task_from_dict(record)
            if isinstance(record, str):
                return make_task(record, loss=_fitting_loss(record, view.network))
        except CnnkitError:
            continue
    spec_task = getattr(view.network, "task", None)
    loss = getattr(view.network, "loss", None)
    for targets in (view.test, None):
        try:
            return resolve_task(spec_task, loss, targets)
        except (CnnkitError, TypeError):
            continue
    return make_task("classify")


def _fitting_loss(name: str, network) -> str | None:
    from ..tasks import TASKS

    loss = getattr(network, "loss", None)
    return loss if loss in TASKS[name].losses else None



def load_run(run_dir, *, which: str | None = None, network=None, test=None,
             load_test: bool = True) -> RunView:
    """Read a run folder into a :class:`RunView`.

    Args:
        run_dir: a run folder made by ``cnnkit train``.
        which: ``"best"`` or ``"last"`` weights; None: those ``results.json`` describes.
        network: a Network to use instead of loading the weights (training passes its own).
        test: the test Dataset to use instead of loading the run's data source.
        load_test: load the test split from the run's data source when ``test`` is None.

    Raises:
        ArgumentError: not a run folder, or no readable checkpoint.
    """
    from ..data.splits import recorded_splits
    from ..runs import RunFolder, default_weights, load_run_model, read_metrics

    run = RunFolder(run_dir)
    if not run.exists():
        raise ArgumentError(
            f"{run_dir} is not a run folder (it has no spec.yaml). Received: run="
            f"{str(run_dir)!r}. Give a folder under runs/ made by `cnnkit train`.")
    config = run.read_yaml("config.yaml") if (run.path / "config.yaml").is_file() else {}
    config = config or {}
    if which is None:
        # The weights training ended with, as every command defaults to (runs.weights).
        which = default_weights(run.path)
    if which not in ("best", "last"):
        raise ArgumentError(f"which must be 'best' or 'last'. Received: which={which!r}.")
    if network is None:
        network = load_run_model(run.path, which)
    network = network.eval()
    data = config.get("data") or {}
    classes = data.get("classes") or []
    if not classes and len(tuple(network.output_shape)) == 1:
        classes = [str(i) for i in range(int(network.output_shape[0]))]
    records = read_metrics(run.metrics)
    results_path = run.path / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    if test is None and load_test and data.get("source"):
        try:  # the run's own test split (its fraction, seed or test folder)
            _, _, test = recorded_splits(data, config.get("train") or {},
                                         tuple(network.input_shape))
        except Exception:  # noqa: BLE001 - the data moved or was in memory: no data figures
            test = None
    return RunView(run.path, network, which, classes, config, records, results, test)


# --------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;
background:#f6f7f9;color:#1d1f23}
header{background:#1d2a3a;color:#fff;padding:18px 28px}
header h1{margin:0 0 6px;font-size:22px} header p{margin:2px 0;color:#c9d3df;font-size:14px}
nav{padding:8px 28px;background:#e9edf2;font-size:14px} nav a{margin-right:14px;color:#1d4f91}
section{background:#fff;margin:18px 28px;padding:14px 20px;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{font-size:18px;margin:4px 0 10px} h3{font-size:15px;margin:14px 0 6px}
img{max-width:100%;image-rendering:auto} .note{color:#667;font-size:13px}
table{border-collapse:collapse;font-size:13px} td,th{padding:3px 10px;border-bottom:1px solid #e3e6ea;
text-align:right} th{background:#f0f2f5} td:first-child,th:first-child,td:nth-child(2),
th:nth-child(2){text-align:left;font-family:ui-monospace,Menlo,Consolas,monospace}
.metrics span{display:inline-block;margin-right:22px}
.scroll{overflow-x:auto;max-width:100%}
@media (max-width:640px){header{padding:12px 14px} nav{padding:8px 14px}
section{margin:10px 6px;padding:10px 10px} td,th{padding:3px 6px}
footer{margin:12px 8px!important}}
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _figure_block(out_dir: Path, name: str, fig, alt: str) -> str:
    png = plots.to_png(fig, out_dir / f"{name}.png")
    return _img(png, alt)


def _summary_table(network) -> str:
    table = summary(network)
    head = ["layer", "type", "output", "field", "jump", "start", "params", "mult-adds"]
    from .summary import _cell

    keys = ["name", "type", "output_shape", "field", "jump", "start", "params", "flops"]
    rows = []
    for row in table.rows:
        cells = [html.escape(_cell(k, row)).replace("  ", "&nbsp;&nbsp;") for k in keys]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    total = (f"<tr><th>total</th><th></th><th>{html.escape('x'.join(map(str, table.output_shape)))}"
             f"</th><th></th><th></th><th></th><th>{table.total_params:,}</th>"
             f"<th>{table.total_flops:,}</th></tr>")
    return ('<table class="summary"><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
            + "".join(rows) + total + "</table>")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def build_report(run_dir, *, which: str | None = None, examples: int = 4,
                 network=None, test=None, max_test: int = 2000) -> Path:
    """Write ``report/index.html`` (and its PNGs) for a run folder.

    Args:
        run_dir: a run folder.
        which: ``"best"`` or ``"last"`` weights; None: the weights ``results.json``
            describes (best under early stopping, else last).
        examples: test images shown with activation and saliency maps.
        network, test: a Network / test Dataset already in memory (training passes them).
        max_test: test samples used for the confusion matrix and embedding at most.

    Returns:
        The path of ``index.html``.

    Raises:
        ArgumentError: not a run folder, or no readable checkpoint.

    Example:
        >>> import tempfile
        >>> from cnnkit.train.api import train
        >>> spec = {"input": [1, 8, 8], "layers": [{"conv": {"filters": 2, "kernel": 3}},
        ...                                        "flatten", {"dense": 10}]}
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     result = train(spec, "digits", {"epochs": 1, "progress": False, "report": False},
        ...                    runs_root=tmp)
        ...     page = build_report(result.run_dir, examples=1)
        ...     page.name, "confusion matrix" in page.read_text()
        ('index.html', True)
    """
    started = time.perf_counter()
    view = load_run(run_dir, which=which, network=network, test=test)
    net = view.network
    out_dir = view.path / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    sections: list[tuple[str, str, str]] = []  # (id, title, html)

    # learning curves
    if view.records:
        sections.append(("curves", "Learning curves",
                         _figure_block(out_dir, "curves", plots.plot_curves(
                             view.records, view.task.monitor or "accuracy"),
                                       "learning curves: loss and the monitored metric "
                                       "against the step")))
    else:
        sections.append(("curves", "Learning curves",
                         '<p class="note">metrics.jsonl has no records yet.</p>'))

    # summary table
    sections.append(("summary", "Network", _summary_table(net)))

    test = view.test
    if test is not None and len(test) > max_test:
        test = test[torch.arange(max_test)]
    task = view.task
    problem = _fit_task(view, task, test)
    if test is not None and tuple(test.x.shape[1:]) != tuple(net.input_shape):
        test = None  # the data has changed shape: no pictures of it
    if problem is not None:
        sections.append(("predictions", "Predictions", f'<p class="note">{html.escape(problem)}</p>'))
    elif task.name == "classify":
        sections.extend(_classify_sections(view, net, test, out_dir))
    else:
        sections.extend(_task_sections(view, net, task, test, out_dir, examples))

    convs = conv_layers(net)
    if convs:
        body = _figure_block(out_dir, "filters", plots.plot_filters(
            conv_filters(net, convs[0]), title=f"{convs[0]}: first-layer filters"),
            "first-layer filters")
        if len(convs) > 1:
            body += "<h3>Second convolution, per input channel</h3>" + _figure_block(
                out_dir, "filters2", plots.plot_filters(
                    conv_filters(net, convs[1]), max_filters=16, max_channels=16,
                    per_channel=True, title=f"{convs[1]}: filters per input channel"),
                "second-layer filters per input channel")
        sections.append(("filters", "Filters", body))
    if test is not None and len(test):
        sections.extend(_image_sections(view, net, test.x[:max(1, examples)],
                                        test.y[:max(1, examples)], out_dir))

    page = _page(view, sections, time.perf_counter() - started)
    target = out_dir / "index.html"
    tmp = out_dir / ".index.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return target


def _fit_task(view: RunView, task, test) -> str | None:
    """None when the test targets fit the task and the network (the task's class count is
    set), else the sentence the report shows instead of the task's pictures."""
    from .._validation import CnnkitError

    if test is None or len(test) == 0:
        return ("The run's test data could not be loaded (it moved, or was given in memory), "
                "so there are no pictures of predictions.")
    if tuple(test.x.shape[1:]) != tuple(view.network.input_shape):
        return (f"The test data's samples are {tuple(test.x.shape[1:])}, but the network takes "
                f"{tuple(view.network.input_shape)}, so there are no pictures of predictions.")
    targets = test.x if task.name == "reconstruct" else test.y
    classes = len(view.classes) if task.name in ("classify", "segment", "multilabel") and \
        (view.config.get("data") or {}).get("classes") else None
    try:
        task.check(tuple(view.network.output_shape), targets, classes)
    except CnnkitError as error:
        return f"The test targets do not fit task {task.name!r}: {error}"
    return None


def _classify_sections(view: RunView, net, test, out_dir: Path):
    sections = []
    ev = evaluate_classes(net, test.x, test.y, num_classes=len(view.classes) or None)
    names = [view.class_name(i) for i in range(ev.confusion.shape[0])]
    body = [f'<p>{ev.correct} of {int(ev.confusion.sum())} test samples correct '
            f'(accuracy {ev.accuracy:.4f}).</p>',
            _figure_block(out_dir, "confusion", plots.plot_confusion(ev.confusion, names),
                          "confusion matrix")]
    rows = "".join(
        f"<tr><td>{html.escape(names[i])}</td><td>{int(ev.confusion[i].sum())}</td>"
        f"<td>{'-' if torch.isnan(ev.per_class[i]) else f'{float(ev.per_class[i]):.3f}'}"
        f"</td></tr>" for i in range(len(names)))
    body.append('<h3>Per-class accuracy</h3><table class="per-class"><tr><th>class</th>'
                f"<th>samples</th><th>accuracy</th></tr>{rows}</table>")
    sections.append(("confusion", "Confusion matrix", "\n".join(body)))
    if test.x.is_floating_point() and test.x.dim() >= 3:
        wrong = ev.most_confident_wrong(16)
        titles = [f"{names[int(ev.target[i])]}\u2192{names[int(ev.predicted[i])]} "
                  f"{float(ev.probs[i, ev.predicted[i]]):.2f}" for i in wrong.tolist()]
        sections.append(("wrong", "Most confidently wrong", _figure_block(
            out_dir, "wrong", plots.plot_examples(test.x[wrong], titles),
            "most confidently wrong test samples") +
            '<p class="note">true \u2192 predicted, and the probability given to the '
            'prediction.</p>'))
    coords = embedding(net, test.x)
    sections.append(("embedding", "Penultimate layer", _figure_block(
        out_dir, "embedding", plots.plot_embedding(coords, ev.target, names),
        "PCA of the penultimate layer coloured by class") +
        '<p class="note">The input of the last layer with parameters, projected on its two '
        'principal components, coloured by the true class.</p>'))
    return sections


_PER_CLASS = ("iou", "class_accuracy", "average_precision", "precision", "recall", "f1",
              "r2_per_output", "mae_per_output", "rmse_per_output")


def _task_sections(view: RunView, net, task, test, out_dir: Path, examples: int):
    """The metrics and pictures of a task other than classify, on the test split."""
    from .pictures import run_model, task_figures

    x, y = test.x, test.y
    given, targets = task.prepare(x, x if task.name == "reconstruct" else y,
                                  generator=torch.Generator().manual_seed(0))
    outputs = run_model(net, given)
    meter = task.meter()
    meter.update(outputs, targets)
    scores = meter.compute()
    scalars = [(k, v) for k, v in scores.items() if isinstance(v, (int, float))]
    body = ['<table class="metrics-table"><tr><th>metric</th><th>test</th></tr>' + "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in scalars)
        + "</table>"]
    per = [k for k in _PER_CLASS if isinstance(scores.get(k), list)]
    if per:
        count = len(scores[per[0]])
        names = [view.class_name(i) for i in range(count)]
        head = "".join(f"<th>{html.escape(k.replace('_per_output', ''))}</th>" for k in per)
        rows = "".join(
            f"<tr><td>{html.escape(names[i])}</td>" + "".join(
                f"<td>{'-' if scores[k][i] is None else f'{float(scores[k][i]):.3f}'}</td>"
                for k in per) + "</tr>" for i in range(count))
        what = "output" if task.name == "regress" else "label" if task.name == "multilabel" \
            else "class"
        body.append(f'<h3>Per {what}</h3><table class="per-class"><tr><th>{what}</th>{head}'
                    f"</tr>{rows}</table>")
    if task.name == "segment":
        confusion = meter.meter.confusion
        body.append("<h3>Confusion of positions</h3>" + _figure_block(
            out_dir, "confusion", plots.plot_confusion(
                confusion, [view.class_name(i) for i in range(confusion.shape[0])],
                title="positions: true against predicted class"), "confusion matrix of positions"))
    sections = [("metrics", f"Test metrics ({task.name})", "\n".join(body))]
    classes = view.classes if (view.config.get("data") or {}).get("classes") else None
    for sid, title, fig, note in task_figures(net, task, x, y, classes=classes,
                                              examples=max(1, examples)):
        sections.append((sid, title, _figure_block(out_dir, sid, fig, title.lower()) +
                         f'<p class="note">{html.escape(note)}</p>'))
    return sections


def _image_sections(view: RunView, net, x: torch.Tensor, y: torch.Tensor, out_dir: Path):
    sections = []
    geometry = layer_geometry(net)
    kinds = {name: info["type"] for name, info in geometry.items()}
    acts = capture(net, x)
    if not acts:  # a zoo Module (model:) has no top-level layers to show
        return sections
    blocks = []
    for k in range(min(2, len(x))):
        label = (f" (class {html.escape(view.class_name(int(y[k])))})"
                 if view.is_classifier and y.dim() == 1 else "")
        blocks.append(f"<h3>Test sample {k}{label}</h3>" + _figure_block(
            out_dir, f"activations_{k}", plots.plot_activations(acts, k, kinds=kinds),
            f"activation maps of test sample {k}"))
    note = {2: '<p class="note">1-D layers: one trace per channel over time, on one scale '
               'per layer.</p>',
            4: '<p class="note">3-D layers: every channel at the middle depth slice.</p>'}
    sections.append(("activations", "Activations", "\n".join(blocks) +
                     note.get(x.dim() - 1, "")))
    if view.is_classifier and view.is_image:
        maps = _saliency_maps(net, x, geometry)
        blocks = []
        probs = torch.softmax(acts.output, dim=1)
        for k in range(len(x)):
            predicted = int(probs[k].argmax())
            title = (f"true {view.class_name(int(y[k]))}, predicted "
                     f"{view.class_name(predicted)} (p={float(probs[k, predicted]):.2f})")
            blocks.append(_figure_block(out_dir, f"saliency_{k}", plots.plot_saliency(
                x[k], {m: v[k] for m, v in maps.items()}, title=title),
                f"saliency of test image {k}"))
        sections.append(("saliency", "Saliency", "\n".join(blocks) +
                         '<p class="note">For the predicted class: |gradient| (Simonyan et al.), '
                         'SmoothGrad (25 noisy copies), Grad-CAM on the last spatial layer, and '
                         'occlusion (fall in probability when a window is set to 0; Zeiler and '
                         'Fergus).</p>'))
    field_html = _field_block(net, x[0], acts, geometry, out_dir)
    if field_html:
        sections.append(("field", "Receptive field", field_html))
    return sections


def _saliency_maps(net, x, geometry) -> dict:
    maps = {"gradient": gradient(net, x), "smoothgrad": smoothgrad(net, x)}
    if _has_spatial_layer(net, x):  # Grad-CAM weighs the maps of the last spatial layer
        maps["grad-cam"] = grad_cam(net, x, geometry=geometry)
    maps["occlusion"] = occlusion(net, x)
    return maps


def _has_spatial_layer(net, x) -> bool:
    return any(t.dim() == x.dim() for t in capture(net, x[:1]).values())


def _field_block(net, image, acts, geometry, out_dir: Path) -> str:
    spatial = [name for name, t in acts.items() if t.dim() == 4 and name in geometry
               and geometry[name]["field"] is not None]
    if not spatial:
        return ""
    name = spatial[-1]
    volume = acts[name][0]
    flat = int(volume.flatten().argmax())
    c, rest = divmod(flat, volume.shape[1] * volume.shape[2])
    unit = (c, *divmod(rest, volume.shape[2]))
    field = receptive_field(net, name, unit, geometry=geometry)
    return (_figure_block(out_dir, "receptive_field", plots.plot_receptive_field(
        image, field, volume[c]), "receptive field of the most active unit") +
        f'<p class="note">The most active unit of {html.escape(name)} '
        f'({html.escape(geometry[name]["type"])}), {unit}, sees input rows {field.lo[0]} to '
        f'{field.hi[0]} and columns {field.lo[1]} to {field.hi[1]} (field '
        f'{"x".join(map(str, field.field))}, jump {"x".join(map(str, field.jump))}).</p>')


def _page(view: RunView, sections, seconds: float) -> str:
    net = view.network
    data = view.config.get("data") or {}
    test = (view.results or {}).get("test") or {}
    metrics = []
    keys = dict.fromkeys(("accuracy", *view.task.metrics, "loss", "count"))
    for key in keys:
        if isinstance(test.get(key), (int, float)):
            metrics.append(f"<span>test {key}: <b>{_fmt(test[key])}</b></span>")
    for key in ("epochs", "steps", "train_seconds"):
        if key in (view.results or {}):
            metrics.append(f"<span>{key.replace('_', ' ')}: <b>{_fmt(view.results[key])}</b></span>")
    nav = "".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title, _ in sections)
    body = "\n".join(f'<section id="{sid}"><h2>{html.escape(title)}</h2>\n{content}\n</section>'
                     for sid, title, content in sections)
    # A table wider than a phone scrolls inside its section, not the page.
    body = body.replace("<table", '<div class="scroll"><table').replace("</table>",
                                                                       "</table></div>")
    title = f"{net.name} \u2014 {view.path.name}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body>
<header><h1>{html.escape(title)}</h1>
<p>input {html.escape('x'.join(map(str, net.input_shape)))} \u2192 output
{html.escape('x'.join(map(str, net.output_shape)))}; data {html.escape(str(data.get('source', '?')))};
{view.which} weights</p>
<p class="metrics">{''.join(metrics)}</p></header>
<nav>{nav}</nav>
{body}
<footer class="note" style="margin:18px 28px">Written by cnnkit in {seconds:.1f} s. Rebuild with
<code>cnnkit report {html.escape(str(view.path))}</code>.</footer>
</body></html>
"""


# --------------------------------------------------------------------------------------
# One image
# --------------------------------------------------------------------------------------

def read_image(path, input_shape) -> torch.Tensor:
    """An image file as the network's input ``(C, H, W)`` in [0, 1] (converted to grey or
    RGB and resized as the run's data was).

    Raises:
        ArgumentError: the file does not exist.
        ShapeError: the network does not take 2-D grey or colour images.
    """
    from ..data.sources import read_images

    shape = tuple(input_shape)
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise ShapeError(f"this network takes {list(shape)}, not 2-D images with 1 or 3 "
                         f"channels, so it cannot read an image file.")
    path = Path(path)
    if not path.is_file():
        raise ArgumentError(f"image {str(path)!r} does not exist. Received: --input {path}.")
    array, _, _ = read_images([path], size=shape[1:], mode="L" if shape[0] == 1 else "RGB")
    return torch.from_numpy(array[0])  # read_images already scaled 8- and 16-bit pixels


def inspect_image(run_dir, image, out_dir=None, *, layer=None, which: str | None = None) -> Path:
    """Write the pictures of one image going through a run's network.

    Files: ``input.png``, ``prediction.json`` (class probabilities), ``activations.png``
    (every layer, or ``layer``), ``filters.png`` (the first convolution; and
    ``filters_<layer>.png`` when ``layer`` is a convolution), ``saliency.png`` (gradient,
    SmoothGrad, Grad-CAM, occlusion), ``receptive_field.png`` (the most active unit of
    ``layer``, or of the last spatial layer).

    Args:
        run_dir: a run folder.
        image: an image file path, or a ``(C, H, W)`` tensor in [0, 1].
        out_dir: where to write; default ``RUN/inspect/<image name>``.
        layer: one layer to show (a name from the summary or ``named_modules``).
        which: ``"best"`` / ``"last"`` weights (None: as :func:`build_report`).

    Returns:
        The folder written.

    Raises:
        ArgumentError: an unknown layer (the message lists the layers), a missing image.
    """
    view = load_run(run_dir, which=which, load_test=False)
    net = view.network
    name = resolve_layer(net, layer) if layer is not None else None
    if isinstance(image, (str, Path)):
        x = read_image(image, net.input_shape)
        stem = Path(image).stem
    else:
        x = torch.as_tensor(image, dtype=torch.float32)
        stem = "image"
    if tuple(x.shape) != tuple(net.input_shape):
        raise ShapeError(f"image must have the network's input shape {tuple(net.input_shape)}. "
                         f"Received: shape {tuple(x.shape)}.")
    out = Path(out_dir) if out_dir is not None else view.path / "inspect" / stem
    out.mkdir(parents=True, exist_ok=True)
    geometry = layer_geometry(net)
    kinds = {n: info["type"] for n, info in geometry.items()}
    layers = [name] if name is not None else default_layers(net)
    acts = capture(net, x, layers)
    probs = torch.softmax(acts.output, dim=1)[0] if view.is_classifier else acts.output[0]
    prediction = {"input": str(image) if isinstance(image, (str, Path)) else "tensor",
                  "weights": view.which}
    if view.is_classifier:
        order = probs.argsort(descending=True).tolist()
        prediction["predicted"] = view.class_name(order[0])
        prediction["probabilities"] = {view.class_name(i): round(float(probs[i]), 6)
                                       for i in order}
    else:
        prediction["output"] = acts.output[0].flatten().tolist()
    (out / "prediction.json").write_text(json.dumps(prediction, indent=1))
    fig = plots._figure(3, 3)
    plots._show_image(fig.add_subplot(1, 1, 1), x)
    plots.to_png(fig, out / "input.png")
    plots.to_png(plots.plot_activations(acts, 0, kinds=kinds), out / "activations.png")
    convs = conv_layers(net)
    if convs:
        plots.to_png(plots.plot_filters(conv_filters(net, convs[0]), title=f"{convs[0]} filters"),
                     out / "filters.png")
    if name is not None and name in convs and name != (convs[0] if convs else None):
        plots.to_png(plots.plot_filters(conv_filters(net, name), title=f"{name} filters"),
                     out / f"filters_{name}.png")
    if view.is_classifier:
        maps = _saliency_maps(net, x.unsqueeze(0), geometry)
        if name is not None and name in acts and acts[name].dim() == 4:
            maps["grad-cam " + name] = grad_cam(net, x.unsqueeze(0), layer=name,
                                                geometry=geometry)
        title = f"predicted {prediction['predicted']} (p={float(probs.max()):.2f})"
        plots.to_png(plots.plot_saliency(x, {m: v[0] for m, v in maps.items()}, title=title),
                     out / "saliency.png")
    _field_block(net, x, acts, geometry, out)  # writes receptive_field.png
    return out
