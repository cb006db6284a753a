"""`candor` command-line entry point."""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """Candor: consent-first webcam ad testing."""


@main.command()
def migrate() -> None:
    """Apply database migrations to the configured database."""
    from candor.migrations import upgrade_to_head
    from web.settings import Settings

    upgrade_to_head(Settings())
    click.echo("database is at the latest migration")
