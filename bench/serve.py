"""A loopback static server for the browser measurements: folders under URL prefixes, gzip on request."""

from __future__ import annotations

import gzip
import http.server
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MIME = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".bin": "application/octet-stream",
    ".py": "text/plain; charset=utf-8",
    ".zip": "application/zip",
    ".onnx": "application/octet-stream",
    ".txt": "text/plain; charset=utf-8",
}
# Already-compressed formats a CDN would not gzip again.
NO_GZIP = {".png", ".zip", ".ico"}


def make_handler(mounts: dict[str, Path], use_gzip: bool) -> type[http.server.BaseHTTPRequestHandler]:
    cache: dict[Path, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def resolve(self) -> Path | None:
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            for prefix in sorted(mounts, key=len, reverse=True):
                if path == prefix.rstrip("/") or path.startswith(prefix):
                    rel = path[len(prefix) :].lstrip("/")
                    base = mounts[prefix].resolve()
                    f = (base / rel).resolve()
                    if f.is_dir():
                        f = f / "index.html"
                    if f.is_relative_to(base) and f.is_file():
                        return f
                    return None
            return None

        def do_GET(self):
            f = self.resolve()
            if f is None:
                self.send_error(404)
                return
            body = f.read_bytes()
            gz = use_gzip and f.suffix not in NO_GZIP and "gzip" in self.headers.get("Accept-Encoding", "")
            if gz:
                body = cache.get(f) or cache.setdefault(f, gzip.compress(body, compresslevel=9, mtime=0))
            self.send_response(200)
            self.send_header("Content-Type", MIME.get(f.suffix, "application/octet-stream"))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            if gz:
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Vary", "Accept-Encoding")
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(mounts: dict[str, Path], use_gzip: bool = False) -> Iterator[str]:
    """Serve {url_prefix: folder} on 127.0.0.1; yields the base URL (no trailing slash)."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(mounts, use_gzip))
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
