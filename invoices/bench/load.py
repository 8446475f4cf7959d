"""The throughput scenario's load, from a process of its own (no Django in it):

    python -m invoices.bench.load --plan plan.json > figures.json

The plan names the server, the targets (a path, a session cookie, extra headers, and
`fresh`: a number appended to the path, new for every request, so that no two requests
are the same) and the concurrencies. Each round runs every concurrency over every target
in turn, for `seconds` each, so drift on the machine hits every target alike; each
client thread keeps its own connection (keep-alive, as a browser does, and like one it
asks again once on a new connection when the server had closed the old one). Printed:
per target and concurrency, the requests, failures (anything but a 200), requests per
second and the p50 and p99 latencies over all rounds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import threading
import time
from typing import Any

import requests

TIMEOUT = 30.0


def _slice(url: str, target: dict[str, Any], clients: int, seconds: float) -> dict[str, Any]:
    """`clients` threads asking for `target` for `seconds`: their latencies, failures."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    headers = dict(target.get("headers") or {})
    if target.get("session"):
        headers["Cookie"] = f"sessionid={target['session']}"
    numbers = itertools.count(int(time.time() * 1000))  # new across rounds, too

    def client() -> None:
        nonlocal failures
        mine: list[float] = []
        failed = 0
        with requests.Session() as session:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                ok = False
                # A connection the server closed while idle (a worker recycled after its
                # `max_requests`) is tried once more on a new one, as browsers do.
                for _attempt in range(2):
                    try:
                        path = target["path"]
                        if target.get("fresh"):
                            with lock:
                                path += str(next(numbers))
                        answer = session.get(
                            url + path, headers=headers, timeout=TIMEOUT,
                            allow_redirects=False,
                        )  # fmt: skip
                        ok = answer.status_code == 200
                        break
                    except requests.ConnectionError:
                        continue
                    except requests.RequestException:
                        break
                mine.append(time.perf_counter() - started)
                failed += not ok
        with lock:
            latencies.extend(mine)
            failures += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "failures": failures, "seconds": time.perf_counter() - started}


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `samples`."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run(plan: dict[str, Any]) -> list[dict[str, Any]]:
    url = plan["url"]
    gathered: dict[tuple[str, int], dict[str, Any]] = {}
    for _round in range(plan["rounds"]):
        for clients in plan["concurrencies"]:
            for target in plan["targets"]:
                part = _slice(url, target, clients, plan["seconds"])
                into = gathered.setdefault(
                    (target["key"], clients), {"latencies": [], "failures": 0, "seconds": 0.0}
                )
                into["latencies"] += part["latencies"]
                into["failures"] += part["failures"]
                into["seconds"] += part["seconds"]
    figures = []
    for (key, clients), part in gathered.items():
        samples = part["latencies"]
        figures.append(
            {
                "key": key,
                "concurrency": clients,
                "requests": len(samples),
                "failures": part["failures"],
                "rps": round(len(samples) / part["seconds"], 1) if part["seconds"] else 0.0,
                "p50_ms": round(statistics.median(samples) * 1000, 1) if samples else None,
                "p99_ms": round(percentile(samples, 0.99) * 1000, 1) if samples else None,
            }
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plan", required=True)
    options = parser.parse_args()
    with open(options.plan) as plan:
        print(json.dumps(run(json.load(plan))))


if __name__ == "__main__":
    main()
