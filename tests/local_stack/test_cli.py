"""The commerce-hub command dispatches to local, send and demo."""

from __future__ import annotations

import pytest

from commerce_hub import cli


def test_local_options_parse() -> None:
    parser, _ = cli.build_parser("local")
    args = parser.parse_args(["local", "--port", "0", "--aws-port", "0", "--workers", "2", "--verbose"])
    assert (args.command, args.port, args.aws_port, args.workers, args.verbose) == ("local", 0, 0, 2, True)


def test_a_command_whose_module_is_missing_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_import_command", lambda name: None)
    assert cli.main(["demo"]) == 2
    assert "commerce-hub demo is not available in this checkout yet" in capsys.readouterr().err


def test_send_without_its_own_arguments_hook_takes_source_and_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_import_command", lambda name: None)
    parser, _ = cli.build_parser("send")
    args = parser.parse_args(["send", "shopify", "payload.json"])
    assert (args.source, args.file) == ("shopify", "payload.json")


def test_a_module_declares_and_receives_its_own_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    class Module:
        @staticmethod
        def add_arguments(parser):
            parser.add_argument("--speed")

        @staticmethod
        def main(args):
            seen["speed"] = args.speed
            return 0

    monkeypatch.setattr(cli, "_import_command", lambda name: Module)
    assert cli.main(["demo", "--speed", "fast"]) == 0
    assert seen == {"speed": "fast"}
