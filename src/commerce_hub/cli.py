"""The `commerce-hub` command: `local` starts the local stack; `send` and `demo` drive it.

`send` and `demo` live in their own modules (commerce_hub.send, commerce_hub.demo), imported only
when asked for, each with `main(args) -> int | None` and optionally `add_arguments(parser)` to
declare its own options; without that hook the documented arguments below are used.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["main"]

_PLUGGED = {
    "send": ("commerce_hub.send", "sign a sample payload with the local secret and post it to the running stack"),
    "event": ("commerce_hub.event", "print a signed API Gateway event for a payload, for sam local invoke -e"),
    "schemas": ("commerce_hub.schemas", "export the JSON Schema of every canonical event to docs/events/"),
    "demo": ("commerce_hub.demo", "drive a realistic scenario through the running stack and print what happened"),
    "ship": ("commerce_hub.ship", "mark an order's fulfilment shipped with a tracking number (no carrier configured)"),
    "secrets": ("commerce_hub.put_secrets", "create or update every hub secret in AWS from one JSON document"),
    "dlq": ("commerce_hub.dlq", "list, show and redrive the dead-letter queues (local stack, or --stack-name)"),
    "replay": (
        "commerce_hub.replay",
        "replay a window of the event archive into the bus (local stack, or --stack-name)",
    ),
}


def _import_command(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise


def _default_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    if command == "send":
        parser.add_argument("source", help="shopify, woocommerce, bigcommerce, magento, stripe, paypal or square")
        parser.add_argument("file", help="the payload to sign and send (JSON)")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def build_parser(wanted: str | None) -> tuple[argparse.ArgumentParser, dict[str, ModuleType | None]]:
    parser = argparse.ArgumentParser(prog="commerce-hub", description="Commerce Hub command line.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    from commerce_hub.local import run

    local = commands.add_parser("local", help="start the local stack in the foreground (what `make run` does)")
    run.add_arguments(local)

    modules: dict[str, ModuleType | None] = {}
    for command, (module_name, help_text) in _PLUGGED.items():
        sub = commands.add_parser(command, help=help_text)
        # Only the command being run is imported, so `commerce-hub local` stays quick.
        module = _import_command(module_name) if command == wanted else None
        modules[command] = module
        if module is not None and hasattr(module, "add_arguments"):
            module.add_arguments(sub)
        else:
            _default_arguments(command, sub)
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    parser, modules = build_parser(wanted)
    args = parser.parse_args(argv)

    if args.command == "local":
        from commerce_hub.local import run

        return run.main(args)

    module = modules.get(args.command)
    if module is None or not hasattr(module, "main"):
        module_name = _PLUGGED[args.command][0]
        print(
            f"commerce-hub {args.command} is not available in this checkout yet ({module_name} is missing).",
            file=sys.stderr,
        )
        return 2
    return int(module.main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
