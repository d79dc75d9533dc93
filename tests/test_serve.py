"""web/serve.mjs (`make serve`): hostile request paths get a 4xx, never a crash, a file outside the served
folder, or a redirect to another origin; and the server keeps answering afterwards."""

from __future__ import annotations

import gzip
import http.client
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECRET = "outside-the-root secret"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """serve.mjs on a free loopback port over a small static tree; yields (host, port, process)."""
    base = tmp_path_factory.mktemp("site")
    site = base / "public"
    (site / "assets").mkdir(parents=True)
    (site / "CartPole-v1").mkdir()
    (site / "index.html").write_text("<!doctype html><title>gallery</title>" + "x" * 2000)
    (site / "assets" / "app.js").write_text("export const a = 1;\n")
    (site / "CartPole-v1" / "index.html").write_text("<!doctype html><title>cartpole</title>")
    (site / "a b%").mkdir()
    (base / "secret.txt").write_text(SECRET)
    (site / "leak.txt").symlink_to(base / "secret.txt")  # a link out of the root must not be followed
    (site / "leakdir").symlink_to(base)
    proc = subprocess.Popen(
        [NODE, str(ROOT / "web" / "serve.mjs"), str(site), "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert m, (line, proc.stderr.read() if proc.poll() is not None else "")
    yield "127.0.0.1", int(m.group(1)), proc
    proc.terminate()
    proc.wait(timeout=10)


def get(server, target: str, method: str = "GET", headers: dict | None = None):
    host, port, _ = server
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.putrequest(method, target, skip_accept_encoding=True)  # putrequest sends the target bytes as given
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def raw(server, request: bytes) -> bytes:
    """Send bytes as they are (paths http.client would refuse) and return the whole answer."""
    host, port, _ = server
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def still_alive(server) -> None:
    status, headers, body = get(server, "/")
    assert status == 200 and b"gallery" in body and server[2].poll() is None


def test_serves_files_folders_and_gzip(server):
    status, h, body = get(server, "/assets/app.js")
    assert status == 200 and h["content-type"].startswith("text/javascript")
    assert body == b"export const a = 1;\n"
    status, h, body = get(server, "/CartPole-v1/")
    assert status == 200 and b"cartpole" in body
    status, h, body = get(server, "/", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and h["content-encoding"] == "gzip" and b"gallery" in gzip.decompress(body)
    status, h, body = get(server, "/", method="HEAD")
    assert status == 200 and body == b"" and int(h["content-length"]) > 2000
    assert get(server, "/nope.js")[0] == 404
    assert get(server, "/", method="POST")[0] == 405


@pytest.mark.parametrize("target", ["/%00", "/assets/%00.js", "/%E0%A4%A", "/%", "/%ZZ"])
def test_undecodable_or_nul_paths_get_400_and_the_server_survives(server, target):
    status, h, body = get(server, target)
    assert status == 400 and h["content-type"].startswith("text/plain")
    still_alive(server)


@pytest.mark.parametrize(
    "target,location",
    [
        ("/%2Fevil.example%2F..%2Fassets", "/assets/"),  # the open redirect
        ("//evil.example/../assets", "/assets/"),
        ("/assets", "/assets/"),
        ("/assets?backend=wasm", "/assets/?backend=wasm"),
        ("/CartPole-v1", "/CartPole-v1/"),
        ("/a%20b%25", "/a%20b%25/"),
        ("/%5Cevil.example/../assets", "/assets/"),
    ],
)
def test_redirects_stay_on_this_origin(server, target, location):
    status, h, _ = get(server, target)
    assert status == 301 and h["location"] == location
    assert h["location"].startswith("/") and not h["location"].startswith(("//", "/\\"))


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e/secret.txt",
        "/assets/../../secret.txt",
        "/leak.txt",
        "/leakdir/secret.txt",
        "/..%5csecret.txt",
    ],
)
def test_nothing_outside_the_root_is_served(server, target):
    answer = raw(server, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert answer.startswith((b"HTTP/1.1 404", b"HTTP/1.1 400")), answer[:200]
    assert SECRET.encode() not in answer
    still_alive(server)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET http://evil.example/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",  # absolute-form
        b"GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GARBAGE\r\n\r\n",
    ],
)
def test_odd_requests_get_an_answer_not_a_crash(server, request_bytes):
    answer = raw(server, request_bytes)
    assert re.match(rb"HTTP/1\.1 4\d\d ", answer), answer[:200]
    still_alive(server)
