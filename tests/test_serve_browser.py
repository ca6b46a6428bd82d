"""End to end: `cnnkit serve` in a subprocess, Debian's Chromium driven by Playwright.

A person's session: open the page, draw a stroke, watch the prediction and the maps
change, click a unit and see its receptive field, drop bad files and see the errors; and
the server refuses bad uploads and paths outside the viewer, and keeps answering.
Skipped only where /usr/bin/chromium is missing (CI installs it: .ci/run).
"""

import http.client
import json
import os
import re
import subprocess
import sys
import time

import pytest
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"{CHROMIUM} is missing (apt-get install chromium)")

SPEC = """
name: mnist_viewer
input: [1, 28, 28]
layers:
  - conv: {filters: 6, kernel: 5, padding: same, activation: relu}
  - maxpool: 2
  - conv: {filters: 12, kernel: 5, activation: relu}
  - maxpool: 2
  - flatten
  - dense: {units: 32, activation: relu}
  - dense: 10
loss: softmax_cross_entropy
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from cnnkit.train.api import train

    root = tmp_path_factory.mktemp("browser")
    result = train(SPEC, "mnist5k", dict(epochs=3, lr=0.05, progress=False, threads=1,
                                         report=False), runs_root=root)
    return result.run_dir


@pytest.fixture(scope="module")
def server(run, tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "stderr.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "cnnkit", "serve", str(run),
                                 "--port", "0", "--quiet"], stdout=subprocess.PIPE,
                                stderr=err, text=True, env=env)
    # "weights: last (...)", then "serving RUN at http://127.0.0.1:PORT/ (Ctrl-C stops)"
    for _ in range(5):
        line = proc.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:(\d+)/)", line)
        if match or not line:
            break
    if not match:
        proc.kill()
        pytest.fail(f"cnnkit serve did not start: {line!r} {log.read_text()}")
    yield {"url": match[1], "port": int(match[2]), "proc": proc, "log": log}
    proc.terminate()
    proc.wait(10)


def request(server, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, response.getheader("Content-Type", ""), data
    finally:
        conn.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user-data dir
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1280, "height": 1000})
        yield context
        context.close()


def _dataset(page, key):
    return page.evaluate(f"() => document.body.dataset[{key!r}] || ''")


def test_draw_predict_click_a_unit(server, browser, run, tmp_path):
    from cnnkit.inspect import receptive_field
    from cnnkit.runs import load_run_model

    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server["url"])
    # Waits are arrow functions: the page's Content-Security-Policy forbids eval of strings.
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.locator("#title").inner_text().startswith("mnist_viewer")
    assert page.locator("#filters canvas").count() == 6
    # a blank canvas shows no prediction: no label, no bar, no maps
    assert _dataset(page, "blank") == "1" and _dataset(page, "predicted") == ""
    assert int(_dataset(page, "predictions") or 0) == 0
    assert page.locator("#predicted").inner_text() == ""
    assert page.locator("#blank").is_visible()
    assert page.locator("#bars .bar").count() == 0 or not any(
        page.locator("#bars .value").all_inner_texts())
    blank_maps = _dataset(page, "maps")
    count = int(_dataset(page, "predictions") or 0)

    # a "7": a bar at the top and a diagonal down, drawn with the mouse
    box = page.locator("#draw").bounding_box()

    def at(u, v):
        return box["x"] + u * box["width"], box["y"] + v * box["height"]

    page.mouse.move(*at(0.25, 0.22))
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(*at(0.25 + 0.05 * k, 0.22))
    for k in range(1, 13):
        page.mouse.move(*at(0.75 - 0.03 * k, 0.22 + 0.055 * k))
    page.mouse.up()
    page.wait_for_function(
        f"() => document.body.dataset.maps !== {blank_maps!r} && "
        f"Number(document.body.dataset.predictions) > {count + 1}")
    time.sleep(0.3)  # let the last in-flight prediction land
    page.wait_for_function("() => !document.body.dataset.busy")
    # what the network saw is the stroke, not a blank image
    seen = page.evaluate("""() => {
        const c = document.getElementById('seen');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let lit = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 128) lit++;
        return [c.width, c.height, lit]; }""")
    assert seen[:2] == [28, 28] and 20 < seen[2] < 400
    assert page.locator("#bars .bar").count() == 10
    assert page.locator(".layer").count() == 10  # conv relu pool conv relu pool flatten dense relu dense
    assert page.locator(".layer[data-layer='layers.2'] h3").inner_text() == "layers.2 maxpool: 6\u00d714\u00d714"
    assert page.locator(".layer[data-layer='layers.2'] canvas").count() == 6
    assert page.locator("#blank").is_hidden()
    values = [float(v) for v in page.locator("#bars .value").all_inner_texts()]
    assert sum(values) == pytest.approx(1, abs=0.01)
    top = page.locator("#bars .bar.top .name").inner_text()
    assert top == _dataset(page, "predicted")
    assert page.locator("#predicted").inner_text().startswith(f": {top} (p = ")

    # click unit (channel 2, row 4, column 6) of layers.3 (12 maps of 10x10)
    target = page.locator(".layer[data-layer='layers.3'] canvas").nth(2)
    size = target.bounding_box()
    target.click(position={"x": (6 + 0.5) / 10 * size["width"], "y": (4 + 0.5) / 10 * size["height"]})
    page.wait_for_function("() => (document.body.dataset.field || '').startsWith('layers.3:2,4,6:')")
    field = receptive_field(load_run_model(run, "last"), "layers.3", (2, 4, 6))
    (top_, left), (bottom, right) = field.clipped((28, 28))
    assert _dataset(page, "field") == f"layers.3:2,4,6:{top_},{left}-{bottom},{right}"
    caption = page.locator("#field-caption").inner_text()
    assert f"rows {top_}\u2013{bottom}, columns {left}\u2013{right}" in caption
    assert "14\u00d714 field" in caption
    # the box is drawn on the overlay: red inside, transparent outside
    drawn = page.evaluate("""([t, l, b, r]) => {
        const c = document.getElementById('overlay');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const s = c.width / 28;
        const px = (y, x) => { const i = 4 * (Math.floor(y * s) * c.width + Math.floor(x * s)); return [d[i], d[i + 3]]; };
        return {edge: px(t + 0.02, (l + r + 1) / 2), inside: px((t + b + 1) / 2, (l + r + 1) / 2),
                outside: px(b + 2, r + 2)}; }""", [top_, left, bottom, right])
    assert drawn["edge"][0] > 200 and drawn["edge"][1] > 200  # the red outline
    assert 0 < drawn["inside"][1] < 120  # a light tint inside
    assert drawn["outside"][1] == 0
    page.wait_for_function("() => document.getElementById('saliency-caption').textContent"
                           ".includes('of layers.3 unit (2, 4, 6)')")
    assert page.locator(".layer[data-layer='layers.3'] canvas.selected").count() == 1

    shot = tmp_path / "viewer.png"
    page.screenshot(path=str(shot), full_page=True)
    with Image.open(shot) as image:
        assert image.size[0] == 1280 and image.size[1] > 1000
    print(f"screenshot: {shot}")
    # back to the class: the box goes, the saliency explains the prediction again
    page.locator("#unselect").click()
    page.wait_for_function("() => document.getElementById('saliency-caption').textContent"
                           " === 'gradient of the predicted class'")
    assert _dataset(page, "field") == ""
    assert page.locator(".layer canvas.selected").count() == 0
    # Clear: the canvas is blank again, and so is the prediction
    page.locator("#clear").click()
    page.wait_for_function("() => document.body.dataset.blank === '1'")
    assert page.locator("#predicted").inner_text() == "" and _dataset(page, "predicted") == ""
    assert not any(page.locator("#bars .value").all_inner_texts())
    assert not errors, errors
    page.close()


def test_the_page_shows_the_servers_errors_and_recovers(server, browser):
    page = browser.new_page()
    page.goto(server["url"])
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.locator("#error").is_hidden()
    page.set_input_files("#file", files=[{"name": "big.png", "mimeType": "image/png",
                                          "buffer": b"\x89PNG" + b"\0" * (3 * 1024 * 1024)}])
    page.wait_for_selector("#error:not([hidden])")
    assert page.locator("#error").inner_text().startswith("Error 413: the upload is 3,145,732 bytes")
    page.set_input_files("#file", files=[{"name": "notes.png", "mimeType": "image/png",
                                          "buffer": b"these are words"}])
    page.wait_for_function("() => document.getElementById('error').textContent.startsWith('Error 400')")
    assert "not an image that can be read" in page.locator("#error").inner_text()
    # a test example afterwards: the error goes away and the prediction updates
    before = int(_dataset(page, "predictions"))
    page.locator("#examples canvas").first.click()
    page.wait_for_function(f"() => Number(document.body.dataset.predictions) > {before}")
    assert page.locator("#error").is_hidden()
    page.close()


@pytest.mark.parametrize("path", ["/../spec.yaml", "/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd",
                                  "/static/../server.py", "/static/%2e%2e%2fviewer.py",
                                  "/static//etc/passwd", "/checkpoints/best.json"])
def test_traversal_paths_are_refused(server, path):
    status, kind, body = request(server, "GET", path)
    assert status == 404 and kind.startswith("application/json")
    assert json.loads(body) == {"error": "not found.", "status": 404}


def test_bad_uploads_then_the_server_still_answers(server):
    status, _, body = request(server, "POST", "/api/predict", b"\0" * (2 * 1024 * 1024 + 1),
                              {"Content-Type": "image/png"})
    assert status == 413 and json.loads(body)["status"] == 413
    status, _, body = request(server, "POST", "/api/predict", b"not an image",
                              {"Content-Type": "image/jpeg"})
    assert status == 400 and "not an image" in json.loads(body)["error"]
    status, _, body = request(server, "POST", "/api/predict", b'{"pixels": [0.1, 0.2]',
                              {"Content-Type": "application/json"})
    assert status == 400 and "not valid JSON" in json.loads(body)["error"]
    status, _, body = request(server, "POST", "/api/predict", b'{"pixels": {"a": 1}}',
                              {"Content-Type": "application/json"})
    assert status == 400 and json.loads(body)["error"].startswith("pixels must")
    status, _, body = request(server, "POST", "/api/saliency", b'{"example": 0, "layer": "nope", "unit": [0]}',
                              {"Content-Type": "application/json"})
    assert status == 400 and "Layers: layers.0" in json.loads(body)["error"]
    # still serving: the page, the API, and a real prediction
    assert request(server, "GET", "/")[0] == 200
    status, _, body = request(server, "POST", "/api/predict", b'{"example": 1}',
                              {"Content-Type": "application/json"})
    assert status == 200 and len(json.loads(body)["probabilities"]) == 10
    assert server["proc"].poll() is None
    assert "Traceback" not in server["log"].read_text()
