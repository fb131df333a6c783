"""earmark-client against a live Earmark server and a real worker: pull every format and open it with its real
consumer, resume an interrupted pull, repair a corrupted file, stream shards, and sync after a withdrawal."""

import gzip
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from earmark_client import Client, EarmarkError, iter_shard, pull, sync, verify
from earmark_client.pull import parse_sums
from earmark_client.stream import RangeReader

from tests.client.conftest import ALL_FORMATS

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("worker")]
ROOT = Path(__file__).resolve().parents[2]


def open_with_consumer(fmt: str, root: Path, tmp_path: Path) -> set[str]:
    """Open a pulled copy with the library its format is for; return the example keys it yields."""
    keys: set[str] = set()
    if fmt == "jsonl":
        for manifest in (root / "manifests").glob("*.jsonl"):
            frame = pd.read_json(manifest, lines=True)
            for row in frame.itertuples():
                audio, sr = sf.read(manifest.parent / row.audio_filepath)
                assert sr == row.sample_rate and len(audio) == row.num_samples
                keys.add(row.key)
    elif fmt == "csv":
        frame = pd.read_csv(root / "metadata.csv", keep_default_na=False)
        for row in frame.itertuples():
            assert sf.info(root / row.file).frames == row.num_samples
            keys.add(row.key)
    elif fmt == "hf-parquet":
        import datasets

        dd = datasets.load_dataset(str(root), cache_dir=str(tmp_path / f"hf-{len(os.listdir(tmp_path))}"))
        for split in dd:
            for row in dd[split].cast_column("audio", datasets.Audio(decode=False)):
                import io

                audio, _ = sf.read(io.BytesIO(row["audio"]["bytes"]))
                assert len(audio) == row["num_samples"]
                keys.add(row["key"])
    elif fmt == "lhotse":
        from lhotse import CutSet, RecordingSet, SupervisionSet

        for path in (root / "lhotse").glob("recordings_*.jsonl.gz"):
            split = path.name[len("recordings_") : -len(".jsonl.gz")]
            recs = RecordingSet.from_file(path).with_path_prefix(root)
            sups = SupervisionSet.from_file(root / f"lhotse/supervisions_{split}.jsonl.gz")
            for cut in CutSet.from_manifests(recordings=recs, supervisions=sups):
                assert cut.load_audio().shape[-1] == cut.num_samples
                keys.add(cut.recording_id)
    elif fmt == "webdataset":
        import webdataset as wds

        for shard in sorted((root / "shards").glob("*.tar")):
            for sample in wds.WebDataset(str(shard), shardshuffle=False):
                meta = json.loads(sample["json"])
                assert sf.info(__import__("io").BytesIO(sample["flac"])).frames == meta["num_samples"]
                keys.add(sample["__key__"])
    return keys


def keys_anywhere(root: Path) -> str:
    """Everything a copy says, decompressed, as one text to search for keys (names, manifests, rows, members)."""
    parts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".earmark" not in p.parts):
        parts.append(str(path.relative_to(root)))
        if path.suffix in (".jsonl", ".csv", ".txt") or path.name == "SHA256SUMS":
            parts.append(path.read_text())
        elif path.name.endswith(".jsonl.gz"):
            parts.append(gzip.decompress(path.read_bytes()).decode())
        elif path.suffix == ".parquet":
            parts.append(" ".join(pq.read_table(path, columns=["key"])["key"].to_pylist()))
        elif path.suffix == ".tar":
            with tarfile.open(path) as tar:
                parts.append(" ".join(tar.getnames()))
    return "\n".join(parts)


def test_pull_every_format_open_it_then_sync_a_withdrawal_away(live_release, corpus, tmp_path):
    from django.db import transaction

    from apps.consent.models import ConsentRecord
    from apps.consent.services import consent_withdraw
    from apps.datasets.models import ReleaseItem

    release, url, token = live_release()
    client = Client(url, token)
    assert [r["id"] for r in client.releases(corpus["project"].id)] == [release.id]
    assert set(client.formats(release.id)) == set(ALL_FORMATS)
    assert corpus["project"].id in {p["id"] for p in client.projects()}
    all_keys = set(ReleaseItem.objects.filter(release=release).values_list("key", flat=True))

    copies = {}
    for fmt in ALL_FORMATS:
        copies[fmt] = tmp_path / fmt
        result = pull(client, release.id, fmt, copies[fmt], workers=3, progress=False)
        assert result.fetched and not result.corrupt and verify(copies[fmt]) == []
        assert open_with_consumer(fmt, copies[fmt], tmp_path) == all_keys, fmt

    # A speaker withdraws: the server marks the release, deletes its files, and lists the examples to delete.
    victim = corpus["speakers"][1]
    with transaction.atomic():
        consent_withdraw(
            consent_id=ConsentRecord.objects.get(speaker=victim, status="granted").id, actor=corpus["users"]["manager"]
        )
    gone = set(ReleaseItem.objects.filter(release=release, withdrawn_at__isnull=False).values_list("key", flat=True))
    assert gone and gone < all_keys
    with pytest.raises(EarmarkError) as refused:  # a fresh pull is refused with the server's sentence
        pull(client, release.id, "jsonl", tmp_path / "again", progress=False)
    assert refused.value.status == 410 and "withdrew consent" in str(refused.value)

    for fmt, root in copies.items():
        before = keys_anywhere(root)
        assert all(k in before for k in gone), fmt
        result = sync(client, root)
        assert set(result.withdrawn) == gone, fmt
        after = keys_anywhere(root)
        assert not [k for k in gone if k in after], f"{fmt}: a withdrawn example is still on disk"
        assert verify(root) == [], f"{fmt}: local checksums do not verify after sync"
        assert set(parse_sums((root / "SHA256SUMS").read_text())) | {"SHA256SUMS"} == {
            str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".earmark" not in p.parts
        }
        assert open_with_consumer(fmt, root, tmp_path) == all_keys - gone, fmt
        log = [json.loads(line) for line in (root / ".earmark/sync.log").read_text().splitlines()]
        assert {entry["key"] for entry in log} == gone and all(entry["release_id"] == release.id for entry in log)
        assert sync(client, root).withdrawn == []  # a second sync finds nothing more to delete


def test_interrupted_pull_resumes_with_range_requests_and_corrupt_files_are_fetched_again(live_release, tmp_path):
    release, url, token = live_release(formats=["webdataset", "jsonl"])
    client = Client(url, token)
    dest = tmp_path / "wds"
    total = release.files["webdataset"]["bytes"]
    heard = []

    class Stop(Exception):
        pass

    def stop_midway(n):
        heard.append(n)
        if sum(heard) > total // 3:
            raise Stop

    with pytest.raises(Stop):
        pull(client, release.id, "webdataset", dest, workers=1, progress=False, on_bytes=stop_midway)
    parts = list(dest.rglob("*.part"))
    assert parts and all(p.stat().st_size > 0 for p in parts)
    assert not (dest / ".earmark/state.json").exists()

    resumed = pull(client, release.id, "webdataset", dest, workers=2, progress=False)
    assert resumed.resumed, "the .part file was not continued"
    assert resumed.bytes_downloaded <= total - sum(heard)  # only the rest came over the wire
    assert not list(dest.rglob("*.part")) and verify(dest) == []

    # A file damaged on disk is found and fetched again; the others are kept.
    jsonl = tmp_path / "jsonl"
    pull(client, release.id, "jsonl", jsonl, progress=False)
    victim = sorted((jsonl / "audio").rglob("*.flac"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    assert verify(jsonl) == [str(victim.relative_to(jsonl))]
    repaired = pull(client, release.id, "jsonl", jsonl, progress=False)
    assert repaired.corrupt == [str(victim.relative_to(jsonl))] and repaired.fetched == repaired.corrupt
    assert len(repaired.kept) == len(parse_sums((jsonl / "SHA256SUMS").read_text())) - 1
    assert verify(jsonl) == []


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 that drops its first connection after ``cut_after`` bytes of the answer."""

    def __init__(self, target: str, cut_after: int) -> None:
        parts = urlsplit(target)
        self.target, self.cut_after, self.connections = (parts.hostname, parts.port), cut_after, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection(self.target)
            limit = self.cut_after if self.connections == 1 else None
            threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, limit), daemon=True).start()

    @staticmethod
    def _pump(src, dst, limit) -> None:
        sent = 0
        try:
            while data := src.recv(16384):
                if limit is not None and sent + len(data) >= limit:
                    dst.sendall(data[: limit - sent])
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.listener.close()


def test_stream_shards_over_http_with_webdataset_and_the_client(live_release, tmp_path, settings):
    import webdataset as wds

    from apps.datasets.models import ReleaseItem

    release, url, token = live_release(formats=["webdataset"])
    client = Client(url, token)
    train = set(ReleaseItem.objects.filter(release=release, split="train").values_list("key", flat=True))
    # webdataset itself, given the client's URLs (curl with the auth header)
    seen = {s["__key__"] for s in wds.WebDataset(client.webdataset_urls(release.id, "train"), shardshuffle=False)}
    assert seen == train
    # the client's own reader, over plain HTTP
    urls = client.shard_urls(release.id, "train")
    samples = [s for u in urls for s in iter_shard(client, u)]
    assert {s["__key__"] for s in samples} == train and all({"flac", "json"} <= set(s) for s in samples)
    # range requests: the shard from byte 512 on is the same bytes as the tail of the whole one
    whole = client.session.get(urls[0]).content
    tail = client.open_shard(urls[0], start=512)
    assert tail.status_code == 206 and tail.content == whole[512:]
    # a connection dropped mid-shard is picked up again with a range request from the byte reached
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]  # the proxy's address, in the Host header
    proxy = CuttingProxy(url, cut_after=40_000)
    try:
        reader = RangeReader(Client(proxy.url, token), urls[0].replace(url, proxy.url))
        assert reader.read() == whole and reader.reconnects == 1 and proxy.connections == 2
    finally:
        proxy.close()
    # without a token, nothing
    with pytest.raises(EarmarkError) as refused:
        Client(url).shard_urls(release.id, "train")
    assert refused.value.status in (401, 403)


def test_cli_lists_pulls_streams_and_syncs(live_release, corpus, tmp_path):
    release, url, token = live_release(formats=["csv", "webdataset"])
    env = {
        **os.environ,
        "EARMARK_URL": url,
        "EARMARK_TOKEN": token,
        "PYTHONPATH": f"{ROOT / 'client' / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }

    def earmark(*args):
        return subprocess.run(
            [sys.executable, "-m", "earmark_client", *args], env=env, capture_output=True, text=True, timeout=300
        )

    listed = earmark("releases", str(corpus["project"].id))
    assert listed.returncode == 0 and listed.stdout.startswith(f"{release.id}\tv1\tready"), listed.stderr
    pulled = earmark("pull", str(release.id), "--format", "csv", "--out", str(tmp_path / "csv"), "--quiet")
    assert pulled.returncode == 0 and "verifies" in pulled.stdout, pulled.stderr
    streamed = earmark("stream", str(release.id), "--split", "train", "--pipe")
    assert streamed.returncode == 0 and streamed.stdout.startswith("pipe:curl"), streamed.stderr
    synced = earmark("sync", str(tmp_path / "csv"))
    assert synced.returncode == 0 and "0 withdrawn example(s) removed" in synced.stdout, synced.stderr
    unknown = earmark("pull", str(release.id), "--format", "mp3", "--out", str(tmp_path / "x"), "--quiet")
    assert (
        unknown.returncode == 2
        and "Unknown release format 'mp3'" in unknown.stderr
        and "Traceback" not in unknown.stderr
    )
