"""The viewer for every task and rank: the JSON answers (mask, boxes, label probabilities,
values, reconstruction, traces and slices of layers) agree with the task's own predictions,
and the page (Debian's Chromium driven by Playwright, skipped where either is missing)
draws them: a mask over the input with its opacity, boxes above a score, label bars,
values, the task's picture; traces for 1-D layers and slices of 3-D ones."""

import base64
import http.client
import json
import os
import threading

import numpy as np
import pytest
import torch

from cnnkit.serve import make_server
from cnnkit.serve.viewer import Viewer
from picture_runs import make_run

KINDS = ("segment", "detect", "multilabel", "regress", "reconstruct", "classify1d",
         "classify3d")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("viewer-runs")
    return {kind: make_run(root, kind, steps=3) for kind in KINDS}


@pytest.fixture(scope="module")
def viewers(runs):
    return {kind: Viewer(path, examples=4) for kind, path in runs.items()}


def test_segment_answer_is_the_tasks_mask(viewers):
    v = viewers["segment"]
    x = v.view.test.x[0]
    answer = v.predict(x, activations=False, example=0)
    mask = np.frombuffer(base64.b64decode(answer["mask"]["data"]), np.uint8)
    expected = v.task.predict(v.network(x[None]).detach())["mask"][0]
    assert answer["mask"]["shape"] == [48, 48]
    assert np.array_equal(mask.reshape(48, 48), expected.numpy())
    assert answer["picture"].startswith("data:image/png;base64,")
    assert v.info()["task"] == "segment" and v.info()["drawable"] is True


def test_detect_answer_lists_the_tasks_boxes(viewers):
    v = viewers["detect"]
    x = v.view.test.x[1]
    answer = v.predict(x, activations=False)
    found = v.task.predict(v.network(x[None]).detach())
    count = int(found["valid"][0].sum())
    assert len(answer["detections"]) == min(count, 50)
    for d, box, score in zip(answer["detections"], found["boxes"][0], found["scores"][0]):
        assert d["box"] == pytest.approx(box.tolist(), abs=1e-5)
        assert d["score"] == pytest.approx(float(score), abs=1e-5)
        assert d["label"] == v.view.class_name(d["class"])


def test_multilabel_regress_and_reconstruct_answers(viewers):
    v = viewers["multilabel"]
    x = v.view.test.x[2]
    answer = v.predict(x, activations=False)
    p = torch.sigmoid(v.network(x[None]).detach())[0]
    assert answer["label_probabilities"] == pytest.approx(p.tolist(), abs=1e-5)
    assert answer["labels_on"] == [i for i, q in enumerate(p.tolist()) if q >= 0.5]

    r = viewers["regress"]
    answer = r.predict(r.view.test.x[0], activations=False, example=0)
    assert answer["values"] == pytest.approx(r.network(r.view.test.x[:1]).detach()[0].tolist(),
                                             abs=1e-5)
    assert answer["true_values"] == pytest.approx(r.view.test.y[0].tolist())

    a = viewers["reconstruct"]
    answer = a.predict(a.view.test.x[0], activations=False)
    assert answer["reconstruction"]["shape"] == [8, 8, 3] and "picture" in answer


def test_1d_and_3d_layers_are_traces_and_slices(viewers):
    one = viewers["classify1d"]
    assert one.info()["drawable"] is False
    answer = one.predict(one.view.test.x[0])
    kinds = {layer["name"]: layer["kind"] for layer in answer["layers"]}
    assert kinds["layers.0"] == "traces" and kinds["layers.3"] == "vector"
    first = answer["layers"][0]
    assert first["shape"] == [6, 36] and first["shown"] == 6
    assert sum(answer["probabilities"]) == pytest.approx(1, abs=1e-4)
    examples = one.examples(2)["examples"]
    assert examples[0]["display"]["shape"][2] == 3 and examples[0]["class"]

    three = viewers["classify3d"]
    answer = three.predict(three.view.test.x[0])
    conv = answer["layers"][0]
    assert conv["kind"] == "maps" and conv["slice"] == [1, 3] and conv["volume"] == [4, 3, 15, 15]
    assert conv["shape"] == [4, 15, 15]
    assert three.filters()["picture"].startswith("data:image/png;base64,")


def test_non_image_networks_refuse_image_uploads(viewers):
    from cnnkit.serve.viewer import RequestError

    with pytest.raises(RequestError, match=r"this network takes \[1, 40\], not 2-D grey"):
        viewers["classify1d"].decode_image(b"\x89PNG")
    with pytest.raises(RequestError, match=r"data must hold 40 bytes \(1x40"):
        viewers["classify1d"].input_from_json({"data": base64.b64encode(b"\0" * 3).decode()})


# ------------------------------------------------------------------ in a browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
browser_only = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                  reason=f"{CHROMIUM} is missing (apt-get install chromium)")


@pytest.fixture(scope="module")
def servers(runs):
    started = {}
    for kind, path in runs.items():
        server = make_server(path, port=0, quiet=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started[kind] = server
    yield started
    for server in started.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM, headless=True,
            args=ARGS, viewport={"width": 1280, "height": 1000})
        yield context
        context.close()


def _post(server, path, body):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=json.dumps(body),
                     headers={"Content-Type": "application/json"})
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def _open(browser, server, errors):
    page = browser.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url)
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    return page


def _pick(page, index=0):
    before = int(page.evaluate("() => document.body.dataset.predictions || '0'"))
    page.locator("#examples canvas").nth(index).click()
    page.wait_for_function(f"() => Number(document.body.dataset.predictions) > {before}")
    return int(page.locator("#examples canvas").nth(index).get_attribute("data-index"))


def _data(page, key):
    return page.evaluate(f"() => document.body.dataset[{key!r}] || ''")


@browser_only
def test_segment_mask_over_the_input_with_its_opacity(servers, browser):
    errors = []
    page = _open(browser, servers["segment"], errors)
    assert _data(page, "blank") == "1"  # drawable: nothing is predicted on a blank canvas
    index = _pick(page)
    answer = _post(servers["segment"], "/api/predict", {"example": index, "activations": False})
    mask = np.frombuffer(base64.b64decode(answer["mask"]["data"]), np.uint8)
    coloured = int((mask != 0).sum())  # class 0 is the background: left clear
    assert _data(page, "mask").split(":")[0] == str(coloured)
    alpha = page.evaluate("""() => {
        const c = document.getElementById('task-overlay');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let on = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) on++;
        return on; }""")
    assert (alpha > 0) == (coloured > 0)
    page.locator("#opacity").fill("0")
    page.wait_for_function("""() => {
        const c = document.getElementById('task-overlay');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return false;
        return true; }""")
    assert page.locator("#task-panel").is_visible()
    assert page.evaluate("() => document.getElementById('picture').naturalWidth") > 100
    assert not errors, errors
    page.close()


@browser_only
def test_detect_boxes_above_the_score(servers, browser):
    errors = []
    page = _open(browser, servers["detect"], errors)
    index = _pick(page, 1)
    answer = _post(servers["detect"], "/api/predict", {"example": index, "activations": False})
    above = sum(d["score"] >= 0.3 for d in answer["detections"])
    assert _data(page, "boxes") == str(above)
    page.locator("#score").fill("0")
    page.wait_for_function(f"() => document.body.dataset.boxes === "
                           f"'{len(answer['detections'])}'")
    assert page.locator("#predicted").inner_text().startswith(f": {len(answer['detections'])} box")
    assert not errors, errors
    page.close()


@browser_only
def test_multilabel_and_regress_show_their_answers(servers, browser):
    errors = []
    page = _open(browser, servers["multilabel"], errors)
    index = _pick(page)
    answer = _post(servers["multilabel"], "/api/predict", {"example": index,
                                                           "activations": False})
    assert _data(page, "labels") == ",".join(map(str, answer["labels_on"]))
    names = [str(k) for k in answer["true_labels"]]  # scenes_multilabel's labels are digits
    assert names and page.locator("#predicted").inner_text().endswith(f"; true: {', '.join(names)})")
    values = [float(v) for v in page.locator("#bars .value").all_inner_texts()]
    assert values == pytest.approx(answer["label_probabilities"], abs=1e-3)
    page.close()

    page = _open(browser, servers["regress"], errors)
    index = _pick(page)
    answer = _post(servers["regress"], "/api/predict", {"example": index, "activations": False})
    assert _data(page, "values") == ",".join(f"{v:.4f}" for v in answer["values"])
    assert page.locator("#values tr").count() == 1 + 4  # a head and cx, cy, w, h
    assert page.locator("#values").inner_text().split("\n")[0].split("\t") == \
        ["output", "predicted", "true"]
    assert not errors, errors
    page.close()


@browser_only
@pytest.mark.parametrize("width", [390, 1280])
def test_1d_network_shows_traces_and_picks_an_example(servers, browser, tmp_path, width):
    errors = []
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(servers["classify1d"].url)
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.locator("#drawing").is_hidden() and page.locator("#pick-hint").is_visible()
    assert int(_data(page, "predictions")) >= 1  # the first example, predicted at once
    assert page.locator(".layer[data-layer='layers.0'] canvas.trace").count() == 6
    ink = page.evaluate("""() => {
        const c = document.querySelector(".layer[data-layer='layers.0'] canvas.trace");
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let dark = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 150) dark++;
        return dark; }""")
    assert ink > 20
    values = [float(v) for v in page.locator("#bars .value").all_inner_texts()]
    assert sum(values) == pytest.approx(1, abs=0.01)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(tmp_path / f"viewer-1d-{width}.png"), full_page=True)
    assert not errors, errors
    page.close()


@browser_only
def test_3d_network_shows_slices(servers, browser):
    errors = []
    page = _open(browser, servers["classify3d"], errors)
    title = page.locator(".layer[data-layer='layers.0'] h3").inner_text()
    assert title == "layers.0 conv: 4\u00d73\u00d715\u00d715 (depth slice 1 of 3)"
    assert page.locator(".layer[data-layer='layers.0'] canvas").count() == 4
    assert page.locator("#filters-picture").is_visible()
    assert not errors, errors
    page.close()
