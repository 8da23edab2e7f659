"""`python -m lms_canvas.simulator serve|generate|check` (see CANVAS_SIMULATOR.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .app import SimApp, build_store, make_sim_server
from .generator import ADMIN_LOGIN, ADMIN_PASSWORD, write_dataset
from .store import validate


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lms_canvas.simulator", description="A Canvas LMS stand-in.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a dataset or a generated institution")
    source = serve.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="a dataset JSON file")
    source.add_argument("--generate", type=int, metavar="N", help="generate N courses")
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    serve.add_argument("--latency-ms", type=int, default=None)
    serve.add_argument("--control", action="store_true", help="enable the /_sim/* endpoints")
    generate = commands.add_parser("generate", help="write a generated dataset")
    generate.add_argument("--courses", type=int, required=True)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--out", help="output file (default: standard output)")
    check = commands.add_parser("check", help="validate a dataset file")
    check.add_argument("file")
    return parser


def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def serve(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.dataset:
        dataset = _load(args.dataset)
        problems = validate(dataset)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
        store = build_store(dataset)
    else:
        store = build_store(generate=args.generate, seed=args.seed)
    app = SimApp(store, control=args.control, latency_ms=args.latency_ms)
    server = make_sim_server(app, args.host, args.port)
    url = f"http://{args.host}:{server.server_port}"
    print(f"Canvas simulator ready at {url} in {time.monotonic() - started:.1f}s", flush=True)
    print(f"  {len(store.tables['courses'])} courses; control endpoints {'on' if args.control else 'off'}")
    if ADMIN_LOGIN in store.tables["admins"]:
        print(f"  Canvas admin login: {ADMIN_LOGIN} / {ADMIN_PASSWORD}")
    for key in store.tables["developer_keys"].values():
        print(f"  Developer key {key.get('name')!r}: client id {key['id']}, client secret {key.get('api_key')}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def generate(args: argparse.Namespace) -> int:
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            write_dataset(args.courses, args.seed, out)
    else:
        write_dataset(args.courses, args.seed, sys.stdout)
    return 0


def check(args: argparse.Namespace) -> int:
    try:
        dataset = _load(args.file)
    except (OSError, ValueError) as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        return 2
    problems = validate(dataset)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{args.file}: OK")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"serve": serve, "generate": generate, "check": check}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
