"""A small closed-loop HTTP load generator, used by bench/http.py when wrk is missing.

    python -m bench.loadgen URL --connections N --seconds S [--bodies FILE.json]

N asyncio connections each send one request after the other (POST of the bodies in
turn, or GET without --bodies), opening a new connection whenever the server closes
it (gunicorn's sync workers close after every response). Prints one JSON line:
requests/s, p50/p99/p99.9/max latency in ms and the errors.
"""

import argparse
import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit


async def client(host, port, path, bodies, deadline, latencies, errors, offset):
    reader = writer = None
    n = offset
    while time.perf_counter() < deadline:
        body = bodies[n % len(bodies)].encode() if bodies else b""
        n += 1
        head = (f"{'POST' if bodies else 'GET'} {path} HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(head + body)
            status_line = await reader.readline()
            length, close = 0, False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and "close" in value.lower():
                    close = True
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not status_line.split(b" ")[1].startswith(b"2"):
                errors["status"] += 1
            if close:
                writer.close()
                reader = writer = None
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
            errors["connect"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None


async def main_async(url, connections, seconds, bodies):
    parts = urlsplit(url)
    latencies, errors = [], {"connect": 0, "status": 0}
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(client(parts.hostname, parts.port, parts.path or "/", bodies, deadline, latencies,
                                  errors, i * 7) for i in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 3) if latencies else None

    return {"requests": len(latencies), "rps": round(len(latencies) / elapsed), "p50_ms": pct(50),
            "p99_ms": pct(99), "p999_ms": pct(99.9), "max_ms": pct(100), "errors": sum(errors.values()),
            "errors_by_kind": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--bodies")
    args = parser.parse_args()
    bodies = json.loads(Path(args.bodies).read_text(encoding="utf-8")) if args.bodies else None
    print(json.dumps(asyncio.run(main_async(args.url, args.connections, args.seconds, bodies))))


if __name__ == "__main__":
    main()
