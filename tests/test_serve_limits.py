"""The viewer's server under load and hostile clients: excess load is answered 503 with
Retry-After (never a reset connection), memory is reserved from a budget before it is
used, images are sized from their headers, slow clients meet deadlines, and only this
server's names are accepted as Host."""

import base64
import http.client
import io
import json
import select
import socket
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit._validation import ArgumentError
from cnnkit.serve import MemoryBudget, ServerLimits, Viewer, ViewerServer, make_server
from cnnkit.serve.budget import Busy, OverBudget
from cnnkit.serve.viewer import RequestError, parse_json
from cnnkit.train.api import train

GREY = {"name": "limits_viewer", "input": [1, 8, 8], "layers": [
    {"conv": {"filters": 6, "kernel": 3, "padding": "same", "activation": "relu"}},
    {"maxpool": 2}, "flatten", {"dense": 10}]}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train(GREY, "digits", dict(epochs=1, lr=0.1, progress=False, threads=1, report=False),
                 runs_root=tmp_path_factory.mktemp("limits")).run_dir


class Serving:
    """A server on a free port in a thread, for one test."""

    def __init__(self, run, **kw):
        self.server = make_server(run, port=0, quiet=True, **kw)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.address = self.server.server_address[:2]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def post(address, path, body, kind="application/json", timeout=30, host=None):
    conn = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        headers = {"Content-Type": kind}
        if host is not None:
            conn.putrequest("POST", path, skip_host=True)
            conn.putheader("Host", host)
            for k, v in {**headers, "Content-Length": str(len(body))}.items():
                conn.putheader(k, v)
            conn.endheaders(body)
        else:
            conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        conn.close()


def png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


EXAMPLE = json.dumps({"example": 1}).encode()


# ------------------------------------------------------------------------ excess load

def test_a_full_queue_answers_503_with_retry_after(run):
    """Requests past ``queue`` get 503 + Retry-After at once, the admitted ones 200."""
    with Serving(run, limits=ServerLimits(workers=1, queue=2)) as s:
        viewer = s.server.viewer
        results = []
        viewer.lock.acquire()  # the model is busy: admitted requests wait
        try:
            threads = [threading.Thread(target=lambda: results.append(
                post(s.address, "/api/predict", EXAMPLE))) for _ in range(6)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 10
            while sum(r[0] == 503 for r in results) < 4 and time.monotonic() < deadline:
                time.sleep(0.02)
            refused = [r for r in results if r[0] == 503]
            assert len(refused) == 4 and len(results) == 4
        finally:
            viewer.lock.release()
        for t in threads:
            t.join(30)
        statuses = sorted(r[0] for r in results)
        assert statuses == [200, 200, 503, 503, 503, 503]
        for status, headers, answer in refused:
            assert headers["Retry-After"] == "1" and answer["status"] == 503
            assert answer["error"].startswith("the viewer is busy (requests from other clients")
        assert s.server.stats["busy"] == 4


def test_many_concurrent_predictions_get_answers_not_resets(run):
    """100 clients at once (each a new connection): every one gets an HTTP answer, 200 or
    503 with Retry-After; before, 12-46 % saw ConnectionResetError."""
    with Serving(run, limits=ServerLimits(queue=16)) as s:
        outcomes = []
        gate = threading.Event()

        def client():
            gate.wait()
            try:
                status, headers, _ = post(s.address, "/api/predict", EXAMPLE)
                outcomes.append((status, headers.get("Retry-After")))
            except OSError as error:
                outcomes.append((type(error).__name__, None))

        threads = [threading.Thread(target=client) for _ in range(100)]
        for t in threads:
            t.start()
        gate.set()
        for t in threads:
            t.join(60)
        assert len(outcomes) == 100
        errors = [o for o in outcomes if not isinstance(o[0], int)]
        assert not errors, errors
        assert {status for status, _ in outcomes} <= {200, 503}
        assert all(retry == "1" for status, retry in outcomes if status == 503)
        assert sum(status == 200 for status, _ in outcomes) >= 16


def test_connections_past_the_limit_get_503(run):
    with Serving(run, limits=ServerLimits(connections=3)) as s:
        idle = [socket.create_connection(s.address) for _ in range(3)]
        try:
            time.sleep(0.2)
            status, headers, answer = post(s.address, "/api/predict", EXAMPLE)
            assert status == 503 and headers["Retry-After"] == "1"
            assert "3 connections open, its most" in answer["error"]
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.2)
        assert post(s.address, "/api/predict", EXAMPLE)[0] == 200


def test_listen_backlog_and_limits_are_checked():
    assert ServerLimits().backlog >= 128
    with pytest.raises(ArgumentError, match=r"workers must be a positive int\. Received: "
                                            r"workers=0\."):
        ServerLimits(workers=0)
    with pytest.raises(ArgumentError, match=r"memory_budget must be at least 16 MiB"):
        ServerLimits(memory_budget=2 ** 20)
    with pytest.raises(ArgumentError, match=r"request_timeout must be a positive number"):
        ServerLimits(request_timeout=0)


# ------------------------------------------------------------------------ memory

def test_memory_budget_waits_then_refuses():
    budget = MemoryBudget(4 * 2 ** 20, wait=0.1)
    with pytest.raises(OverBudget, match=r"an image needs 5\.0 MiB of memory; the viewer's "
                                         r"memory budget is 4 MiB"):
        budget.acquire(5 * 2 ** 20, "an image")
    budget.acquire(3 * 2 ** 20, "a body")
    started = time.monotonic()
    with pytest.raises(Busy, match=r"the viewer is busy: an image needs 2\.0 MiB"):
        budget.acquire(2 * 2 ** 20, "an image")
    assert time.monotonic() - started >= 0.09
    # released by another thread while waiting: taken
    threading.Timer(0.05, budget.release, args=(3 * 2 ** 20,)).start()
    budget.acquire(2 * 2 ** 20, "an image", timeout=5)
    assert budget.free == 2 * 2 ** 20 and budget.peak == 3 * 2 ** 20


def test_decoding_reserves_from_the_budget(run):
    viewer = Viewer(run, budget=MemoryBudget(16 * 2 ** 20, wait=0.1))
    big = png(np.zeros((1024, 1024, 4), np.uint8))  # 1 M pixels: 16 MiB to decode
    small = png(np.zeros((512, 512), np.uint8))
    x = viewer.decode_image(small)
    assert x.shape == (1, 8, 8) and viewer.budget.peak == 512 * 512 * 16
    viewer.budget.acquire(8 * 2 ** 20, "another request")
    with pytest.raises(RequestError) as busy:
        viewer.decode_image(big)
    assert busy.value.status == 503 and busy.value.headers == {"Retry-After": "1"}
    assert "decoding the image needs 16.0 MiB" in busy.value.message
    viewer.budget.release(8 * 2 ** 20)
    assert viewer.decode_image(big).shape == (1, 8, 8)
    viewer.budget = MemoryBudget(8 * 2 ** 20)
    with pytest.raises(RequestError) as over:
        viewer.decode_image(big)
    assert over.value.status == 413
    assert over.value.message == ("decoding the image needs 16.0 MiB of memory; the viewer's "
                                  "memory budget is 8 MiB. Send a smaller request.")


def test_the_pixel_count_is_read_from_the_header_before_decoding(run, monkeypatch):
    """A 65 KB PNG of 4096x4096 zeros cost ~260 MB to decode before; now it is refused
    from its header, and nothing is decoded."""
    from PIL import ImageFile

    viewer = Viewer(run)
    bomb = png(np.zeros((4096, 4096, 4), np.uint8))
    assert len(bomb) < 70_000
    loaded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load",
                        lambda self: loaded.append(self.size) or Image.Image.load(self))
    with pytest.raises(RequestError) as info:
        viewer.decode_image(bomb)
    assert info.value.status == 413 and not loaded and viewer.budget.peak == 0
    assert info.value.message.startswith("image of 4096x4096 pixels is too large: at most "
                                         "4,194,304 pixels (2048x2048)")


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(run):
    viewer = Viewer(run)
    photo = Image.new("L", (8000, 6000))  # 48 M pixels
    photo.paste(255, (0, 0, 4000, 3000))
    jpeg, as_png = io.BytesIO(), io.BytesIO()
    photo.save(jpeg, format="JPEG", quality=30)
    x = viewer.decode_image(jpeg.getvalue())
    assert x.shape == (1, 8, 8) and x[0, 0, 0] > 0.9 and x[0, 7, 7] < 0.1
    assert viewer.budget.peak == 1000 * 750 * 16  # decoded at 1/8 scale
    # the same picture as a PNG is refused: PNGs cannot be decoded at a smaller scale
    photo.save(as_png, format="PNG")
    with pytest.raises(RequestError) as info:
        viewer.decode_image(as_png.getvalue())
    assert info.value.status == 413


def test_transparent_images_are_shown_over_black(run):
    viewer = Viewer(run)
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = 255
    rgba[:4, :, 3] = 0  # top half transparent
    rgba[4:6, :, 3] = 128
    x = viewer.decode_image(png(rgba))[0]
    assert torch.all(x[:4] == 0)
    assert torch.allclose(x[4:6], torch.full((2, 8), 200 * 128 / 255 / 255), atol=1 / 255)
    assert torch.all(x[6:] == 200 / 255)


def test_json_parsing_checks_depth_and_size_before_parsing():
    # 33 levels: the object and 32 lists; the brackets in the strings do not count
    deep = b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "b": ' + b"[" * 32 + b"]" * 32 + b"}"
    with pytest.raises(RequestError, match=r"nested deeper than 32 levels"):
        parse_json(deep)
    shallow = b'{"a": "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "b": ' + b"[" * 31 + b"]" * 31 + b"}"
    assert parse_json(shallow)["a"].startswith('"[[')
    with pytest.raises(RequestError, match=r"the JSON has 41 brackets; a request to this viewer "
                                           r"has at most 40 lists and objects"):
        parse_json(b"[" + b"[]," * 39 + b"[]]", max_containers=40)
    budget = MemoryBudget(2 ** 20)
    with pytest.raises(RequestError, match=r"parsing the JSON needs 2\.4 MiB of memory"):
        parse_json(b'{"a": "' + b"x" * 100_000 + b'"}', budget)


def test_json_depth_agrees_with_the_parsed_value():
    """The byte-level depth count against the depth of what json.loads makes."""
    import random

    from cnnkit.serve.viewer import MAX_JSON_DEPTH, _check_depth

    def depth(v):
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    rng = random.Random(0)
    leaves = ["a\\", "[", '\\"[{', '"', "x]", 1, None, "\\\\[[", "é[", 2.5, "]]}}"]

    def make(level, target):
        """A value whose deepest chain has ``target - level`` containers, with decoys."""
        if level >= target:
            return rng.choice(leaves)
        extra = [make(level + 1, min(target, level + rng.randint(1, 3)))
                 for _ in range(rng.randint(0, 2))]
        deepest = make(level + 1, target)
        items = extra + [deepest]
        rng.shuffle(items)
        if rng.random() < 0.5:
            return items
        return {rng.choice(["k", "[", '"{', "\\", "]"]) + str(i): v for i, v in enumerate(items)}

    checked = {True: 0, False: 0}
    for _ in range(600):
        value = make(0, rng.randint(26, 38))
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode()
        try:
            _check_depth(text)
            refused = False
        except RequestError:
            refused = True
        assert refused == (depth(value) > MAX_JSON_DEPTH), text[:200]
        checked[refused] += 1
    assert checked[True] > 50 and checked[False] > 50


# ------------------------------------------------------------------------ clients

def _read_answer(sock) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), body[:length], body[length:]


def test_keep_alive_and_pipelined_requests(run):
    with Serving(run) as s:
        host = f"{s.address[0]}:{s.address[1]}"
        one = (f"POST /api/predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(EXAMPLE)}\r\n\r\n").encode() + EXAMPLE
        info = f"GET /api/info HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        with socket.create_connection(s.address, timeout=10) as sock:
            sock.sendall(one + info)  # two requests in one packet
            status, body, rest = _read_answer(sock)
            assert status == 200 and len(json.loads(body)["probabilities"]) == 10
            data = rest
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            assert data.startswith(b"HTTP/1.1 200 OK")
            sock.sendall(one)  # and a third on the same connection later
            status, body, _ = _read_answer(sock)
            assert status == 200


def test_an_idle_connection_is_closed_after_the_idle_timeout(run):
    with Serving(run, limits=ServerLimits(idle_timeout=0.3)) as s:
        with socket.create_connection(s.address, timeout=10) as sock:
            host = f"{s.address[0]}:{s.address[1]}"
            sock.sendall(f"GET /api/info HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            status, _, _ = _read_answer(sock)
            assert status == 200
            started = time.monotonic()
            assert sock.recv(100) == b""  # closed, quietly
            assert 0.2 < time.monotonic() - started < 5


def test_a_slow_body_meets_the_request_deadline(run):
    """A body trickling in holds nothing past ``request_timeout`` (before: no deadline)."""
    with Serving(run, limits=ServerLimits(request_timeout=1.0)) as s:
        host = f"{s.address[0]}:{s.address[1]}"
        with socket.create_connection(s.address, timeout=10) as sock:
            sock.sendall(f"POST /api/predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
                         f"application/json\r\nContent-Length: 1000\r\n\r\n".encode())
            started = time.monotonic()
            for _ in range(40):  # a byte every 0.1 s: 4 s for all, if the server waited
                if select.select([sock], [], [], 0.1)[0]:
                    break  # the answer is there
                sock.sendall(b" ")
            status, body, _ = _read_answer(sock)
            assert status == 408 and "within 1 s" in json.loads(body)["error"]
            assert time.monotonic() - started < 3
        # the worker pool was never involved: the server answers at once
        assert post(s.address, "/api/predict", EXAMPLE)[0] == 200


def test_an_unexpected_failure_is_one_line_500_and_serving_goes_on(run, monkeypatch, capsys):
    with Serving(run) as s:
        def broken(*args, **kw):
            raise RuntimeError("deliberately broken")

        monkeypatch.setattr(s.server.viewer, "predict", broken)
        status, headers, answer = post(s.address, "/api/predict", EXAMPLE)
        assert status == 500 and headers["Connection"] == "close"
        assert answer == {"error": "internal error (RuntimeError); the server log has the "
                                   "details.", "status": 500}
        monkeypatch.undo()
        assert post(s.address, "/api/predict", EXAMPLE)[0] == 200
    assert "deliberately broken" in capsys.readouterr().err


# ------------------------------------------------------------------------ Host

def test_only_this_servers_names_are_accepted_as_host(run):
    with Serving(run, allowed_hosts=["viewer.lan"]) as s:
        port = s.address[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}",
                     f"[::1]:{port}", "127.0.0.1", f"viewer.lan:{port}"):
            assert post(s.address, "/api/predict", EXAMPLE, host=host)[0] == 200, host
        for host in (f"evil.example:{port}", f"127.0.0.1:{port + 1}", f"127.0.0.2:{port}",
                     f"localhost.evil.example:{port}", "", f"127.0.0.1:{port}@evil.example"):
            status, _, answer = post(s.address, "/api/predict", EXAMPLE, host=host)
            assert status == 421, host
            assert answer["error"].startswith("the Host header must name this server")


def test_listening_on_all_addresses_accepts_ip_literals(run):
    server = ViewerServer(("0.0.0.0", 0), Viewer(run))
    try:
        port = server.server_address[1]
        assert server._host_allowed(f"192.168.1.20:{port}")
        assert server._host_allowed(f"[fe80::1]:{port}")
        assert server._host_allowed(f"{socket.gethostname()}:{port}")
        assert not server._host_allowed(f"rebind.example:{port}")
    finally:
        server.server_close()


def test_info_reports_the_limits(run):
    with Serving(run, limits=ServerLimits(memory_budget=64 * 2 ** 20, request_timeout=3)) as s:
        conn = http.client.HTTPConnection(*s.address, timeout=10)
        conn.request("GET", "/api/info")
        limits = json.loads(conn.getresponse().read())["limits"]
        conn.close()
    assert limits == {"max_upload_bytes": 2 * 1024 * 1024, "max_image_pixels": 2048 * 2048,
                      "memory_budget_bytes": 64 * 2 ** 20, "request_timeout_s": 3}
