"""Every ``geomon`` command and sub-command answers ``--help`` (exit 0, its own usage line),
and the README documents every setting."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import BaseModel
from typer.testing import CliRunner

from geomon import cli
from geomon.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _command_paths() -> list[list[str]]:
    cli._register_subapps()
    root = typer.main.get_command(cli.app)
    paths: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    return paths


def test_every_command_has_help() -> None:
    paths = _command_paths()
    assert len(paths) > 40
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(cli.app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output, path


def _env_names(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            names += _env_names(ann, f"{prefix}{name.upper()}__")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [n for n in _env_names(Settings, "GEOMON_") if f"`{n}`" not in readme]
    assert missing == []


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```")[1]
    commands = [
        line.split("#")[0].strip()
        for line in block.splitlines()
        if line.strip() and not line.startswith("sh")
    ]
    assert commands == ["scripts/demo", "scripts/test"]
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec scripts/test")
