"""The larger run of the user-server route fuzz (issue 22, Deliver 6): ``--examples N`` through the proxy.

The same strategies and checks as ``tests/integration/test_security_user_server.py`` (imported by path),
on a real local platform it starts (``astrohub up``), as a real user with a running server, but with
``PUT`` of new clusters too (each starts a real Dask cluster until the user's limit, after which the
gateway refuses: 409) and more examples. Prints the count of each status and exits 1 on any 5xx or
traceback (the failing example is printed by hypothesis).

    .venv/bin/python bench/fuzz_user_server.py --examples 2000
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time

from harness import TESTS, load_module, platform_harness


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=2000)
    p.add_argument("--no-create", action="store_true", help="leave out PUT of new clusters")
    args = p.parse_args(argv)

    from hypothesis import HealthCheck, given, settings

    harness = platform_harness()
    fuzz = load_module("astrohub_user_server_fuzz", TESTS / "integration" / "test_security_user_server.py")
    platform, up_args = harness.start_platform()
    statuses: collections.Counter[int] = collections.Counter()
    failure = None
    t0 = time.perf_counter()
    try:
        user = platform.unique("fuzzbench")
        platform.create_user(user)
        platform.start_server(user)
        base = platform.server_url(user)
        headers = {"Authorization": f"token {platform.user_token(user)}"}

        @settings(max_examples=args.examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(request=fuzz.requests_strategy(create_clusters=not args.no_create))
        def probe(request):
            method, path, body = request
            response = platform.session.request(method, base + path, data=body or None, headers=headers,
                                                timeout=180, allow_redirects=False)
            statuses[response.status_code] += 1
            fuzz.check(response, method, path)

        try:
            probe()
        except AssertionError as exc:
            failure = str(exc)
        # Stop what the fuzz started.
        listed = platform.session.get(base + "dask/clusters", headers=headers, timeout=180)
        for cluster in listed.json() if listed.status_code == 200 else []:
            platform.session.delete(base + f"dask/clusters/{cluster['id']}", headers=headers, timeout=180)
    finally:
        harness.stop_platform(platform, up_args)
    result = {"examples": args.examples, "requests": sum(statuses.values()), "seconds": round(time.perf_counter() - t0, 1),
              "statuses": dict(sorted(statuses.items())), "5xx": sum(n for s, n in statuses.items() if s >= 500),
              "failure": failure}
    print(json.dumps(result, indent=2))
    return 1 if failure or result["5xx"] else 0


if __name__ == "__main__":
    sys.exit(main())
