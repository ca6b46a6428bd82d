"""Every entry of the hostile-input corpus (tests/hostile/*/*.json) gets its expected answer.

An entry is a JSON manifest (the schema is in tests/hostile/README.md): ``"kind": "cli"``
runs ``cnnkit ARGV`` in this process and checks the exit status and that stderr is the
expected one line (no traceback); ``"kind": "http"`` sends one request to a real viewer
server over a socket and checks the status, the one-line JSON error and the headers. After
the HTTP entries the server must still answer.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import pathlib
import re
import socket
import threading
import time

import pytest
import torch

HERE = pathlib.Path(__file__).resolve().parent
ENTRIES = sorted(HERE.glob("*/*.json"))
KINDS = ("cli", "http")


def _entry(path: pathlib.Path) -> dict:
    entry = json.loads(path.read_text(encoding="utf-8"))
    if entry.get("kind") not in KINDS:
        raise ValueError(f"{path}: kind must be one of {KINDS}. Received: {entry.get('kind')!r}.")
    return entry


def _repeat(parts) -> str:
    """``[prefix, unit, count, suffix]`` as one string: a large payload written small."""
    prefix, unit, count, suffix = parts
    return prefix + unit * count + suffix


def test_the_corpus_is_well_formed():
    assert len(ENTRIES) >= 50
    for path in ENTRIES:
        entry = _entry(path)
        assert entry["about"], path
        for key in ("stderr", "error"):
            if key in entry:
                re.compile(entry[key])
        if entry["kind"] == "cli":
            assert isinstance(entry["exit"], int) and entry["argv"], path
        else:
            assert 100 <= entry["status"] <= 599 and (
                "request" in entry or "raw" in entry or "raw_repeat" in entry), path
        name = (entry.get("request") or {}).get("body_file")
        assert name is None or (path.parent / name).is_file(), f"{path}: {name} is missing"


# ------------------------------------------------------------------------------- cli

CLI = [p for p in ENTRIES if _entry(p)["kind"] == "cli"]


def run_cli(argv: list[str], timeout: float) -> tuple[int, str, str]:
    """``cnnkit ARGV`` in this process: (exit status, stdout, stderr); fails on a hang."""
    from cnnkit.cli.main import main

    out, err, result = io.StringIO(), io.StringIO(), {}

    def target():
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                result["code"] = main(argv)
            except SystemExit as exit_:
                result["code"] = exit_.code
            except BaseException as error:  # noqa: BLE001 - reported below, with its type
                result["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"cnnkit {' '.join(argv)[:200]} still runs after {timeout} s")
    if "error" in result:
        raise AssertionError(f"cnnkit {' '.join(argv)[:200]} raised instead of answering") \
            from result["error"]
    return result["code"], out.getvalue(), err.getvalue()


@pytest.mark.parametrize("path", CLI, ids=[f"{p.parent.name}/{p.stem}" for p in CLI])
def test_cli_entry(path, tmp_path):
    entry = _entry(path)
    for name, parts in entry.get("files", {}).items():
        (tmp_path / name).write_text(_repeat(parts), encoding="utf-8")
    argv = [a.replace("{here}", str(path.parent)).replace("{tmp}", str(tmp_path))
            for a in entry["argv"]]
    started = time.monotonic()
    code, out, err = run_cli(argv, entry.get("timeout", 30))
    assert code == entry["exit"], (code, err[-2000:])
    assert "Traceback" not in err
    if "stderr" in entry:
        assert len(err.strip().splitlines()) == 1, err[-2000:]
        assert re.search(entry["stderr"], err.strip()), err[-2000:]
    if "stdout" in entry:
        assert re.search(entry["stdout"], out), out[-2000:]
    assert time.monotonic() - started < entry.get("max_seconds", 10)


# ------------------------------------------------------------------------------ http

HTTP = [p for p in ENTRIES if _entry(p)["kind"] == "http"]

GREY = {"name": "hostile_viewer", "input": [1, 8, 8], "layers": [
    {"conv": {"filters": 6, "kernel": 3, "padding": "same", "activation": "relu"}},
    {"maxpool": 2},
    {"conv": {"filters": 8, "kernel": 3, "activation": "relu"}},
    "flatten", {"dense": 10}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from cnnkit.serve import ServerLimits, make_server
    from cnnkit.train.api import train

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    run = train(GREY, "digits", dict(epochs=1, lr=0.1, progress=False, threads=1, report=False),
                runs_root=tmp_path_factory.mktemp("hostile")).run_dir
    server = make_server(run, port=0, quiet=True, limits=ServerLimits(request_timeout=1.0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)
    torch.set_num_threads(before)


def build_request(entry: dict, folder: pathlib.Path, host: str) -> bytes:
    """The raw bytes an HTTP entry sends."""
    if "raw" in entry or "raw_repeat" in entry:
        text = entry["raw"] if "raw" in entry else _repeat(entry["raw_repeat"])
        port = host.rsplit(":", 1)[1]
        return text.replace("{host}", host).replace("{port}", port).encode("latin-1")
    request = entry["request"]
    if "body_file" in request:
        body = (folder / request["body_file"]).read_bytes()
    elif "json_file_base64" in request:
        key, name = request["json_file_base64"]
        body = json.dumps({key: base64.b64encode((folder / name).read_bytes()).decode()}).encode()
    elif "body_repeat" in request:
        body = _repeat(request["body_repeat"]).encode("utf-8")
    elif "body_hex" in request:
        body = bytes.fromhex(request["body_hex"])
    else:
        body = request.get("body", "").encode("utf-8")
    headers = {"Host": host, "Connection": "close", **request.get("headers", {})}
    if request["method"] == "POST":
        headers.setdefault("Content-Length", str(len(body)))
    head = f"{request['method']} {request['path']} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + body


def exchange(address, data: bytes, half_close: bool = False, timeout: float = 30):
    """Send ``data``, read one answer: (status, headers, body bytes, seconds)."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (and stopped reading) before all was sent
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in lines[1:])}
        while len(body) < int(headers.get("content-length", 0)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return status, headers, body, time.monotonic() - started


@pytest.mark.parametrize("path", HTTP, ids=[f"{p.parent.name}/{p.stem}" for p in HTTP])
def test_http_entry(path, server):
    entry = _entry(path)
    host, port = server.server_address[:2]
    data = build_request(entry, path.parent, f"{host}:{port}")
    status, headers, body, seconds = exchange((host, port), data, entry.get("half_close", False))
    answer = json.loads(body)
    assert status == entry["status"], answer
    assert answer["status"] == status and "\n" not in answer["error"]
    assert "Traceback" not in answer["error"]
    if "error" in entry:
        assert re.search(entry["error"], answer["error"]), answer["error"]
    for key, pattern in entry.get("headers", {}).items():
        assert re.search(pattern, headers.get(key.lower(), "")), (key, headers)
    assert seconds < entry.get("max_seconds", 10), seconds
    # and the server still answers
    request = (f'POST /api/predict HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n'
               f'Content-Type: application/json\r\nContent-Length: 14\r\n\r\n{{"example": 3}}')
    status, _, body, _ = exchange((host, port), request.encode())
    assert status == 200 and len(json.loads(body)["probabilities"]) == 10
