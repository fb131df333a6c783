"""manage.py pull_release ID --format F --out DIR: copy one format of a release out of storage, verified."""

import hashlib
import os

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.core.errors import DomainError
from apps.datasets.formats import FORMATS
from apps.datasets.formats.base import check_relpath
from apps.datasets.models import DatasetRelease
from apps.datasets.services import (
    release_download_check,
    release_download_record,
    release_files,
)


class Command(BaseCommand):
    help = "Download one format of a release into a local folder, checking every file against SHA256SUMS."

    def add_arguments(self, parser):
        parser.add_argument("release", type=int, help="Release id.")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--out", required=True, help="Folder to write into (created; must be empty).")

    def handle(self, *args, **opts):
        release = DatasetRelease.objects.filter(id=opts["release"]).first()
        if release is None:
            raise CommandError(f"No release with id {opts['release']}.")
        fmt, out = opts["format"], opts["out"]
        try:
            release_download_check(release=release, fmt=fmt)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if os.path.isdir(out) and os.listdir(out):
            raise CommandError(f"The folder {out} is not empty.")
        files = release_files(release=release, fmt=fmt)
        release_download_record(actor=None, release=release, fmt=fmt, path="(pull_release)")
        prefix = f"{release.storage_prefix}{fmt}/"
        for relpath, digest in tqdm(
            files, unit="file", desc=f"v{release.version} {fmt}", disable=opts["verbosity"] == 0
        ):
            target = os.path.join(out, *check_relpath(relpath).split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            sha = hashlib.sha256()
            with default_storage.open(prefix + relpath, "rb") as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    sha.update(chunk)
                    dst.write(chunk)
            if digest and sha.hexdigest() != digest:
                raise CommandError(f"{relpath} does not match its SHA256SUMS entry; the copy in {out} is incomplete.")
        self.stdout.write(f"{len(files)} files of release {release.id} ({fmt}) written to {out}, all verified.")
