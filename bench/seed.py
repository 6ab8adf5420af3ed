#!/usr/bin/env python3
"""Seed synthetic children through the API, for bench/run.sh.

Standard library only. POSTs COUNT children to BASE/api/v1/children with a token allowed to create them (vso or
vs_admin), from a few concurrent threads, and writes one line per created child to OUT:

    <child id>\t<lcs_id>\t<social_worker_id>

Child n (1-based) gets lcs_id BENCH-<n:06>, first name Child<n:05>, last name Example, and social worker
sw-bench-<n mod 50>, so each of the 50 social workers has COUNT/50 children on their caseload.

usage: seed.py BASE_URL TOKEN OUT [--count N] [--threads N] [--deadline SECONDS]
"""

import argparse
import concurrent.futures
import json
import sys
import time
import urllib.error
import urllib.request

SOCIAL_WORKERS = 50


def child(n: int) -> dict:
    return {
        "lcs_id": f"BENCH-{n:06d}",
        "first_name": f"Child{n:05d}",
        "last_name": "Example",
        "date_of_birth": "2012-05-01",
        "sex": "U",
        "looked_after_since": "2025-09-01",
        "social_worker_id": f"sw-bench-{n % SOCIAL_WORKERS}",
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base")
    p.add_argument("token")
    p.add_argument("out")
    p.add_argument("--count", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--deadline", type=float, default=600.0, help="give up after this many seconds")
    a = p.parse_args()

    url = a.base.rstrip("/") + "/api/v1/children"
    headers = {
        "Authorization": f"Bearer {a.token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    give_up_at = time.monotonic() + a.deadline

    def post(n: int) -> tuple[int, str]:
        if time.monotonic() > give_up_at:
            raise RuntimeError("deadline passed")
        body = json.dumps(child(n)).encode()
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                if res.status != 201:
                    raise RuntimeError(f"child {n}: HTTP {res.status}")
                return n, json.load(res)["id"]
        except urllib.error.HTTPError as e:
            detail = e.read(500).decode(errors="replace")
            raise RuntimeError(f"child {n}: HTTP {e.code}: {detail}") from None

    started = time.monotonic()
    ids: dict[int, str] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.threads) as pool:
        futures = [pool.submit(post, n) for n in range(1, a.count + 1)]
        try:
            for f in concurrent.futures.as_completed(futures):
                n, child_id = f.result()
                ids[n] = child_id
        except Exception as e:  # stop at the first failure
            for f in futures:
                f.cancel()
            print(f"seed: {e}", file=sys.stderr)
            return 1

    with open(a.out, "w", encoding="utf-8") as out:
        for n in sorted(ids):
            c = child(n)
            out.write(f"{ids[n]}\t{c['lcs_id']}\t{c['social_worker_id']}\n")
    took = time.monotonic() - started
    print(f"seed: {len(ids)} children in {took:.1f}s ({len(ids) / took:.0f}/s) -> {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
