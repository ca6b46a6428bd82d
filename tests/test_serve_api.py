"""The viewer's JSON API over real HTTP: answers agree with cnnkit.inspect, bad requests get
4xx JSON, nothing outside the viewer is served, and the server keeps working."""

import base64
import http.client
import io
import json
import socket
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit.cli.main import build_parser
from cnnkit.data import load_dataset
from cnnkit.inspect import (capture, conv_filters, default_layers, gradient, receptive_field,
                            summary)
from cnnkit.inspect.plots import colorize
from cnnkit.serve import MAX_UPLOAD_BYTES, make_server
from cnnkit.runs import load_run_model
from cnnkit.train.api import train

GREY = {"name": "digits_viewer", "input": [1, 8, 8], "layers": [
    {"conv": {"filters": 6, "kernel": 3, "padding": "same", "activation": "relu"}},
    {"maxpool": 2},
    {"conv": {"filters": 8, "kernel": 3, "activation": "relu"}},
    "flatten", {"dense": 10}]}

COLOUR = {"name": "colours", "input": [3, 12, 10], "layers": [
    {"conv": {"filters": 4, "kernel": 3, "activation": "relu"}},
    {"maxpool": 2}, "flatten", {"dense": 3}]}

CONFIG = dict(epochs=4, lr=0.1, progress=False, threads=1, report=False)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def grey_run(tmp_path_factory):
    return train(GREY, "digits", CONFIG, runs_root=tmp_path_factory.mktemp("grey")).run_dir


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
    """A folder of 12x10 colour images, one class per dominant colour channel."""
    root = tmp_path_factory.mktemp("colour")
    g = np.random.default_rng(0)
    for label, name in enumerate(("red", "green", "blue")):
        (root / "images" / name).mkdir(parents=True)
        for k in range(24):
            pixels = g.integers(0, 90, size=(12, 10, 3))
            pixels[..., label] += 150
            Image.fromarray(pixels.astype("uint8")).save(root / "images" / name / f"{k}.png")
    return train(COLOUR, str(root / "images"), {**CONFIG, "batch_size": 16},
                 runs_root=root / "runs").run_dir


def _serve(run):
    server = make_server(run, port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def grey(grey_run):
    server, thread = _serve(grey_run)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def colour(colour_run):
    server, thread = _serve(colour_run)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def call(server, method, path, body=None, headers=None):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        kind = response.getheader("Content-Type", "")
        return response.status, json.loads(data) if kind.startswith("application/json") else data
    finally:
        conn.close()


def decode(encoded):
    raw = np.frombuffer(base64.b64decode(encoded["data"]), dtype=np.uint8)
    return raw.reshape(encoded["shape"])


def png_bytes(array_hwc):
    buffer = io.BytesIO()
    Image.fromarray(array_hwc).save(buffer, format="PNG")
    return buffer.getvalue()


# ------------------------------------------------------------------------------ answers

def test_info_describes_the_network_and_the_limits(grey, grey_run):
    status, info = call(grey, "GET", "/api/info")
    assert status == 200
    net = load_run_model(grey_run, "last")
    assert info["input_shape"] == [1, 8, 8] and info["classes"] == [str(i) for i in range(10)]
    assert [layer["name"] for layer in info["layers"]] == default_layers(net)
    table = summary(net)
    # the summary's first row is the input statistics the run fitted (not a layer to look into)
    assert table.rows[0]["name"] == "standardize"
    assert [layer["shape"] for layer in info["layers"]] == [list(r["output_shape"])
                                                            for r in table.rows[1:]]
    assert info["layers"][2]["field"] == [4, 4] and info["layers"][2]["jump"] == [2, 2]
    assert info["limits"]["max_upload_bytes"] == MAX_UPLOAD_BYTES == 2 * 1024 * 1024
    assert info["conv_layers"] == ["layers.0", "layers.3"]


def test_predict_from_pixels_agrees_with_the_network(grey, grey_run):
    net = load_run_model(grey_run, "last")
    x = load_dataset("digits", "test").x[7]
    status, answer = call(grey, "POST", "/api/predict", {"pixels": x.flatten().tolist()})
    assert status == 200
    with torch.no_grad():
        probs = torch.softmax(net(x[None]), dim=1)[0]
    assert np.allclose(answer["probabilities"], probs.numpy(), atol=1e-5)
    assert answer["predicted"] == int(probs.argmax()) and answer["label"] == str(int(probs.argmax()))
    acts = capture(net, x[None])
    assert [layer["name"] for layer in answer["layers"]] == list(acts)
    for layer in answer["layers"]:
        value = acts[layer["name"]][0]
        assert layer["shape"] == list(value.shape)
        assert layer["min"] == pytest.approx(float(value.min()), abs=1e-6)
        assert layer["max"] == pytest.approx(float(value.max()), abs=1e-6)
        scaled = (value - value.min()) / (value.max() - value.min()) * 255
        assert np.abs(decode(layer).astype(float) - scaled.reshape(decode(layer).shape).numpy()).max() <= 0.51
    seen = decode(answer["input"])
    assert np.array_equal(seen, np.round(x.numpy() * 255).astype(np.uint8))


def test_png_upload_and_example_give_the_same_answer(grey):
    test = load_dataset("digits", "test")
    pixels = np.round(test.x[3, 0].numpy() * 255).astype(np.uint8)
    status, by_png = call(grey, "POST", "/api/predict", png_bytes(pixels), {"Content-Type": "image/png"})
    assert status == 200
    status, by_example = call(grey, "POST", "/api/predict", {"example": 3})
    assert status == 200
    status, by_data = call(grey, "POST", "/api/predict",
                           {"data": base64.b64encode(pixels.tobytes()).decode()})
    assert np.allclose(by_png["probabilities"], by_example["probabilities"], atol=2e-3)
    assert by_png["probabilities"] == by_data["probabilities"]
    # an image of another size is resized to the network's input
    big = np.kron(pixels, np.ones((4, 4), dtype=np.uint8))
    status, resized = call(grey, "POST", "/api/predict", png_bytes(big), {"Content-Type": "image/png"})
    assert status == 200 and resized["input"]["shape"] == [1, 8, 8]


def test_receptive_field_is_the_inspect_one(grey, grey_run):
    net = load_run_model(grey_run, "last")
    for layer, unit in (("layers.3", [5, 0, 1]), ("layers.0", [0, 7, 7]), ("layers.5", [3])):
        status, answer = call(grey, "POST", "/api/receptive_field", {"layer": layer, "unit": unit})
        assert status == 200
        field = receptive_field(net, layer, tuple(unit))
        assert answer["lo"] == list(field.lo) and answer["hi"] == list(field.hi)
        assert tuple(map(tuple, answer["clipped"].values())) == field.clipped((8, 8))


def test_saliency_methods_and_unit_saliency(grey, grey_run):
    net = load_run_model(grey_run, "last")
    x = load_dataset("digits", "test").x[11]
    for method in ("gradient", "smoothgrad", "gradcam", "occlusion"):
        status, answer = call(grey, "POST", "/api/saliency", {"example": 11, "method": method})
        assert status == 200, answer
        assert answer["shape"] == [8, 8] and decode(answer).max() > 0
    status, answer = call(grey, "POST", "/api/saliency", {"example": 11, "method": "gradient"})
    expected = gradient(net, x[None])[0]
    assert answer["max"] == pytest.approx(float(expected.max()), rel=1e-4)
    assert np.abs(decode(answer) - expected.numpy() / float(expected.max()) * 255).max() <= 0.51
    # one unit's saliency lies inside its receptive field
    status, answer = call(grey, "POST", "/api/saliency",
                          {"example": 11, "layer": "layers.3", "unit": [2, 0, 0]})
    assert status == 200
    m = decode(answer)
    (top, left), (bottom, right) = receptive_field(net, "layers.3", (2, 0, 0)).clipped((8, 8))
    outside = m.copy()
    outside[top:bottom + 1, left:right + 1] = 0
    assert m.max() > 0 and outside.max() == 0


def test_filters_are_the_first_convolution(grey, grey_run):
    net = load_run_model(grey_run, "last")
    status, answer = call(grey, "GET", "/api/filters")
    assert status == 200 and answer["layer"] == "layers.0" and answer["count"] == 6
    tiles = np.frombuffer(base64.b64decode(answer["data"]), np.uint8).reshape(6, 3, 3, 3)
    w = conv_filters(net)[4, 0]
    limit = float(w.abs().max())
    assert np.array_equal(tiles[4], colorize(w, "gray", -limit, limit))
    status, deeper = call(grey, "GET", "/api/filters?layer=layers.3")
    assert status == 200 and deeper["per_channel"] and deeper["count"] == 8 * 6


def test_examples_cover_every_class_first(grey):
    status, answer = call(grey, "GET", "/api/examples?count=12")
    assert status == 200 and len(answer["examples"]) == 12
    test = load_dataset("digits", "test")
    first = answer["examples"][:10]
    assert sorted(e["label"] for e in first) == list(range(10))
    for e in answer["examples"]:
        assert e["label"] == int(test.y[e["index"]])
        assert np.array_equal(decode(e), np.round(test.x[e["index"]].numpy() * 255).astype(np.uint8))


def test_a_colour_run_of_another_size_works(colour, colour_run):
    status, info = call(colour, "GET", "/api/info")
    assert info["input_shape"] == [3, 12, 10] and info["classes"] == ["blue", "green", "red"]
    photo = np.zeros((36, 30, 3), np.uint8)
    photo[..., 0] = 220  # a red picture of another size
    status, answer = call(colour, "POST", "/api/predict", png_bytes(photo), {"Content-Type": "image/png"})
    assert status == 200, answer
    assert answer["label"] == "red"
    assert answer["input"]["shape"] == [3, 12, 10]
    assert decode(answer["input"])[0].min() == 220 and decode(answer["input"])[1].max() == 0
    assert [layer["shape"] for layer in answer["layers"]][:3] == [[4, 10, 8], [4, 10, 8], [4, 5, 4]]
    status, field = call(colour, "POST", "/api/receptive_field", {"layer": "layers.2", "unit": [0, 4, 3]})
    assert field["clipped"] == {"lo": [8, 6], "hi": [11, 9]}
    status, filters = call(colour, "GET", "/api/filters")
    assert filters["count"] == 4 and filters["tile"] == [3, 3] and not filters["per_channel"]
    status, sal = call(colour, "POST", "/api/saliency", {"png": base64.b64encode(png_bytes(photo)).decode(),
                                                       "method": "gradcam"})
    assert status == 200 and sal["shape"] == [12, 10]


# ------------------------------------------------------------------------------ refusals

def _is_error(status, answer, code, text=""):
    assert status == code, answer
    assert isinstance(answer, dict) and answer["status"] == code, answer
    assert text in answer["error"]
    assert "Traceback" not in answer["error"]


def test_bad_uploads_get_4xx_json(grey):
    big = b"\x89PNG" + b"\0" * (MAX_UPLOAD_BYTES + 10)
    _is_error(*call(grey, "POST", "/api/predict", big, {"Content-Type": "image/png"}), 413,
              "the limit is 2,097,152 bytes (2 MiB)")
    _is_error(*call(grey, "POST", "/api/predict", b"GIF89a not really", {"Content-Type": "image/gif"}),
              400, "not an image that can be read")
    _is_error(*call(grey, "POST", "/api/predict", b"", {"Content-Type": "image/png"}), 400, "empty")
    huge = io.BytesIO()
    Image.new("1", (5000, 5000)).save(huge, format="PNG")  # small file, 25 M pixels
    _is_error(*call(grey, "POST", "/api/predict", huge.getvalue(), {"Content-Type": "image/png"}),
              413, "at most 4,194,304 pixels (2048x2048)")
    _is_error(*call(grey, "POST", "/api/predict", b'{"pixels": [1, 2', {"Content-Type": "application/json"}),
              400, "not valid JSON")
    _is_error(*call(grey, "POST", "/api/predict", [1, 2, 3]), 400, "must be a JSON object")
    _is_error(*call(grey, "POST", "/api/predict", {"pixels": [0.5] * 10}), 400,
              "pixels must hold 64 numbers (1x8x8")
    _is_error(*call(grey, "POST", "/api/predict", {"pixels": ["a"] * 64}), 400, "pixels must be")
    _is_error(*call(grey, "POST", "/api/predict", {"pixels": [float("nan")] * 64}), 400, "finite")
    _is_error(*call(grey, "POST", "/api/predict", {"data": "***"}), 400, "not valid base64")
    _is_error(*call(grey, "POST", "/api/predict", {"example": 10 ** 6}), 400, "test-set index")
    _is_error(*call(grey, "POST", "/api/predict", {"pictures": []}), 400, "exactly one of")
    _is_error(*call(grey, "POST", "/api/predict", b"x=1", {"Content-Type": "text/plain"}), 415)
    _is_error(*call(grey, "POST", "/api/receptive_field", {"layer": "conv9", "unit": [0, 0, 0]}),
              400, "Layers: layers.0, layers.1, layers.2, layers.3, layers.4, layers.5, layers.6")
    _is_error(*call(grey, "POST", "/api/receptive_field", {"layer": "layers.3", "unit": [0, 9, 9]}),
              400, "outside layer 'layers.3'")
    _is_error(*call(grey, "POST", "/api/saliency", {"example": 0, "method": "magic"}), 400,
              "method must be one of")
    _is_error(*call(grey, "POST", "/api/saliency", {"example": 0, "target": 10}), 400,
              "class index from 0 to 9")
    _is_error(*call(grey, "GET", "/api/predict"), 405)
    _is_error(*call(grey, "DELETE", "/api/info"), 405)
    _is_error(*call(grey, "GET", "/api/examples?count=-1"), 400)


def _raw(server, request: bytes) -> tuple[int, dict]:
    """Send ``request`` as it is (``HOST`` in it becomes the server's host:port)."""
    host, port = server.server_address[:2]
    request = request.replace(b"HOST", f"{host}:{port}".encode())
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    if not data.startswith(b"HTTP/"):  # an unparsable request line is answered as HTTP/0.9
        body = json.loads(data)
        return body["status"], body
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize("path", [
    "/../cnnkit/serve/server.py", "/static/../server.py", "/static/../../train/run.py",
    "/%2e%2e/%2e%2e/etc/passwd", "/static/%2e%2e/viewer.py", "/static/..%2fviewer.py",
    "//etc/passwd", "/etc/passwd", "/static//etc/passwd", "/spec.yaml", "/checkpoints/best.json",
    "/static/", "/static/app.js/..", "/api/../static/app.js",
])
def test_paths_outside_the_viewer_are_not_found(grey, path):
    status, answer = _raw(grey, f"GET {path} HTTP/1.1\r\nHost: HOST\r\nConnection: close\r\n\r\n".encode())
    _is_error(status, answer, 404, "not found")


def test_absolute_url_and_garbage_requests(grey):
    status, answer = _raw(grey, b"GET http://127.0.0.1/../../etc/passwd HTTP/1.1\r\nHost: HOST\r\n"
                                b"Connection: close\r\n\r\n")
    _is_error(status, answer, 404)
    status, answer = _raw(grey, b"BLAH\r\n\r\n")
    assert status == 400 and answer["status"] == 400
    status, answer = _raw(grey, b"POST /api/predict HTTP/1.1\r\nHost: HOST\r\nContent-Type: "
                                b"application/json\r\nContent-Length: 99999999999\r\n\r\n{}")
    _is_error(status, answer, 413)
    status, answer = _raw(grey, b"POST /api/predict HTTP/1.1\r\nHost: HOST\r\nContent-Type: "
                                b"application/json\r\nConnection: close\r\n\r\n{}")
    _is_error(status, answer, 411)


def test_static_files_and_the_server_still_answers_after_all_that(grey):
    status, page = call(grey, "GET", "/")
    assert status == 200 and b'<canvas id="draw"' in page and b"/static/app.js" in page
    status, script = call(grey, "GET", "/static/app.js")
    assert status == 200 and b"/api/predict" in script
    # many bad requests, then good ones from several threads at once
    for _ in range(5):
        call(grey, "POST", "/api/predict", b"junk", {"Content-Type": "image/png"})
    results = []

    def ask(i):
        results.append(call(grey, "POST", "/api/predict", {"example": i % 4}))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8 and all(status == 200 for status, _ in results)
    by_example = {}
    for i, (_, answer) in enumerate(sorted(results, key=lambda r: r[1]["input"]["data"])):
        by_example.setdefault(answer["input"]["data"], answer["probabilities"])
        assert by_example[answer["input"]["data"]] == answer["probabilities"]
    assert call(grey, "GET", "/api/info")[0] == 200


def test_serve_listens_on_localhost_unless_told():
    args = build_parser().parse_args(["serve", "runs/x"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
