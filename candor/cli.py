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
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, help="Web server processes.")
@click.option("--concurrency", default=1, show_default=True, help="Analysis processes.")
@click.option("--demo/--no-demo", default=True, show_default=True, help="Create the demo study.")
@click.option(
    "--samples/--no-samples",
    default=True,
    show_default=True,
    help="At the demo's first start, add generated sample panelists in the background.",
)
def serve(host: str, port: int, workers: int, concurrency: int, demo: bool, samples: bool) -> None:
    """Migrate, seed the demo, and run the web app with a worker and the sweeper until Ctrl-C."""
    import os

    from candor.migrations import upgrade_to_head
    from candor.serve import (
        embedded_defaults,
        print_demo,
        run_children,
        web_command,
        worker_command,
    )
    from web.settings import Settings

    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    # The children inherit these: snippets name the real port, tokens use a real secret.
    os.environ.update(embedded_defaults(Settings(), base))
    settings = Settings()
    upgrade_to_head(settings)
    seeder = print_demo(settings, base) if demo else None
    click.echo(
        f"candor: web on {base}, database {_safe(settings.resolved_database_url)}, "
        f"broker {_safe(settings.resolved_broker_url)}"
    )
    code = run_children(
        {
            "web": web_command(host, port, workers),
            "worker": worker_command(
                settings,
                concurrency,
                beat=True,
                hostname=f"candor-serve-{os.getpid()}@%h",
                quiet=True,
            ),
        },
        oneshot={"samples": seeder} if seeder and samples else None,
    )
    raise SystemExit(code)


def _safe(url: str) -> str:
    """A database URL without its password, for the console."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]  # not a URL SQLAlchemy reads: at least drop any credentials


@main.command()
@click.option("--concurrency", default=1, show_default=True, help="Analysis processes.")
@click.option("--beat/--no-beat", default=False, help="Also run the periodic sweeper (one only).")
def worker(concurrency: int, beat: bool) -> None:
    """Run a Celery worker for the analysis queue."""
    import os

    from candor.serve import worker_command
    from web.settings import Settings

    command = worker_command(Settings(), concurrency, beat)
    os.execv(command[0], command)  # noqa: S606  (become the worker: signals go straight to it)


@main.command()
def beat() -> None:
    """Run the periodic scheduler (sweeper, requeue); exactly one per deployment."""
    import os
    import sys

    from web.settings import Settings

    schedule = Settings().data_dir / "celerybeat-schedule"
    command = [sys.executable, "-m", "celery", "-A", "worker.celery_app", "beat"]
    command += ["--loglevel", "INFO", "--schedule", str(schedule)]
    os.execv(command[0], command)  # noqa: S606


@main.command()
def sweep() -> None:
    """Finish idle uploads, delete expired and stray clip video, and hand queued clips to the
    broker again: one pass of the periodic jobs."""
    from web import models  # noqa: F401  (every table: the clips' foreign keys name the studies')
    from web.clips.idle import end_idle_sessions, finish_idle_clips
    from web.clips.queue import enqueue_analysis
    from web.clips.sweep import requeue_clips
    from web.clips.sweep import sweep as sweep_once
    from web.db import make_engine, make_session_factory
    from web.settings import Settings

    settings = Settings()
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)

    def send(clip_id: int) -> bool:
        return enqueue_analysis(settings, clip_id)

    click.echo(f"idle uploads: {finish_idle_clips(settings=settings, factory=factory, send=send)}")
    click.echo(f"idle sessions ended: {end_idle_sessions(settings=settings, factory=factory)}")
    click.echo(f"sweep: {sweep_once(settings=settings, factory=factory)}")
    sent = requeue_clips(settings=settings, factory=factory, send=send)
    click.echo(f"requeue: {sent} clip(s) handed to the broker")
    engine.dispose()


# `candor analyze` exits with this when the clip was analysed but Candor would leave it out of
# results (no face, too dark, ...): files are written, and scripts can tell it from success (0),
# a clip that cannot be read (1) and a usage mistake (2).
EXIT_EXCLUDED = 3


@main.command(epilog=f"Exit status: 0 usable curves; 1 the clip cannot be read or a file "
              f"written; 2 a usage mistake; {EXIT_EXCLUDED} analysed, but excluded (the reason "
              "is on stderr, and in --json's quality).")  # fmt: skip
@click.argument("clip", type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the per-second curves here as CSV, and each column's scale and AU beside it "
    "(curves.csv -> curves.columns.csv).",
)
@click.option(
    "--frames",
    "frames_csv",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the per-frame signals here as CSV (with its .columns.csv too).",
)
@click.option("--json", "as_json", is_flag=True, help="Print curves, quality and provenance.")
@click.option(
    "--fps",
    type=click.FloatRange(min=0, min_open=True),
    help="Analyse a subsample of N frames per second (default: the analysis's own rate).",
)
@click.option(
    "--emotions",
    is_flag=True,
    help="Also compute emotions (joy ... contempt, valence, engagement); off unless asked.",
)
def analyze(
    clip: Path,
    output: Path | None,
    frames_csv: Path | None,
    as_json: bool,
    fps: float | None,
    emotions: bool,
) -> None:
    """Analyse one webcam clip into attention and expression curves.

    One line on stderr says how many frames a second were analysed of how many the clip has,
    and whether the clip is usable.
    """
    if output is None and not as_json:
        raise click.UsageError("nothing to write: give -o curves.csv and/or --json")
    from tqdm import tqdm

    from worker.analysis import AnalysisError
    from worker.analysis import analyze as run_analysis
    from worker.analysis.constants import frame_columns, second_columns
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
            result = run_analysis(clip, fps=fps, on_progress=progress, emotions=emotions)
        except AnalysisError as error:
            error_message = str(error)
        else:
            error_message = ""
    if error_message:
        raise click.ClickException(error_message)
    from candor.columns import write_sidecar
    from candor.quality import EXCLUSION_REASONS

    try:
        if output is not None:
            write_csv(result.seconds, second_columns(emotions), output)
            write_sidecar(output, second_columns(emotions), per_second=True)
        if frames_csv is not None:
            write_csv(result.frames, frame_columns(emotions), frames_csv)
            write_sidecar(frames_csv, frame_columns(emotions), per_second=False)
    except OSError as error:
        raise click.ClickException(f"cannot write {error.filename}: {error.strerror}") from error
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    quality = result.quality
    reason = quality.exclusion_reason
    excluded = f"{reason} ({EXCLUSION_REASONS.get(reason, reason).lower()})" if reason else "no"
    click.echo(
        f"{clip.name}: {quality.n_frames} frames, {quality.duration_s:.1f} s "
        f"({_sampling(clip, quality.n_frames, quality.duration_s)}), face found in "
        f"{quality.face_found_share:.0%}, excluded: {excluded}",
        err=True,
    )
    if reason:
        sys.exit(EXIT_EXCLUDED)


def _sampling(clip: Path, analysed: int, duration_s: float) -> str:
    """The analysis's rate against the clip's own (counted from its packets, no decoding), as
    "15 of 30 frames a second analysed"; the clip's is left out where the file does not tell."""
    import av

    rate = analysed / duration_s if duration_s > 0 else 0.0
    try:
        with av.open(str(clip)) as container:
            packets = sum(1 for p in container.demux(video=0) if p.size)
    except (av.FFmpegError, OSError, IndexError):
        packets = 0
    if packets and duration_s > 0:
        return f"{rate:.0f} of {packets / duration_s:.0f} frames a second analysed"
    return f"{rate:.0f} frames a second analysed"


if __name__ == "__main__":
    main()
