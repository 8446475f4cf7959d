"""Steady load for the failover test: list-page requests from a second process.

    python tests/failover/load.py --url http://127.0.0.1:8100 --url http://127.0.0.1:8101 \
        --username ops --password ... --out load.jsonl [--concurrency 2]

Signs in once, then each of `--concurrency` threads asks for the invoice list from the
instances in turn (round robin, as a load balancer would) until SIGTERM. A refused
connection (nothing was sent: the instance is gone) is retried at once on the next
instance and marked `rerouted`, as a balancer's "next upstream on a connection error"
does; anything else that is not a 200 list page (a reset or a timeout after the request
went out, a 5xx, a redirect to the sign-in page) is a failure. One JSON line per request.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import signal
import threading
import time

import requests

PAGES = ["/", "/?status=unpaid", "/?sort=-total", "/?page=2"]


def sign_in(url: str, username: str, password: str) -> str:
    """The session cookie of a real sign-in (cookies are Secure outside DEBUG, so they
    are carried by hand over this plain-HTTP test stack)."""
    form = requests.get(f"{url}/accounts/login/", timeout=10)
    token = form.cookies["csrftoken"]
    hidden = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = requests.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": hidden},
        headers={"Cookie": f"csrftoken={token}"},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code != 302 or "sessionid" not in answer.cookies:
        raise SystemExit(f"sign-in refused: HTTP {answer.status_code}")
    return answer.cookies["sessionid"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", action="append", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--concurrency", type=int, default=2)
    options = parser.parse_args()

    session = sign_in(options.url[0], options.username, options.password)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    turn = itertools.count()
    lock = threading.Lock()
    out = open(options.out, "a", buffering=1)  # noqa: SIM115 - one line per request

    def record(**line: object) -> None:
        with lock:
            out.write(json.dumps(line) + "\n")

    def worker(n: int) -> None:
        pages = itertools.cycle(PAGES[n % len(PAGES) :] + PAGES[: n % len(PAGES)])
        while not stop.is_set():
            path = next(pages)
            first = next(turn) % len(options.url)
            rerouted = False
            for attempt in range(len(options.url)):
                url = options.url[(first + attempt) % len(options.url)]
                started = time.time()
                try:
                    # A new connection per request (no keep-alive), as from many browsers:
                    # a failure is then a request the lost instance had in hand.
                    answer = requests.get(
                        url + path,
                        headers={"Cookie": f"sessionid={session}", "Connection": "close"},
                        allow_redirects=False,
                        timeout=10,
                    )
                except requests.ConnectionError as exc:
                    if _refused(exc) and attempt + 1 < len(options.url):
                        rerouted = True
                        continue
                    outcome, status, detail = "failed", type(exc).__name__, str(exc)[:300]
                except requests.RequestException as exc:
                    outcome, status, detail = "failed", type(exc).__name__, str(exc)[:300]
                else:
                    status, detail = answer.status_code, ""
                    page = status == 200 and b'id="results-announce"' in answer.content
                    outcome = "ok" if page else "failed"
                record(
                    t=started, url=url, path=path, outcome=outcome, status=status,
                    rerouted=rerouted, ms=round((time.time() - started) * 1000, 1), detail=detail,
                )  # fmt: skip
                break

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(options.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.close()


def _refused(exc: requests.ConnectionError) -> bool:
    text = repr(exc)
    return "Connection refused" in text or "ConnectionRefusedError" in text


if __name__ == "__main__":
    main()
