"""The viewer's routes without the network: a parsed :class:`Request` in, a
:class:`Response` out.

:meth:`Api.quick` answers what costs nothing (the static files, ``/api/info``, refusals by
path or method) on the server's event loop; :meth:`Api.handle` answers the rest on a worker
thread. Neither raises: a :class:`~cnnkit.serve.viewer.RequestError` becomes its 4xx/503
JSON answer, anything else a 500 with one line (the traceback goes to the log).
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass, field
from importlib import resources

from .viewer import RequestError, Viewer, parse_json

__all__ = ["JSON", "STATIC_FILES", "Api", "Request", "Response", "error_response",
           "json_response"]

STATIC_FILES = ("index.html", "app.js", "style.css")
JSON = "application/json; charset=utf-8"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8"}
_IMAGE_TYPES = ("image/", "application/octet-stream")
_GET_ROUTES = ("/api/info", "/api/filters", "/api/examples")
_POST_ROUTES = ("/api/predict", "/api/receptive_field", "/api/saliency")
_MAX_COUNT_DIGITS = 6


@dataclass
class Request:
    """One HTTP request: ``method``, ``path`` (no query), ``query``, lower-case
    ``headers`` and the whole ``body``."""

    method: str
    path: str
    query: str = ""
    headers: dict = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Response:
    """An answer: ``status``, ``body``, its content type ``kind`` and extra headers."""

    status: int
    body: bytes
    kind: str = JSON
    headers: dict = field(default_factory=dict)


def json_response(status: int, value, headers: dict | None = None) -> Response:
    """``value`` as compact JSON."""
    body = json.dumps(value, separators=(",", ":")).encode("utf-8")
    return Response(status, body, JSON, dict(headers or {}))


def error_response(status: int, message: str, headers: dict | None = None) -> Response:
    """``{"error": message, "status": status}``.

    Example:
        >>> error_response(404, "not found.").body
        b'{"error":"not found.","status":404}'
    """
    return json_response(status, {"error": message, "status": status}, headers)


def _load_static() -> dict[str, tuple[bytes, str]]:
    folder = resources.files("cnnkit.serve") / "static"
    routes = {}
    for name in STATIC_FILES:
        data = (folder / name).read_bytes()
        routes[f"/static/{name}"] = (data, _TYPES[name[name.rindex("."):]])
    routes["/"] = routes["/static/index.html"]
    routes["/index.html"] = routes["/static/index.html"]
    return routes


class Api:
    """The routes of the viewer's page and JSON API over one :class:`Viewer`.

    Args:
        viewer: the run to answer for.
        limits: extra entries for ``/api/info``'s ``limits`` (the server's).
    """

    def __init__(self, viewer: Viewer, limits: dict | None = None):
        self.viewer = viewer
        self.static = _load_static()
        info = viewer.info()
        info["limits"].update(limits or {})
        self.info = json_response(200, info)

    # ------------------------------------------------------------------ routing
    def quick(self, request: Request) -> Response | None:
        """The answer if it needs no worker (static files, info, refusals), else None."""
        method, path = request.method, request.path
        if method in ("GET", "HEAD"):
            if path in self.static:
                data, kind = self.static[path]
                return Response(200, data, kind)
            if path == "/api/info":
                return self.info
            if path in _POST_ROUTES:
                return error_response(405, f"{path} takes POST.")
            if path not in _GET_ROUTES:
                return error_response(404, "not found.")
            return None
        if method == "POST":
            if path in self.static or path in _GET_ROUTES:
                return error_response(405, f"{path} takes GET.")
            if path not in _POST_ROUTES:
                return error_response(404, "not found.")
            return None
        return error_response(405, f"method {method} is not allowed.")

    def handle(self, request: Request) -> Response:
        """The answer to ``request``; never raises."""
        try:
            answer = self.quick(request)
            if answer is not None:
                return answer
            if request.method == "POST":
                return json_response(200, self._post(request))
            return json_response(200, self._get(request))
        except RequestError as error:
            return error_response(error.status, error.message, error.headers)
        except Exception as error:  # noqa: BLE001 - answer, log, keep serving
            traceback.print_exc(file=sys.stderr)
            return error_response(500, f"internal error ({type(error).__name__}); the server "
                                       f"log has the details.")

    # ------------------------------------------------------------------ routes
    def _query(self, request: Request) -> dict[str, str]:
        from urllib.parse import parse_qs

        try:
            values = parse_qs(request.query, max_num_fields=10)
        except ValueError:
            raise RequestError(400, "the query has more than 10 fields.") from None
        return {key: value[0] for key, value in values.items()}

    def _get(self, request: Request) -> dict:
        query = self._query(request)
        viewer = self.viewer
        if request.path == "/api/filters":
            return viewer.filters(query.get("layer"))
        count = query.get("count")
        if count is not None and not (count.isascii() and count.isdigit()
                                      and len(count) <= _MAX_COUNT_DIGITS):
            raise RequestError(400, f"count must be an int from 0 to {viewer.example_count}. "
                                    f"Received: count={count[:20]!r}"
                                    f"{'...' if len(count) > 20 else ''}.")
        return viewer.examples(None if count is None else int(count))

    def _post(self, request: Request) -> dict:
        viewer = self.viewer
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.path == "/api/predict" and kind.startswith(_IMAGE_TYPES):
            if not request.body:
                raise RequestError(400, "the upload is empty. Send an image file.")
            return viewer.predict(viewer.decode_image(request.body))
        if kind != "application/json":
            raise RequestError(415, f"send application/json (or an image file to "
                                    f"/api/predict). Received: Content-Type "
                                    f"{kind[:60] or 'none'}.")
        body = parse_json(request.body, viewer.budget, viewer.max_containers)
        if request.path == "/api/predict":
            activations = body.get("activations", True)
            if not isinstance(activations, bool):
                raise RequestError(400, f"activations must be true or false. Received: "
                                        f"{json.dumps(activations)[:60]}.")
            example = body.get("example")
            return viewer.predict(viewer.input_from_json(body), activations,
                                  example if isinstance(example, int) else None)
        if request.path == "/api/receptive_field":
            if "layer" not in body or "unit" not in body:
                raise RequestError(400, "give layer (a name) and unit ([channel, y, x]).")
            return viewer.receptive_field(body["layer"], body["unit"])
        x = viewer.input_from_json(body)
        return viewer.saliency(x, body.get("method", "gradient"), body.get("target"),
                               body.get("layer"), body.get("unit"))
