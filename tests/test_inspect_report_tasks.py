"""The run report of every task and rank: the sections follow the run's task, the pictures
are those of :mod:`cnnkit.inspect.pictures`, and the page is laid out for a phone and a
desktop (looked at in Debian's Chromium when it is installed)."""

import base64
import io
import os
import re

import numpy as np
import pytest
import yaml
from PIL import Image

from cnnkit.inspect.report import build_report, load_run, run_task
from picture_runs import make_run

EXPECTED = {  # kind -> section ids the report must have, and ids it must not have
    "segment": ({"metrics", "masks", "filters", "activations", "field"}, {"confusion", "saliency"}),
    "detect": ({"metrics", "boxes", "filters", "activations"}, {"confusion", "saliency"}),
    "multilabel": ({"metrics", "labels", "activations"}, {"confusion", "wrong"}),
    "regress": ({"metrics", "scatter", "activations"}, {"confusion", "embedding"}),
    "reconstruct": ({"metrics", "reconstructions", "activations"}, {"confusion"}),
    "classify1d": ({"confusion", "wrong", "embedding", "filters", "activations"}, {"saliency"}),
    "classify3d": ({"confusion", "wrong", "filters", "activations"}, {"saliency", "field"}),
    "dense": ({"confusion", "wrong", "embedding", "activations", "saliency"}, {"filters"}),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("task-runs")
    return {kind: make_run(root, kind, steps=3) for kind in EXPECTED}


def _sections(page: str) -> set[str]:
    return set(re.findall(r'<section id="([^"]+)"', page))


def _png(page: str, alt: str) -> np.ndarray:
    match = re.search(rf'<img alt="{re.escape(alt)}" src="data:image/png;base64,([^"]+)"', page)
    assert match, alt
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(match[1]))).convert("RGB"))


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_the_report_has_the_sections_of_its_task(runs, kind):
    page = build_report(runs[kind], examples=2, max_test=200).read_text()
    present, absent = EXPECTED[kind]
    found = _sections(page)
    assert present <= found, present - found
    assert not absent & found, absent & found
    assert "curves" in found and "summary" in found


def test_segment_report_shows_its_metrics_and_coloured_masks(runs):
    page = build_report(runs["segment"], examples=2, max_test=200).read_text()
    assert "<td>mean_iou</td>" in page and "<th>iou</th>" in page
    masks = _png(page, "predicted masks")
    # the true masks colour the digits: some pixel has a class colour (not grey)
    colourful = (masks.max(axis=2).astype(int) - masks.min(axis=2)) > 60
    assert colourful.sum() > 50
    assert "Confusion of positions" in page


def test_reports_of_1d_and_3d_networks_say_how_layers_are_drawn(runs):
    one = build_report(runs["classify1d"], examples=1, max_test=200).read_text()
    assert "one trace per channel over time" in one
    three = build_report(runs["classify3d"], examples=1, max_test=200).read_text()
    assert "middle depth slice" in three


def test_the_task_comes_from_the_run_then_the_spec_then_classify(runs, tmp_path):
    assert run_task(load_run(runs["detect"], load_test=False)).name == "detect"
    # no task recorded: the spec's task key
    path = make_run(tmp_path, "regress", steps=1, record_task=False)
    assert run_task(load_run(path, load_test=False)).name == "regress"
    # neither: classify
    assert run_task(load_run(runs["dense"], load_test=False)).name == "classify"
    # a record names the task and its settings
    config = yaml.safe_load((runs["detect"] / "config.yaml").read_text())
    assert run_task(load_run(runs["detect"], load_test=False)).nms_iou == config["task"]["nms_iou"]


def test_targets_that_do_not_fit_are_said_in_the_report(runs, tmp_path):
    import shutil

    path = tmp_path / "moved"
    shutil.copytree(runs["regress"], path)
    config = yaml.safe_load((path / "config.yaml").read_text())
    config["data"]["source"] = "scenes_segment"  # label maps for a regression network
    (path / "config.yaml").write_text(yaml.safe_dump(config))
    page = build_report(path, examples=1, max_test=200).read_text()
    assert "The test targets do not fit task &#x27;regress&#x27;" in page
    assert 'id="scatter"' not in page
    config["data"]["source"] = "digits"  # 8x8 images for a 48x48 network
    (path / "config.yaml").write_text(yaml.safe_dump(config))
    page = build_report(path, examples=1, max_test=200).read_text()
    assert "but the network takes (1, 48, 48)" in page and 'id="activations"' not in page


# ------------------------------------------------------------------ in a browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing "
                    "(apt-get install chromium)")
@pytest.mark.parametrize("width", [390, 1280])
def test_report_layout_in_chromium(runs, tmp_path, width):
    sync_api = pytest.importorskip("playwright.sync_api")
    page_path = build_report(runs["dense"], examples=2)
    html_text = page_path.read_text()
    # a long class name: the confusion matrix must keep its tick labels
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(page_path.as_uri())
            layout = page.evaluate("""() => {
                const sections = [...document.querySelectorAll('section')].map(s => {
                    const r = s.getBoundingClientRect();
                    return {id: s.id, left: r.left, right: r.right};
                });
                const images = [...document.images].map(im => {
                    const r = im.getBoundingClientRect();
                    const s = im.closest('section').getBoundingClientRect();
                    return {alt: im.alt, loaded: im.complete && im.naturalWidth > 0,
                            inside: r.left >= s.left - 1 && r.right <= s.right + 1};
                });
                return {scroll: document.documentElement.scrollWidth, sections, images};
            }""")
            shot = tmp_path / f"report-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    # nothing makes the page wider than the screen: wide tables scroll in their section
    assert layout["scroll"] <= width, layout["scroll"]
    assert all(s["right"] <= width + 1 for s in layout["sections"]), layout["sections"]
    assert layout["images"] and all(im["loaded"] and im["inside"] for im in layout["images"])
    assert len(layout["images"]) == html_text.count("<img ")
    picture = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert picture.shape[1] == width and picture.std() > 20  # drawn, not blank
