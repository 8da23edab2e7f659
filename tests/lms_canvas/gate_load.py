"""One worker-like process for the shared gate's test: many concurrent Canvas requests under gate_for.

    python -m tests.lms_canvas.gate_load <canvas url> <access token> <connection id> <requests>

It sets up Django as a worker does (THROTTLE_REDIS_URL from the environment), builds a CanvasClient on
gate_for(connection id), prints "ready", waits for a line on stdin so every process starts at once,
sends the requests from more threads than the gate allows, and prints a JSON line with what failed.
"""

from __future__ import annotations

import json
import os
import sys


def main(url: str, token: str, connection_id: str, count: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from lms_canvas.client import CanvasClient, StaticToken
    from lms_canvas.gates import gate_for
    from lms_canvas.throttle import fetch_concurrently

    gate = gate_for(int(connection_id))
    client = CanvasClient(url, StaticToken(token), throttle=gate)
    print("ready", flush=True)
    sys.stdin.readline()
    outcomes = fetch_concurrently(lambda _: client.get_course(501), range(int(count)), max_workers=24)
    errors = [str(outcome) for _, outcome in outcomes if isinstance(outcome, Exception)]
    print(json.dumps({"errors": errors, "gate": type(gate).__name__, "max_limit": gate.max_limit}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
