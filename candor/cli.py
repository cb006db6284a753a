"""`candor` command-line entry point."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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


@main.command()
@click.argument("clip", type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the per-second curves here as CSV.",
)
@click.option(
    "--frames",
    "frames_csv",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the per-frame signals here as CSV.",
)
@click.option("--json", "as_json", is_flag=True, help="Print curves, quality and provenance.")
@click.option(
    "--fps",
    type=click.FloatRange(min=0, min_open=True),
    help="Analyse a subsample of N frames per second (default: every frame).",
)
def analyze(
    clip: Path, output: Path | None, frames_csv: Path | None, as_json: bool, fps: float | None
) -> None:
    """Analyse one webcam clip into attention and expression curves."""
    if output is None and not as_json:
        raise click.UsageError("nothing to write: give -o curves.csv and/or --json")
    from tqdm import tqdm

    from worker.analysis import FRAME_COLUMNS, SECOND_COLUMNS, AnalysisError
    from worker.analysis import analyze as run_analysis
    from worker.analysis.mesh import native_stderr_silenced
    from worker.analysis.result import write_csv

    terminal = sys.stderr.isatty()
    with (
        native_stderr_silenced() as stderr,
        tqdm(
            total=100, unit="%", desc=clip.name, file=stderr, disable=not terminal, leave=False
        ) as bar,
    ):

        def progress(share: float) -> None:
            bar.update(round(share * 100) - bar.n)

        try:
            result = run_analysis(clip, fps=fps, on_progress=progress)
        except AnalysisError as error:
            error_message = str(error)
        else:
            error_message = ""
    if error_message:
        raise click.ClickException(error_message)
    try:
        if output is not None:
            write_csv(result.seconds, SECOND_COLUMNS, output)
        if frames_csv is not None:
            write_csv(result.frames, FRAME_COLUMNS, frames_csv)
    except OSError as error:
        raise click.ClickException(f"cannot write {error.filename}: {error.strerror}") from error
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    quality = result.quality
    excluded = quality.exclusion_reason or "no"
    click.echo(
        f"{clip.name}: {quality.n_frames} frames, {quality.duration_s:.1f} s, face found in "
        f"{quality.face_found_share:.0%}, excluded: {excluded}",
        err=True,
    )


if __name__ == "__main__":
    main()
