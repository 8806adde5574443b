"""``python -m oa_emulators NAME [--host H] [--port P] [--callback-url URL]``: serve one emulator with the sample
mapping's credentials (printed at start-up) until interrupted."""

from __future__ import annotations

import argparse

import uvicorn

from oa_emulators.harness import ADAPTERS, build_harness


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=ADAPTERS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--callback-url", default=None, help="where the emulator sends its callbacks")
    args = parser.parse_args(argv)
    harness = build_harness(args.name)
    harness.emulator.callback_url = args.callback_url
    settings = {k: v for k, v in vars(harness.emulator).items()
                if isinstance(v, (str, int)) and not k.startswith("_") and k not in ("name",)}
    print(f"{args.name} emulator on http://{args.host}:{args.port}; settings: {settings}")
    uvicorn.run(harness.emulator.app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
