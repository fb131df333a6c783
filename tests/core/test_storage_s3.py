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
