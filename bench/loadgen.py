"""Open- or closed-loop HTTP load from a process of its own.

    python bench/loadgen.py --url URL --plan plan.json [--rate R | --concurrency C] --seconds S

plan.json: {"token": …, "requests": [{"method": "POST", "path": …, "body": {…}}, …]} —
a request may carry its own "token"; requests are sent in order, cycling; bodies may
hold "{n}", which becomes the request's index (unique read ids). Open loop measures
latency from each request's scheduled time, so a slow server cannot hide its queue (no
coordinated omission). Prints one JSON object: sent, ok, errors, status counts, seconds,
per_s, p50_ms, p90_ms, p99_ms (and, with --latencies FILE, every latency to FILE).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def render(template: object, n: int) -> object:
    if isinstance(template, str):
        return template.replace("{n}", str(n))
    if isinstance(template, dict):
        return {k: render(v, n) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, n) for v in template]
    return template


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--rate", type=float, default=0.0, help="requests/s (open loop)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--first", type=int, default=0,
                        help="index of the first request: runs against one server take "
                             "disjoint ranges, so a read id is never sent twice")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--latencies", help="also write every latency (ms) to this JSON file")
    args = parser.parse_args()
    plan = json.load(open(args.plan, encoding="utf-8"))  # noqa: SIM115
    requests = plan["requests"]
    token = plan.get("token")
    target = urlsplit(args.url)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    counter = iter(range(10**12))
    start = time.perf_counter() + 0.2
    stop_at = start + args.seconds
    open_loop = args.rate > 0

    def worker() -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        while True:
            with lock:
                i = next(counter)
            n = args.first + i
            scheduled = start + i / args.rate if open_loop else time.perf_counter()
            if scheduled >= stop_at or (not open_loop and time.perf_counter() >= stop_at):
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            req = requests[n % len(requests)]
            body = json.dumps(render(req.get("body"), n), ensure_ascii=False).encode() \
                if req.get("body") is not None else None
            headers = {"Content-Type": "application/json"}
            if req.get("token") or token:  # a request's own token (its lane's device)
                headers["Authorization"] = f"Bearer {req.get('token') or token}"
            try:
                conn.request(req.get("method", "POST"), req["path"], body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            finished = time.perf_counter()
            with lock:
                statuses[status] += 1
                latencies.append((finished - scheduled) * 1000)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(
        args.threads if open_loop else args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = max(time.perf_counter() - start, 1e-9)
    seconds = min(elapsed, args.seconds + 30)
    if args.latencies:  # for a caller that merges runs (bench/gate_decision.py)
        with open(args.latencies, "w", encoding="utf-8") as out:
            json.dump({"latencies": latencies, "statuses": statuses, "seconds": seconds}, out)
    print(json.dumps(summary(latencies, statuses, seconds)))


def summary(latencies: list[float], statuses: dict[int, int], seconds: float
            ) -> dict[str, object]:
    """The figures of one run, or of several runs' latencies taken together."""
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0

    ok = sum(c for s, c in statuses.items() if 200 <= int(s) < 300)
    return {
        "sent": len(latencies), "ok": ok, "errors": len(latencies) - ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: int(kv[0]))},
        "seconds": round(seconds, 2), "per_s": round(len(latencies) / seconds, 1),
        "p50_ms": pct(0.5), "p90_ms": pct(0.9), "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else 0.0,
    }

if __name__ == "__main__":
    main()
