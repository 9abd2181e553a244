"""The `open311 export` command: the public request data as Parquet, CSV and GeoJSON with a data package."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from open311.cli.startup import pick_jurisdiction, services_for
from open311.services import Services


class Progress:
    """One line on stderr per file and every few seconds while a file is written (rows so far)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.rows: dict[str, int] = {}
        self.shown = 0.0

    def __call__(self, stem: str, rows: int) -> None:
        """Count rows written to `stem`; say so when a new file starts or two seconds passed."""
        first = stem not in self.rows
        self.rows[stem] = self.rows.get(stem, 0) + rows
        now = time.monotonic()
        if not self.quiet and (first or now - self.shown >= 2):
            click.echo(f"{stem}: {self.rows[stem]:,} rows written", err=True)
            self.shown = now


@click.command("export")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write into (default: the jurisdiction's folder of the one /data/ serves: "
                   "OPEN311_DATA_DIR or instance/data, then the jurisdiction id).")
@click.option("--jurisdiction", "jurisdiction_id", default=None, help="Optional with one production jurisdiction.")
@click.option("--force", is_flag=True, help="Rewrite every file, changed or not.")
@click.option("--s3", "to_s3", is_flag=True,
              help="Also upload the files written to the media store's bucket (OPEN311_MEDIA_STORAGE=s3), under "
                   "OPEN311_DATA_S3_PREFIX then the jurisdiction id.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def export(out: Path | None, jurisdiction_id: str | None, force: bool, to_s3: bool, quiet: bool) -> None:
    """Write the public request data (what the feeds publish, no personal data) as files: one per calendar year
    and the last 90 days, each in Parquet, CSV and GeoJSON, with datapackage.json; only what changed since the
    last run is rewritten. A sandbox jurisdiction is never exported."""
    from open311.feeds.snapshots import data_root
    from open311.feeds.snapshots import export as write

    gateway = services_for("config", tables=True)
    jurisdiction = pick_jurisdiction(gateway.config, jurisdiction_id)
    if jurisdiction.sandbox_of is not None:
        raise click.BadParameter(f"{jurisdiction.id} is a sandbox: its data is never published",
                                 param_hint="--jurisdiction")
    folder = out or data_root(gateway.settings, gateway.instance_path) / jurisdiction.id
    store = _bucket(gateway) if to_s3 else None
    progress = Progress(quiet)
    report = write(gateway.sessions, jurisdiction, folder, gateway.clock(),
                   license_url=str(gateway.settings["OPEN311_DATA_LICENSE"]), force=force, progress=progress)
    prefix = f"{gateway.settings['OPEN311_DATA_S3_PREFIX']}{jurisdiction.id}/"   # the layout /data/ serves
    uploaded = _upload(store, folder, report.written, prefix) if store is not None else 0
    click.echo(f"{jurisdiction.id}: {len(report.written)} file set(s) written ({report.rows:,} rows), "
               f"{len(report.kept)} unchanged, {len(report.removed)} removed, in {report.seconds:.1f} s"
               + (f"; {uploaded} object(s) uploaded" if store is not None else "") + f"; folder {folder}")


def _bucket(gateway: Services) -> object:
    """The media store's S3 bucket (exit 2 when the media store is not S3)."""
    from open311.media.store import S3MediaStore, build_media_store

    store = build_media_store(gateway.settings, str(gateway.instance_path))
    if not isinstance(store, S3MediaStore):
        click.echo("error: --s3 needs OPEN311_MEDIA_STORAGE=s3 (the snapshots go to the media store's bucket).",
                   err=True)
        sys.exit(2)
    return store


def _upload(store: object, folder: Path, stems: list[str], prefix: str) -> int:
    """Put the files written this run, then datapackage.json and manifest.json, into the bucket."""
    from open311.feeds.snapshot_formats import FORMATS, MEDIA_TYPES
    from open311.feeds.snapshots import MANIFEST, PACKAGE
    from open311.media.store import S3MediaStore

    assert isinstance(store, S3MediaStore)
    names = [(f"{stem}.{fmt}", MEDIA_TYPES[fmt]) for stem in stems for fmt in FORMATS]
    names += [(PACKAGE, "application/json"), (MANIFEST, "application/json")]
    for name, kind in names:
        store.client().upload_file(str(folder / name), store.bucket, prefix + name, ExtraArgs={"ContentType": kind})
    return len(names)
