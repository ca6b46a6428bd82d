"""The viewer's HTTP server: the page's static files and a small JSON API, safe under load.

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

How it holds up (the numbers are :class:`ServerLimits`):

- One asyncio event loop reads every request whole (head, then body) before anything is
  computed, under a deadline per request (``request_timeout``, from its first byte): a
  slow or stalled client costs a suspended coroutine, never a thread, and gets 408.
- The computing is done by a fixed pool of ``workers`` threads (the model's own work one
  request at a time, under the :class:`Viewer`'s lock); at most ``queue`` requests are
  admitted at once, and more get 503 with ``Retry-After``, as do connections beyond
  ``connections``. The listen backlog is ``backlog``. Excess load is answered, not reset:
  a connection that the server closes is half-closed first and what the client still
  sends is read and dropped ("lingering close"). Only past twice ``connections`` open at
  once (a flood with no time to answer each) are new connections dropped unanswered.
- Request bodies, image decoding and JSON parsing reserve their bytes from one
  :class:`~cnnkit.serve.budget.MemoryBudget` (``memory_budget``), so the server's memory
  stays under its idle size plus the budget; a request that must wait too long for it gets
  503, one that could never fit 413.
- The ``Host`` header must name this server (the address it listens on, ``localhost``,
  ``127.0.0.1`` or ``[::1]``, with its port), else 421: a page on another web site whose
  name was re-pointed at 127.0.0.1 (DNS rebinding) cannot read the API.
- Errors are JSON ``{"error": message, "status": code}``; a body above
  :data:`~cnnkit.serve.viewer.MAX_UPLOAD_BYTES` (2 MiB) gets 413 (refused before it is
  sent when the client asks ``Expect: 100-continue``). An unexpected failure is a 500 with
  one line (the traceback goes to the server's log), and the server goes on serving.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import ipaddress
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus

from .api import STATIC_FILES, Api, Request, Response, error_response
from .budget import DEFAULT_MEMORY_BUDGET, MemoryBudget
from .viewer import MAX_UPLOAD_BYTES, Viewer

__all__ = ["STATIC_FILES", "ServerLimits", "ViewerServer", "make_server", "serve"]

MAX_HEAD_BYTES = 16 * 1024         # request line and headers
MAX_HEADERS = 64
_DRAIN_BYTES = 16 * 1024 * 1024    # an oversized body up to this is read and dropped
_LINGER_SECONDS = 2.0              # how long a closing connection's input is drained
_LINGER_BYTES = 4 * 1024 * 1024
_LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]")
_WILDCARDS = ("", "0.0.0.0", "::")
# The page loads only its own script and style; images are data: / blob: URIs it makes.
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@dataclass(frozen=True)
class ServerLimits:
    """How much the viewer's server takes on at once, and for how long.

    Attributes:
        workers: threads that compute answers (the model itself runs one at a time).
        queue: requests admitted at once, computing or waiting; more get 503.
        connections: open connections; more get 503.
        backlog: connections the kernel queues before they are accepted (``listen``).
        request_timeout: seconds from a request's first byte to its last; then 408.
        idle_timeout: seconds a kept-alive connection may wait for its next request.
        write_timeout: seconds a client may take to read an answer.
        memory_budget: bytes that bodies, decoded images and parsed JSON may hold at once.
        retry_after: seconds a 503 tells the client to wait (``Retry-After``).

    Example:
        >>> ServerLimits(workers=2).queue
        64
    """

    workers: int = 4
    queue: int = 64
    connections: int = 256
    backlog: int = 128
    request_timeout: float = 10.0
    idle_timeout: float = 30.0
    write_timeout: float = 10.0
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    retry_after: int = 1

    def __post_init__(self):
        from .._validation import ArgumentError

        for name in ("workers", "queue", "connections", "backlog", "retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ArgumentError(f"{name} must be a positive int. Received: {name}={value!r}.",
                                    argument=name)
        for name in ("request_timeout", "idle_timeout", "write_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ArgumentError(f"{name} must be a positive number of seconds. Received: "
                                    f"{name}={value!r}.", argument=name)
        if isinstance(self.memory_budget, bool) or not isinstance(self.memory_budget, int) \
                or self.memory_budget < 16 * 2 ** 20:
            raise ArgumentError(f"memory_budget must be at least 16 MiB (16777216 bytes). "
                                f"Received: memory_budget={self.memory_budget!r}.",
                                argument="memory_budget")


class _Close(Exception):
    """Answer ``response`` and close the connection (its framing cannot be trusted)."""

    def __init__(self, response: Response | None):
        super().__init__()
        self.response = response


class ViewerServer:
    """The viewer's HTTP server, listening from construction; :meth:`serve_forever` serves.

    Args:
        address: ``(host, port)``; port 0 picks a free one.
        viewer: the :class:`Viewer` to answer for.
        quiet: do not log each request.
        limits: :class:`ServerLimits` (default: the defaults).
        allowed_hosts: more names the ``Host`` header may give (a name this machine is
            reached by when listening on all addresses).

    Raises:
        OSError: the address is taken or cannot be bound.
    """

    def __init__(self, address, viewer: Viewer, *, quiet: bool = False,
                 limits: ServerLimits | None = None, allowed_hosts=()):
        self.viewer = viewer
        self.quiet = quiet
        self.limits = limits or ServerLimits()
        viewer.budget = MemoryBudget(self.limits.memory_budget)
        self.api = Api(viewer, {"memory_budget_bytes": self.limits.memory_budget,
                                "request_timeout_s": self.limits.request_timeout})
        self.socket = self._listen(address)
        self.server_address = self.socket.getsockname()[:2]
        self._hosts = self._host_names(address[0], allowed_hosts)
        self._pool = concurrent.futures.ThreadPoolExecutor(
            self.limits.workers, thread_name_prefix="cnnkit-serve")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._done = threading.Event()
        self._shut = False
        self._open = 0       # connections
        self._pending = 0    # requests admitted to the workers
        self.stats = {"requests": 0, "busy": 0, "refused_connections": 0, "timeouts": 0}

    # ------------------------------------------------------------------ set-up
    def _listen(self, address) -> socket.socket:
        host, port = address
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        family, kind, proto, _, where = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(where)
            sock.listen(self.limits.backlog)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def _host_names(self, host: str, extra) -> set[str]:
        names = {*_LOCAL_NAMES, *(str(n).lower() for n in extra)}
        host = (host or "").lower()
        names.add(f"[{host}]" if ":" in host else host)
        self._any_ip = host in _WILDCARDS
        if self._any_ip:
            names.add(socket.gethostname().lower())
        return names

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8000/``."""
        host, port = self.server_address
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    # ------------------------------------------------------------------ running
    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until :meth:`shutdown` (``poll_interval`` is accepted and unused)."""
        if self._shut:
            return
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None
            self._done.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        server = await asyncio.start_server(self._connection, sock=self.socket,
                                            limit=MAX_HEAD_BYTES, backlog=self.limits.backlog)
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=5)

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` and wait until it has returned."""
        self._shut = True
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and self._started.is_set():
            loop.call_soon_threadsafe(stop.set)
            self._done.wait()

    def server_close(self) -> None:
        """Close the listening socket and the worker threads."""
        self.socket.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server_close()

    # ------------------------------------------------------------------ connections
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        self._tasks.add(task)
        self._open += 1
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        try:
            if self._open > 2 * self.limits.connections:  # a flood: no time to answer
                self.stats["refused_connections"] += 1
                writer.transport.abort()
                return
            if self._open > self.limits.connections:
                self.stats["refused_connections"] += 1
                await self._refuse(reader, writer)
                return
            first = True
            while await self._exchange(reader, writer, peer, first):
                first = False
        except (ConnectionError, asyncio.CancelledError):
            writer.transport.abort()
        finally:
            self._open -= 1
            self._tasks.discard(task)
            if not writer.transport.is_closing():
                writer.close()

    async def _refuse(self, reader, writer) -> None:
        """503 for a connection over the limit: read its head briefly, answer, close."""
        try:
            async with asyncio.timeout(1.0):
                await reader.readuntil(b"\r\n\r\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        response = error_response(503, f"the viewer has {self.limits.connections} connections "
                                       f"open, its most. Try again in a second.",
                                  {"Retry-After": str(self.limits.retry_after)})
        await self._write(writer, "GET", response, close=True)
        await self._linger(reader, writer)

    async def _exchange(self, reader, writer, peer, first: bool) -> bool:
        """Read one request, answer it; True to keep the connection for the next."""
        limits = self.limits
        try:
            async with asyncio.timeout(limits.request_timeout if first else limits.idle_timeout):
                start = await reader.readexactly(1)
        except (TimeoutError, asyncio.IncompleteReadError):
            return False  # idle or gone before a request began: close quietly
        state = {"method": "GET", "line": "-", "reserved": 0}
        try:
            try:
                deadline = asyncio.get_running_loop().time() + limits.request_timeout
                async with asyncio.timeout_at(deadline):
                    request = await self._read_request(reader, writer, start, state)
            except TimeoutError:
                self.stats["timeouts"] += 1
                raise _Close(error_response(
                    408, f"the request did not arrive within {limits.request_timeout:g} s. "
                         f"Send it at once (the whole head and body).")) from None
            keep = self._keep_alive(state["version"], state["headers"])
            if isinstance(request, Response):  # refused, its body read: the connection goes on
                response = request
            else:
                self.stats["requests"] += 1
                response = self.api.quick(request) or await self._compute(request)
                keep = keep and response.status != 500
        except _Close as close:
            if close.response is not None:
                await self._write(writer, state["method"], close.response, close=True,
                                  peer=peer, line=state["line"])
            await self._linger(reader, writer)
            return False
        finally:
            if state["reserved"]:
                self.viewer.budget.release(state["reserved"])
        await self._write(writer, state["method"], response, close=not keep, peer=peer,
                          line=state["line"])
        if not keep:
            await self._linger(reader, writer)
        return keep

    async def _read_request(self, reader, writer, start: bytes, state: dict):
        """The whole request (a :class:`Request`), or a :class:`Response` refusing it after
        its body was read; :class:`_Close` where the connection cannot go on. Records the
        method, request line, version, headers and reserved bytes in ``state``."""
        try:
            head = start + await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise _Close(error_response(431, f"the request line and headers are over "
                                             f"{MAX_HEAD_BYTES:,} bytes.")) from None
        except asyncio.IncompleteReadError:
            raise _Close(None) from None
        method, target, version, headers, line = self._parse_head(head)
        state.update(method=method, line=line, version=version, headers=headers)
        self._check_host(headers, version)
        length, expect = self._framing(method, headers)
        if length > MAX_UPLOAD_BYTES:
            if not expect and length <= _DRAIN_BYTES:
                # Read and drop the body so that the client, still sending, gets the answer
                # instead of a reset connection.
                await self._discard(reader, length)
            raise _Close(error_response(413, f"the upload is {length:,} bytes; the limit is "
                                             f"{MAX_UPLOAD_BYTES:,} bytes (2 MiB)."))
        if length:
            if not self.viewer.budget.try_acquire(length):
                self.stats["busy"] += 1
                if expect:
                    raise _Close(self._busy("request bodies"))
                await self._discard(reader, length)
                return self._busy("request bodies")
            state["reserved"] = length
            if expect:
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = b""
        if length:
            try:
                body = await reader.readexactly(length)
            except asyncio.IncompleteReadError as error:
                raise _Close(error_response(
                    400, f"the body ended after {len(error.partial):,} of its {length:,} bytes "
                         f"(Content-Length). Send the whole body.")) from None
        path, _, query = target.partition("?")
        return Request(method, path, query, headers, body)

    async def _compute(self, request: Request) -> Response:
        """The answer from a worker thread, or 503 if ``queue`` requests are in already."""
        if self._pending >= self.limits.queue:
            self.stats["busy"] += 1
            return self._busy("requests")
        self._pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, self.api.handle, request)
        finally:
            self._pending -= 1

    def _busy(self, what: str) -> Response:
        return error_response(503, f"the viewer is busy ({what} from other clients fill its "
                                   f"limits). Try again in {self.limits.retry_after} s.",
                              {"Retry-After": str(self.limits.retry_after)})

    # ------------------------------------------------------------------ parsing
    @staticmethod
    def _parse_head(head: bytes):
        """(method, target, version, headers, request line) of a request head; _Close(400)
        for anything malformed."""
        lines = head.decode("latin-1").lstrip("\r\n").split("\r\n")
        request_line = lines[0]
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[0].isalpha() or not parts[0].isupper() \
                or not parts[2].startswith("HTTP/"):
            raise _Close(error_response(400, f"bad request line {request_line[:80]!r}; send "
                                             f"METHOD /path HTTP/1.1."))
        method, target, version = parts
        if version not in ("HTTP/1.0", "HTTP/1.1"):
            raise _Close(error_response(505, f"HTTP version {version[:20]!r} is not supported; "
                                             f"use HTTP/1.1."))
        headers: dict[str, str] = {}
        count = 0
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip() or not name.isascii():
                raise _Close(error_response(400, f"bad header line {line[:80]!r}."))
            count += 1
            if count > MAX_HEADERS:
                raise _Close(error_response(431, f"more than {MAX_HEADERS} headers."))
            name, value = name.lower(), value.strip(" \t")
            if name in headers:
                if name in ("content-length", "host", "transfer-encoding"):
                    raise _Close(error_response(400, f"the {name} header appears twice."))
                value = f"{headers[name]}, {value}"
            headers[name] = value
        return method, target, version, headers, request_line

    def _check_host(self, headers: dict, version: str) -> None:
        host = headers.get("host")
        if host is None:
            if version == "HTTP/1.1":
                raise _Close(error_response(400, "a Host header is required (HTTP/1.1)."))
            return
        if not self._host_allowed(host):
            port = self.server_address[1]
            names = ", ".join(sorted(self._hosts))
            raise _Close(error_response(
                421, f"the Host header must name this server ({names}; port {port}). "
                     f"Received: Host: {host[:80]}. Open {self.url} (other names are refused "
                     f"so that pages of other web sites cannot reach the viewer)."))

    def _host_allowed(self, value: str) -> bool:
        value = value.strip().lower()
        if value.startswith("["):
            end = value.find("]")
            name, rest = (value[:end + 1], value[end + 1:]) if end > 0 else ("", "")
        elif value.count(":") == 1:
            name, rest = value.split(":")[0], value[value.index(":"):]
        elif ":" in value:
            return False  # an IPv6 address must be in brackets
        else:
            name, rest = value, ""
        if rest and rest != f":{self.server_address[1]}":
            return False
        if name.rstrip(".") in self._hosts:
            return True
        if self._any_ip:
            try:
                ipaddress.ip_address(name.strip("[]"))
                return True
            except ValueError:
                return False
        return False

    @staticmethod
    def _framing(method: str, headers: dict) -> tuple[int, bool]:
        """(body length, the client waits for 100 Continue); _Close for bodies without a
        usable Content-Length."""
        if "transfer-encoding" in headers:
            raise _Close(error_response(411, "send the body with a Content-Length (no chunked "
                                             "transfer encoding)."))
        length = headers.get("content-length")
        if length is None:
            if method == "POST":
                raise _Close(error_response(411, "a Content-Length header is required. "
                                                 "Received: None."))
            return 0, False
        if not (length.isascii() and length.isdigit()) or len(length) > 18:
            raise _Close(error_response(400, f"Content-Length must be a number of bytes. "
                                             f"Received: {length[:40]!r}."))
        expect = headers.get("expect", "").lower() == "100-continue"
        return int(length), expect

    @staticmethod
    async def _discard(reader, length: int) -> None:
        """Read and drop ``length`` bytes (fewer if the client stops sending)."""
        left = length
        while left > 0:
            chunk = await reader.read(min(left, 1 << 16))
            if not chunk:
                return
            left -= len(chunk)

    @staticmethod
    def _keep_alive(version: str, headers: dict) -> bool:
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        if version == "HTTP/1.1":
            return "close" not in tokens
        return "keep-alive" in tokens

    # ------------------------------------------------------------------ answering
    async def _write(self, writer, method: str, response: Response, *, close: bool,
                     peer: str = "-", line: str = "-") -> None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Error"
        head = [f"HTTP/1.1 {response.status} {reason}",
                "Server: cnnkit-serve",
                f"Date: {email.utils.formatdate(usegmt=True)}",
                f"Content-Type: {response.kind}",
                f"Content-Length: {len(response.body)}",
                "Cache-Control: no-store",
                "X-Content-Type-Options: nosniff"]
        if response.kind.startswith("text/html"):
            head.append(f"Content-Security-Policy: {_CSP}")
        head.extend(f"{key}: {value}" for key, value in response.headers.items())
        head.append("Connection: close" if close else "Connection: keep-alive")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        try:
            writer.write(data if method == "HEAD" else data + response.body)
            async with asyncio.timeout(self.limits.write_timeout):
                await writer.drain()
        except (ConnectionError, TimeoutError):
            writer.transport.abort()
        if not self.quiet:
            shown = "".join(c if c.isprintable() else "?" for c in line[:200])
            sys.stderr.write(f"{peer} - - [{time.strftime('%d/%b/%Y %H:%M:%S')}] \"{shown}\" "
                             f"{response.status} {len(response.body)}\n")

    async def _linger(self, reader, writer) -> None:
        """Close after the answer has left: half-close, then read and drop what the client
        still sends (briefly), so that closing with unread input does not reset the
        connection and destroy the answer."""
        transport = writer.transport
        if transport.is_closing():
            return
        try:
            if writer.can_write_eof():
                writer.write_eof()
            left = _LINGER_BYTES
            async with asyncio.timeout(_LINGER_SECONDS):
                while left > 0:
                    chunk = await reader.read(1 << 16)
                    if not chunk:
                        break
                    left -= len(chunk)
        except (TimeoutError, ConnectionError, asyncio.LimitOverrunError):
            pass
        transport.close()


def make_server(run_dir, *, host: str = "127.0.0.1", port: int = 8000, which=None,
                quiet: bool = False, limits: ServerLimits | None = None, allowed_hosts=(),
                threads: int | None = None) -> ViewerServer:
    """A ready (listening, not yet serving) viewer server for ``run_dir``.

    Args:
        run_dir: a run folder made by ``cnnkit train``.
        host, port: where to listen; port 0 picks a free port.
        which: ``"best"`` / ``"last"`` weights (None: those ``results.json`` describes).
        quiet: do not log each request.
        limits: :class:`ServerLimits`.
        allowed_hosts: more names the ``Host`` header may give.
        threads: PyTorch's intra-op threads for this process (None: leave as it is); the
            viewer runs one small image at a time, where one thread avoids hand-offs.

    Raises:
        cnnkit.ArgumentError: not a run folder; cnnkit.ShapeError: not an image network.
        OSError: the address is taken.
    """
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    viewer = Viewer(run_dir, which=which)
    return ViewerServer((host, port), viewer, quiet=quiet, limits=limits,
                        allowed_hosts=allowed_hosts)


def serve(run_dir, *, host: str = "127.0.0.1", port: int = 8000, which=None,
          quiet: bool = False, limits: ServerLimits | None = None) -> None:
    """Serve the viewer for ``run_dir`` until interrupted (Ctrl-C)."""
    server = make_server(run_dir, host=host, port=port, which=which, quiet=quiet,
                         limits=limits)
    print(f"serving {run_dir} at {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
