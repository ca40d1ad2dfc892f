"""Memory and throughput of a streamed upload: 10 files of 10 MiB in one request.

Serves a route that calls ``receive_upload`` on ``LocalStorage`` (a temporary folder) with
uvicorn in its own process, and posts the files from a second process that generates the
body chunk by chunk, so neither side ever holds a file whole. Prints the server's peak RSS
growth during the upload (target: under 32 MiB) and the throughput::

    python bench/upload_memory.py [--files 10] [--file-mib 10]

The peak comes from ``VmHWM`` in ``/proc/<pid>/status``, reset just before the upload
through ``/proc/<pid>/clear_refs``, and from ``VmRSS`` sampled every few milliseconds where
that reset is not allowed. Linux only. Exits 1 if the upload was not stored as sent.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

HOST: Final = "127.0.0.1"
MIB: Final = 1024 * 1024
TARGET_GROWTH_BYTES: Final = 32 * MIB
BOUNDARY: Final = "gd-bench-boundary-5e1d"
START_TIMEOUT_SECONDS: Final = 30.0
UPLOAD_TIMEOUT_SECONDS: Final = 120.0
#: The client sends the body in pieces of this size.
SEND_CHUNK_BYTES: Final = 256 * 1024


# --- the server process ------------------------------------------------------------------


def serve(root: Path) -> None:
    """Serve POST /upload on a free loopback port; print the port once listening."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from gated_delivery.default_plugins.local_storage import LocalStorage
    from gated_delivery.uploads import UploadLimits, UploadRefused, receive_upload

    storage = LocalStorage(root)
    limits = UploadLimits()

    async def upload(request: Request) -> Response:
        try:
            received = await receive_upload(request, storage, limits, key_prefix="benchmark")
        except UploadRefused as exc:
            return JSONResponse({"error": str(exc)}, exc.status_code)
        files = [{"size_bytes": f.size_bytes, "sha256": f.sha256} for f in received.files]
        return JSONResponse({"files": files})

    async def drain(request: Request) -> Response:
        # the same body read and dropped: what the transport and the client alone allow
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return JSONResponse({"files": [], "bytes": size})

    routes = [Route("/upload", upload, methods=["POST"]), Route("/drain", drain, methods=["POST"])]
    app = Starlette(routes=routes)
    listener = socket.socket()
    listener.bind((HOST, 0))
    print(listener.getsockname()[1], flush=True)
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[listener])


# --- the client process ------------------------------------------------------------------


def file_content(index: int, size: int) -> Iterator[bytes]:
    """A PDF-looking file of ``size`` bytes, different for each ``index``, in pieces."""
    block = hashlib.sha256(str(index).encode()).digest() * (SEND_CHUNK_BYTES // 32)
    yield b"%PDF-1.7\n"
    left = size - 9
    while left > 0:
        yield block[:left]
        left -= len(block)


def part_head(index: int) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file{index}"; '
        f'filename="part-{index}.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()


CLOSING: Final = f"--{BOUNDARY}--\r\n".encode()


def body(files: int, size: int, digests: list[str]) -> Iterator[bytes]:
    """The multipart body, generated as it is sent; fills ``digests`` on the way."""
    for index in range(files):
        yield part_head(index)
        digest = hashlib.sha256()
        for piece in file_content(index, size):
            digest.update(piece)
            yield piece
        digests.append(digest.hexdigest())
        yield b"\r\n"
    yield CLOSING


def body_length(files: int, size: int) -> int:
    return sum(len(part_head(i)) + size + 2 for i in range(files)) + len(CLOSING)


def client(port: int, path: str, files: int, size: int) -> None:
    """Post the body once; print status, seconds and whether the server stored it as sent."""
    import httpx

    digests: list[str] = []
    headers = {
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        "content-length": str(body_length(files, size)),
    }
    started = time.perf_counter()
    response = httpx.post(
        f"http://{HOST}:{port}{path}",
        content=body(files, size, digests),
        headers=headers,
        timeout=UPLOAD_TIMEOUT_SECONDS,
    )
    seconds = time.perf_counter() - started
    stored = response.json().get("files", []) if response.status_code == 200 else []
    is_intact = path == "/drain" or (
        [f["sha256"] for f in stored] == digests and all(f["size_bytes"] == size for f in stored)
    )
    result = {
        "status": response.status_code,
        "seconds": seconds,
        "bytes": int(headers["content-length"]),
        "is_intact": is_intact,
        "detail": "" if response.status_code == 200 else response.text[:300],
    }
    print(json.dumps(result), flush=True)


# --- measuring -------------------------------------------------------------------------------


def status_kib(pid: int, field: str) -> int:
    """A ``kB`` figure from /proc/<pid>/status (VmRSS, VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> bool:
    """Make VmHWM start again from the current RSS; False where the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class RssSampler:
    """Samples VmRSS of a process every few milliseconds, keeping the highest."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = status_kib(pid, "VmRSS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            with contextlib.suppress(OSError, RuntimeError):
                self.peak_kib = max(self.peak_kib, status_kib(self.pid, "VmRSS"))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_client(port: int, files: int, size: int, path: str = "/upload") -> dict[str, object]:
    command = [sys.executable, __file__, "client", str(port), path, str(files), str(size)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=UPLOAD_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"client failed:\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main(files: int, file_mib: int) -> int:
    size = file_mib * MIB
    if not Path("/proc/self/status").exists():
        print("upload memory: skipped (needs Linux /proc)")
        return 0
    with tempfile.TemporaryDirectory(prefix="gd-upload-bench-") as tmp:
        server = subprocess.Popen(
            [sys.executable, __file__, "serve", tmp], stdout=subprocess.PIPE, text=True
        )
        try:
            port = wait_port(server)
            warm = run_client(port, 1, MIB)  # imports and first-request allocations
            if warm["status"] != 200:
                print(f"warm-up upload failed: {warm}")
                return 1
            baseline_kib = status_kib(server.pid, "VmRSS")
            has_reset = reset_peak(server.pid)
            with RssSampler(server.pid) as sampler:
                result = run_client(port, files, size)
            peak_kib = max(sampler.peak_kib, status_kib(server.pid, "VmHWM") if has_reset else 0)
            bare = run_client(port, files, size, "/drain")
        finally:
            stop(server)
    growth = (peak_kib - baseline_kib) * 1024
    seconds = float(str(result["seconds"]))
    sent = int(str(result["bytes"]))
    verdict = "target met" if growth < TARGET_GROWTH_BYTES else "OVER TARGET"
    print(f"upload: {files} x {file_mib} MiB in one request, LocalStorage, uvicorn on loopback")
    print(f"  status {result['status']}, stored intact: {result['is_intact']}")
    print(f"  server RSS: baseline {baseline_kib / 1024:.1f} MiB, peak {peak_kib / 1024:.1f} MiB")
    print(
        f"  peak RSS growth: {growth / MIB:.1f} MiB "
        f"(target < {TARGET_GROWTH_BYTES // MIB} MiB: {verdict})"
        f"{'' if has_reset else ' [VmRSS sampled; VmHWM reset refused]'}"
    )
    bare_seconds = float(str(bare["seconds"]))
    print(
        f"  throughput: {sent / MIB / seconds:.0f} MiB/s ({sent / MIB:.0f} MiB in {seconds:.2f} s)"
    )
    print(
        f"  same body read and dropped by a bare route: {sent / MIB / bare_seconds:.0f} MiB/s "
        f"(ours is {bare_seconds / seconds:.2f} of it; ours also writes and fsyncs each file)"
    )
    if result["status"] != 200 or not result["is_intact"]:
        print(f"  upload failed: {result['detail']}")
        return 1
    return 0


def wait_port(server: subprocess.Popen[str]) -> int:
    """The port the server printed, once it accepts connections."""
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.strip().isdigit():
        raise RuntimeError(f"server did not start (printed {line!r})")
    port = int(line)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return port
        time.sleep(0.05)
    raise RuntimeError(f"server not answering on port {port}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(Path(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "client":
        client(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--files", type=int, default=10)
        parser.add_argument("--file-mib", type=int, default=10)
        arguments = parser.parse_args()
        sys.exit(main(arguments.files, arguments.file_mib))
