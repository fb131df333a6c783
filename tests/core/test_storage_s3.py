"""The S3 storage backend (apps.core.storage.S3Storage) against moto's server: one boto3 session per process,
a resource per thread."""

import threading

import pytest
from django.core.files.base import ContentFile
from storages.backends import s3

import apps.core.storage as storage_module
from apps.core.storage import S3Storage


@pytest.fixture
def sessions_made(monkeypatch):
    made = []
    real = s3.boto3.Session

    def counting(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(s3.boto3, "Session", counting)
    return made


def _storage(settings) -> S3Storage:
    return S3Storage(**settings.STORAGES["default"]["OPTIONS"])


def test_threads_share_one_session_and_each_gets_its_own_resource(s3_storage, settings, sessions_made):
    storage = _storage(settings)
    resources, failures = {}, []

    def work(n: int) -> None:
        try:
            name = storage.save(f"threads/{n}.txt", ContentFile(f"thread {n}".encode()))
            with storage.open(name) as f:
                assert f.read() == f"thread {n}".encode()
            resources[n] = storage.connection
        except Exception as exc:  # noqa: BLE001 (reported below, with the thread's number)
            failures.append((n, exc))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len({id(r) for r in resources.values()}) == 4  # a resource per thread
    assert len(sessions_made) == 1  # django-storages' own backend makes 4 (one per thread)
    client, bucket = s3_storage
    assert sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]) == [
        f"threads/{n}.txt" for n in range(4)
    ]


def test_a_forked_process_makes_its_own_session(s3_storage, settings, sessions_made, monkeypatch):
    storage = _storage(settings)
    first = storage._create_session()
    assert storage._create_session() is first
    monkeypatch.setattr(storage_module.os, "getpid", lambda: -1)  # as in a child forked after the first use
    assert storage._create_session() is not first
    assert len(sessions_made) == 2


def test_a_pickled_storage_starts_without_a_session(s3_storage, settings):
    import pickle

    storage = _storage(settings)
    storage._create_session()
    copy = pickle.loads(pickle.dumps(storage))
    assert copy._session is None
    assert copy.exists("nothing-here") is False


def _etag(client, bucket, key) -> str:
    return client.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')


@pytest.fixture
def transfers(monkeypatch):
    """The s3transfer managers boto3's upload_fileobj makes (django-storages' way to upload)."""
    from boto3.s3 import inject

    made = []
    real = inject.create_transfer_manager

    def counting(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(inject, "create_transfer_manager", counting)
    return made


def test_a_small_object_goes_up_in_one_put_with_django_storages_parameters(s3_storage, settings, transfers):
    """Below the multipart threshold: one PutObject (a plain MD5 ETag), the content type and object parameters
    django-storages would send, the bytes intact; text-mode files are encoded; the name comes back as given."""
    import hashlib
    import io

    client, bucket = s3_storage
    storage = S3Storage(
        **{**settings.STORAGES["default"]["OPTIONS"], "object_parameters": {"CacheControl": "max-age=9"}}
    )
    data = b'{"peaks": [1, 2, 3]}' * 500
    assert storage.save("small/peaks.json", ContentFile(data)) == "small/peaks.json"
    head = client.head_object(Bucket=bucket, Key="small/peaks.json")
    assert head["ContentType"] == "application/json" and head["CacheControl"] == "max-age=9"
    assert _etag(client, bucket, "small/peaks.json") == hashlib.md5(data).hexdigest()  # noqa: S324 (S3's ETag)
    assert client.get_object(Bucket=bucket, Key="small/peaks.json")["Body"].read() == data
    text = io.StringIO("näme,läbel\n")
    storage.save("small/labels.csv", text)
    assert client.get_object(Bucket=bucket, Key="small/labels.csv")["Body"].read() == "näme,läbel\n".encode()
    assert transfers == []  # django-storages' own backend makes a transfer manager for each save


def test_larger_and_unseekable_content_keeps_django_storages_transfer(s3_storage, settings, transfers):
    """Above the threshold the object goes up in parts (a multipart ETag, "<md5>-<parts>"), read from the start
    even when the caller left the file part-read; content that cannot seek takes the same way."""
    import io

    from boto3.s3.transfer import TransferConfig

    client, bucket = s3_storage
    storage = _storage(settings)
    storage.transfer_config = TransferConfig(multipart_threshold=256 * 1024, use_threads=False)
    data = bytes(range(256)) * 4096  # 1 MiB
    big = io.BytesIO(data)
    big.seek(1000)
    storage.save("big/audio.bin", big)
    assert _etag(client, bucket, "big/audio.bin").endswith("-1")
    assert client.get_object(Bucket=bucket, Key="big/audio.bin")["Body"].read() == data

    class Stream(io.RawIOBase):  # a pipe-like stream: readable, not seekable
        def __init__(self, payload: bytes) -> None:
            self._left = payload

        def readable(self) -> bool:
            return True

        def readinto(self, buf) -> int:
            n = min(len(buf), len(self._left))
            buf[:n], self._left = self._left[:n], self._left[n:]
            return n

    storage.save("stream/small.bin", io.BufferedReader(Stream(b"x" * 1000)))
    assert client.get_object(Bucket=bucket, Key="stream/small.bin")["Body"].read() == b"x" * 1000
    assert len(transfers) == 2


def test_s3_object_reads_whole_by_range_and_to_files(s3_storage, tmp_path):
    """``s3_object``: the calls the workers and the peaks reader make, on the client, against the real server."""
    import io

    from django.core.files.storage import default_storage

    client, bucket = s3_storage
    data = bytes(range(256)) * 40
    name = default_storage.save("artifacts/ab/peaks.bin", ContentFile(data))
    obj = storage_module.s3_object(name)
    assert (obj.bucket_name, obj.key) == (bucket, "artifacts/ab/peaks.bin")
    assert obj.get()["Body"].read() == data
    assert obj.get(Range="bytes=256-511")["Body"].read() == data[256:512]
    buf = io.BytesIO()
    obj.download_fileobj(buf)
    obj.download_file(str(tmp_path / "copy.bin"))
    assert buf.getvalue() == data == (tmp_path / "copy.bin").read_bytes()


def test_s3_object_is_none_on_local_storage():
    assert storage_module.s3_object("anything") is None
