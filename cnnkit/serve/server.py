"""The viewer's HTTP server: the page's static files and a small JSON API.

Routes (everything else is 404; nothing maps a request path onto the file system: the
static files are read into memory at start-up from a fixed list)::

    GET  /                      the page
    GET  /static/<file>         its script and style sheet
    GET  /api/info              network, layers (shape, field, jump, start), classes, limits
    GET  /api/filters[?layer=]  filters of the first (or the named) convolution
    GET  /api/examples[?count=] test examples with labels
    POST /api/predict           an image file (image/png, image/jpeg, ...) or JSON
                                {"pixels" | "data" | "png" | "example": ...}
                                -> probabilities and every layer's maps
    POST /api/receptive_field   {"layer": name, "unit": [c, y, x]} -> the input box
    POST /api/saliency          {input..., "method": gradient|smoothgrad|gradcam|occlusion,
                                 "target": class | null} or {input..., "layer", "unit"}

Errors are JSON ``{"error": message, "status": code}`` with a 4xx status; a request body
above :data:`~cnnkit.serve.viewer.MAX_UPLOAD_BYTES` (2 MiB) gets 413 without being read.
An unexpected failure is a 500 with a one-line message (the traceback goes to the server's
log, never to the client), and the server goes on serving.
"""

from __future__ import annotations

import json
import socket
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs

from .viewer import MAX_UPLOAD_BYTES, RequestError, Viewer, parse_json

__all__ = ["STATIC_FILES", "ViewerServer", "make_server", "serve"]

STATIC_FILES = ("index.html", "app.js", "style.css")
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8"}
# The page loads only its own script and style; images are data: / blob: URIs it makes.
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_IMAGE_TYPES = ("image/", "application/octet-stream")
_DRAIN_BYTES = 16 * 1024 * 1024  # larger oversized bodies are not read at all


def _load_static() -> dict[str, tuple[bytes, str]]:
    folder = resources.files("cnnkit.serve") / "static"
    routes = {}
    for name in STATIC_FILES:
        data = (folder / name).read_bytes()
        kind = _TYPES[name[name.rindex("."):]]
        routes[f"/static/{name}"] = (data, kind)
    routes["/"] = routes["/static/index.html"]
    routes["/index.html"] = routes["/static/index.html"]
    return routes


class ViewerServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer holding the :class:`Viewer` and the static files."""

    daemon_threads = True

    def __init__(self, address, viewer: Viewer, *, quiet: bool = False):
        self.viewer = viewer
        self.static = _load_static()
        self.quiet = quiet
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: ViewerServer
    protocol_version = "HTTP/1.1"   # keep-alive: the page's requests reuse one connection
    server_version = "cnnkit-serve"
    sys_version = ""
    timeout = 30                    # seconds a client may take to send its request

    def setup(self):
        super().setup()
        # Headers and body leave in two writes; without this, Nagle's algorithm holds the
        # second until the client's delayed ACK (40 ms) on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_expect_100(self):
        """Refuse an oversized body before the client sends it."""
        length = self.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > MAX_UPLOAD_BYTES:
            self.close_connection = True
            self._json(413, {"error": f"the upload is {int(length):,} bytes; the limit is "
                                      f"{MAX_UPLOAD_BYTES:,} bytes (2 MiB).", "status": 413})
            return False
        return super().handle_expect_100()

    # ---------------------------------------------------------------- replies
    def _send(self, status: int, body: bytes, kind: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if kind.startswith("text/html"):
            self.send_header("Content-Security-Policy", _CSP)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value) -> None:
        body = json.dumps(value, separators=(",", ":")).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def send_error(self, code, message=None, explain=None):
        """Every error as JSON, also those http.server raises itself (bad request line)."""
        try:
            short, _ = self.responses.get(code, ("error", ""))
        except AttributeError:
            short = "error"
        self.close_connection = True
        try:
            self._json(code, {"error": message or short, "status": code})
        except OSError:
            pass

    def log_message(self, format, *args):
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    # ---------------------------------------------------------------- routing
    def _path(self) -> tuple[str, dict]:
        path, _, query = self.path.partition("?")
        return path, parse_qs(query, max_num_fields=10)

    def _guard(self, handler) -> None:
        try:
            handler()
        except RequestError as error:
            self._json(error.status, {"error": error.message, "status": error.status})
        except Exception as error:  # noqa: BLE001 - answer, log, keep serving
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            self._json(500, {"error": f"internal error ({type(error).__name__}); the server "
                                      f"log has the details.", "status": 500})

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self._guard(self._get)

    def do_POST(self):
        self._guard(self._post)

    def do_PUT(self):
        self._refuse()

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    def _refuse(self):
        self.close_connection = True
        self._json(405, {"error": f"method {self.command} is not allowed.", "status": 405})

    def _get(self) -> None:
        path, query = self._path()
        viewer = self.server.viewer
        if path in self.server.static:
            data, kind = self.server.static[path]
            self._send(200, data, kind)
        elif path == "/api/info":
            self._json(200, viewer.info())
        elif path == "/api/filters":
            self._json(200, viewer.filters(query.get("layer", [None])[0]))
        elif path == "/api/examples":
            count = query.get("count", [None])[0]
            if count is not None and not count.isdigit():
                raise RequestError(400, f"count must be a non-negative int. Received: "
                                        f"count={count!r}.")
            self._json(200, viewer.examples(None if count is None else int(count)))
        elif path in ("/api/predict", "/api/receptive_field", "/api/saliency"):
            raise RequestError(405, f"{path} takes POST.")
        else:
            raise RequestError(404, "not found.")

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise RequestError(411, "send the body with a Content-Length (no chunked "
                                    "transfer encoding).")
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self.close_connection = True
            raise RequestError(411, f"a Content-Length header is required. Received: "
                                    f"{length!r}.")
        size = int(length)
        if size > MAX_UPLOAD_BYTES:
            self.close_connection = True
            if size <= _DRAIN_BYTES:
                # Read and drop the body so that the client, still sending, gets the answer
                # instead of a reset connection.
                left = size
                while left > 0:
                    chunk = self.rfile.read(min(left, 1 << 16))
                    if not chunk:
                        break
                    left -= len(chunk)
            raise RequestError(413, f"the upload is {size:,} bytes; the limit is "
                                    f"{MAX_UPLOAD_BYTES:,} bytes (2 MiB).")
        body = self.rfile.read(size)
        if len(body) != size:
            self.close_connection = True
            raise RequestError(400, "the body ended before Content-Length bytes.")
        return body

    def _post(self) -> None:
        path, _ = self._path()
        viewer = self.server.viewer
        if path in self.server.static or path in ("/api/info", "/api/filters", "/api/examples"):
            self._body()
            raise RequestError(405, f"{path} takes GET.")
        if path not in ("/api/predict", "/api/receptive_field", "/api/saliency"):
            self.close_connection = True
            raise RequestError(404, "not found.")
        body = self._body()
        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if path == "/api/predict" and kind.startswith(_IMAGE_TYPES):
            if not body:
                raise RequestError(400, "the upload is empty. Send an image file.")
            self._json(200, viewer.predict(viewer.decode_image(body)))
            return
        if kind != "application/json":
            raise RequestError(415, f"send application/json (or an image file to "
                                    f"/api/predict). Received: Content-Type {kind or 'none'}.")
        request = parse_json(body)
        if path == "/api/predict":
            activations = request.get("activations", True)
            if not isinstance(activations, bool):
                raise RequestError(400, f"activations must be true or false. Received: "
                                        f"{activations!r}.")
            self._json(200, viewer.predict(viewer.input_from_json(request), activations))
        elif path == "/api/receptive_field":
            if "layer" not in request or "unit" not in request:
                raise RequestError(400, "give layer (a name) and unit ([channel, y, x]).")
            self._json(200, viewer.receptive_field(request["layer"], request["unit"]))
        else:
            x = viewer.input_from_json(request)
            self._json(200, viewer.saliency(x, request.get("method", "gradient"),
                                            request.get("target"), request.get("layer"),
                                            request.get("unit")))


def make_server(run_dir, *, host: str = "127.0.0.1", port: int = 8000, which=None,
                quiet: bool = False) -> ViewerServer:
    """A ready (not yet serving) viewer server for ``run_dir``; port 0 picks a free port.

    Raises:
        cnnkit.ArgumentError: not a run folder; cnnkit.ShapeError: not an image network.
        OSError: the address is taken.
    """
    viewer = Viewer(run_dir, which=which)
    return ViewerServer((host, port), viewer, quiet=quiet)


def serve(run_dir, *, host: str = "127.0.0.1", port: int = 8000, which=None,
          quiet: bool = False) -> None:
    """Serve the viewer for ``run_dir`` until interrupted (Ctrl-C)."""
    server = make_server(run_dir, host=host, port=port, which=which, quiet=quiet)
    print(f"serving {run_dir} at {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
