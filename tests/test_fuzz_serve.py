"""Fuzzing the viewer: any JSON request gets a 2xx/4xx answer (never a 500), and any bytes
sent to the server get an HTTP answer or a clean close, and the server goes on.

:func:`check_api` runs one request through the routes in this process (the JSON API:
keys the API knows, values of every JSON type, huge and deep ones); :func:`check_raw`
sends raw bytes over a socket to a real server (request lines, headers and framing made
of the pieces that break parsers). In the normal test run each runs a fixed,
derandomised set of examples in a few seconds; ``make fuzz`` runs them for longer with
fresh randomness (``CNNKIT_FUZZ_EXAMPLES``), and, where atheris is installed,
coverage-guided through :func:`atheris_target` (tests/hostile/fuzz_atheris.py).

A failure found here becomes an entry of tests/hostile/viewer/ once fixed.
"""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = int(os.environ.get("CNNKIT_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=EXAMPLES or 100, derandomize=not EXAMPLES, deadline=None,
                database=None, suppress_health_check=list(HealthCheck), print_blob=True)
ANSWERS = {200, 400, 404, 405, 408, 411, 413, 415, 421, 431, 503, 505}

GREY = {"name": "fuzz_viewer", "input": [1, 8, 8], "layers": [
    {"conv": {"filters": 4, "kernel": 3, "padding": "same", "activation": "relu"}},
    {"maxpool": 2}, "flatten", {"dense": 10}]}

_STATE: dict = {}


def viewer_api():
    """One trained digits run and its :class:`Api` per process (training takes seconds)."""
    if "api" not in _STATE:
        import tempfile

        import torch

        from cnnkit.serve.api import Api
        from cnnkit.serve.budget import MemoryBudget
        from cnnkit.serve.viewer import Viewer
        from cnnkit.train.api import train

        torch.set_num_threads(1)
        run = train(GREY, "digits", dict(epochs=1, progress=False, threads=1, report=False),
                    runs_root=tempfile.mkdtemp(prefix="cnnkit-fuzz-")).run_dir
        _STATE["run"] = run
        _STATE["api"] = Api(Viewer(run, budget=MemoryBudget(64 * 2 ** 20, wait=0.5)))
    return _STATE["api"]


def check_api(method: str, path: str, body: bytes, kind: str = "application/json") -> None:
    """The routes answer ``body`` with a known status and a one-line JSON error."""
    from cnnkit.serve.api import Request

    response = viewer_api().handle(Request(method, path, "", {"content-type": kind}, body))
    assert response.status in ANSWERS, (response.status, response.body[:500])
    if response.status != 200:
        answer = json.loads(response.body)
        assert answer["status"] == response.status
        assert "\n" not in answer["error"] and len(answer["error"]) < 1000, answer


# ------------------------------------------------------------------------ JSON API

KEYS = ["pixels", "data", "png", "example", "shape", "activations", "layer", "unit", "method",
        "target", "count", "x"]
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 70),
    st.integers(min_value=-(10 ** 40), max_value=10 ** 40), st.floats(),
    st.sampled_from(["gradient", "smoothgrad", "gradcam", "occlusion", "layers.0", "layers[1]",
                     "layers.3", "AAAA", "iVBORw0KGgo=", "", "\x00", "é", "****", "a" * 300]),
    st.text(max_size=10))
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=20)
PIXELS = st.one_of(
    st.lists(st.floats(), min_size=64, max_size=64),
    st.lists(st.lists(st.lists(st.floats(0, 1), min_size=8, max_size=8), min_size=8,
                      max_size=8), min_size=1, max_size=1),
    st.binary(min_size=64, max_size=64).map(lambda b: __import__("base64").b64encode(b).decode()))
REQUESTS = st.dictionaries(st.sampled_from(KEYS), st.one_of(VALUES, PIXELS), max_size=5)
PATHS = st.sampled_from(["/api/predict", "/api/saliency", "/api/receptive_field"])


@FUZZ
@given(PATHS, REQUESTS)
def test_json_requests(path, request):
    check_api("POST", path, json.dumps(request).encode())


@FUZZ
@given(PATHS, st.one_of(st.binary(max_size=200),
                        st.lists(st.sampled_from(['{', '}', '[', ']', '"pixels"', ':', ',', '1',
                                                  '1e999', 'NaN', '-Infinity', '"\\ud800"',
                                                  '"\\u0000"', 'null', '9' * 30, ' ']),
                                 max_size=50).map(lambda t: "".join(t).encode())),
       st.sampled_from(["application/json", "image/png", "application/octet-stream",
                        "text/plain", ""]))
def test_any_body(path, body, kind):
    check_api("POST", path, body, kind)


@FUZZ
@given(st.sampled_from(["/api/examples", "/api/filters", "/api/info", "/api/nope"]),
       st.text(max_size=40))
def test_get_queries(path, query):
    from urllib.parse import quote

    from cnnkit.serve.api import Request

    for q in (query, f"count={quote(query)}", f"layer={quote(query)}"):
        response = viewer_api().handle(Request("GET", path, q, {}, b""))
        assert response.status in ANSWERS, (response.status, response.body[:300])


# ------------------------------------------------------------------------ raw HTTP

@pytest.fixture(scope="module")
def live():
    from cnnkit.serve import ServerLimits, make_server

    viewer_api()
    server = make_server(_STATE["run"], port=0, quiet=True,
                         limits=ServerLimits(request_timeout=0.5, idle_timeout=0.5))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def check_raw(address, data: bytes) -> None:
    """Bytes sent to the server get an HTTP answer with a known status, or a close."""
    with socket.create_connection(address, timeout=10) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pytest.fail(f"the server reset the connection for {data[:200]!r}")
    if received:
        assert received.startswith(b"HTTP/1.1 "), received[:200]
        status = int(received.split(b" ", 2)[1])
        assert status in ANSWERS | {100}, received[:300]


PIECES = ["GET", "POST", "HEAD", "PUT", "get", " ", "  ", "/", "/api/predict", "/api/info",
          "/static/app.js", "?count=3", "%00", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1x",
          "\r\n", "\n", "\r", "Host: {host}", "Host: evil", "Host:", "Content-Length: 2",
          "Content-Length: 99999999", "Content-Length: -1", "Content-Length: 0x10",
          "Transfer-Encoding: chunked", "Expect: 100-continue", "Connection: close",
          "Connection: keep-alive", "Content-Type: application/json", "Content-Type: image/png",
          ": x", "X: \x00", "{}", '{"example": 1}', "\x89PNG\r\n\x1a\n", "\xff", "é"]


@FUZZ
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_raw_requests(live, pieces):
    host = "{}:{}".format(*live.server_address[:2])
    data = "".join(pieces).replace("{host}", host).encode("utf-8", "surrogatepass")
    check_raw(live.server_address[:2], data)


def test_the_server_answers_after_the_fuzzing(live):
    import http.client

    conn = http.client.HTTPConnection(*live.server_address[:2], timeout=10)
    conn.request("POST", "/api/predict", body=b'{"example": 2}',
                 headers={"Content-Type": "application/json"})
    assert conn.getresponse().status == 200
    conn.close()


# ------------------------------------------------------------------------ atheris

_NAMES = ["gradient", "smoothgrad", "gradcam", "occlusion", "layers.0", "layers[1]",
          "layers.3", "", "\x00", "é", "AAAA", "iVBORw0KGgo="]


def structured(data: bytes) -> dict:
    """A JSON request decoded from bytes (so that a byte-level fuzzer reaches the routes
    behind the JSON parser): each value's first byte picks its type, the next its content."""
    import base64
    import struct

    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        chunk = data[pos:pos + n]
        pos += n
        return chunk.ljust(n, b"\0")

    def value(depth: int):
        kind = take(1)[0] % (8 if depth < 4 else 6)
        if kind == 0:
            return None if take(1)[0] % 2 else bool(take(1)[0] % 2)
        if kind == 1:
            return take(1)[0] - 3
        if kind == 2:
            return (-1) ** take(1)[0] * 10 ** (take(1)[0] % 40)
        if kind == 3:
            return struct.unpack("<d", take(8))[0]
        if kind == 4:
            return _NAMES[take(1)[0] % len(_NAMES)]
        if kind == 5:
            return base64.b64encode(take(take(1)[0] % 80)).decode()
        if kind == 6:
            return [value(depth + 1) for _ in range(take(1)[0] % 5)]
        return {KEYS[take(1)[0] % len(KEYS)]: value(depth + 1) for _ in range(take(1)[0] % 4)}

    return {KEYS[take(1)[0] % len(KEYS)]: value(1) for _ in range(take(1)[0] % 5)}


def atheris_target(data: bytes) -> None:
    """One coverage-guided input: the first byte picks the route and whether the rest is
    the body as it is or :func:`structured` JSON."""
    if not data:
        return
    path = ("/api/predict", "/api/saliency", "/api/receptive_field")[data[0] % 3]
    body = data[1:] if data[0] & 4 else json.dumps(structured(data[1:])).encode()
    check_api("POST", path, body)
