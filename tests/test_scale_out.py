"""Past one server (issue 7): two gunicorn servers against one PostgreSQL and one Redis, their uploads on shared
storage: a shared folder, or S3-compatible object storage through django-storages (moto's S3 server, in this
process, stands in for MinIO or a cloud's object store). A login made through one server is seen through the other
(sessions in Redis and the database), and a file uploaded through one downloads through the other. Skipped, saying
why, where PostgreSQL or Redis is absent."""

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.machine import project_env, require_postgres, scratch_database

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.multiprocess

REDIS_URL = "redis://127.0.0.1:6379/0"
PDF = b"%PDF-1.4\n" + secrets.token_bytes(2048)
SEED = """
from evaluations import access
from tests.factories import make_evaluation, make_unit, make_user
unit = make_unit("共享单位")
evaluation = make_evaluation(unit=unit)
make_user(access.FILLER, units=[unit], username="gongxiang")
print(evaluation.pk)
"""


def _require_services():
    require_postgres()
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"Redis 不可用（127.0.0.1:6379）：{error}；CI 会运行此测试")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url, process):
    import requests

    for _ in range(150):
        if process.poll() is not None:
            raise AssertionError(f"服务器进程已退出：{process.stdout.read()[-2000:]}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"{url} 未能启动")


@pytest.fixture
def object_storage():
    """An S3-compatible server on a free port, with an empty private bucket: (the servers' settings, a client)."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    settings = {"AWS_STORAGE_BUCKET_NAME": "jixiao-uploads", "AWS_S3_ENDPOINT_URL": f"http://{host}:{port}",
                "AWS_S3_REGION_NAME": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    client = boto3.client("s3", endpoint_url=settings["AWS_S3_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    client.create_bucket(Bucket=settings["AWS_STORAGE_BUCKET_NAME"])
    yield settings, client
    server.stop()


@pytest.fixture(params=["shared folder", "S3"])
def two_servers(request, tmp_path):
    _require_services()
    prefix = f"jxtest{os.getpid()}"
    if request.param == "S3":  # each server has a folder of its own: the files can only meet in the bucket
        storage, bucket = request.getfixturevalue("object_storage")
        media = [tmp_path / "media-a", tmp_path / "media-b"]
    else:
        storage, bucket = {}, None
        media = [tmp_path / "shared-media"] * 2
    with scratch_database("jx_scale") as (name, url):
        env = project_env({
            **storage, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": prefix,
            "MEDIA_ROOT": str(media[0]), "HTTPS": "0", "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1", "GUNICORN_WORKERS": "1", "GUNICORN_ACCESSLOG": "",
        })
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        seeded = subprocess.run([sys.executable, "manage.py", "shell", "-c", SEED], cwd=ROOT, env=env, check=True,
                                capture_output=True, text=True)
        servers, processes = [], []
        try:
            for media_root in media:
                port = _free_port()
                processes.append(subprocess.Popen(
                    [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"], cwd=ROOT,
                    env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "MEDIA_ROOT": str(media_root)},
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                ))
                servers.append(f"http://127.0.0.1:{port}")
            for server, process in zip(servers, processes, strict=True):
                _wait(f"{server}/healthz", process)
            yield servers, int(seeded.stdout.strip().splitlines()[-1]), prefix, name, (bucket, storage, media)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"{prefix}:*"):
                client.delete(key)


def test_login_and_upload_through_one_server_are_seen_through_the_other(two_servers):
    import redis
    import requests

    (a, b), evaluation, prefix, database, (bucket, storage, media) = two_servers
    token = secrets.token_hex(16)  # an unmasked CSRF secret, as the login page's cookie would carry
    on_a = requests.Session()
    on_a.cookies.set("csrftoken", token)
    login = on_a.post(f"{a}/accounts/login/", data={"username": "gongxiang", "password": "correct-horse-battery-staple",
                                                    "csrfmiddlewaretoken": token}, allow_redirects=False)
    assert login.status_code == 302 and login.headers["Location"] == "/evaluations/"
    session_id = on_a.cookies["sessionid"]
    assert any(redis.Redis.from_url(REDIS_URL).scan_iter(f"{prefix}:*{session_id}*")), "会话应存入 Redis"

    # The same cookie, presented to the other server.
    on_b = requests.Session()
    on_b.cookies.set("sessionid", session_id)
    on_b.cookies.set("csrftoken", token)
    upload = on_b.post(f"{b}/evaluations/{evaluation}/evidence/", data={"csrfmiddlewaretoken": token},
                       files={"file": ("佐证.pdf", PDF, "application/pdf")}, allow_redirects=False)
    assert upload.status_code == 302 and upload.headers["Location"].endswith("#evidence")

    # Uploaded through B, downloaded through A (the shared uploads folder); a stranger gets nothing.
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}") as conn:
        evidence_id = conn.execute("SELECT id FROM evaluations_evidence ORDER BY id DESC LIMIT 1").fetchone()[0]
    download = on_a.get(f"{a}/evaluations/{evaluation}/evidence/{evidence_id}/")
    assert download.status_code == 200 and download.content == PDF
    if bucket is not None:  # in the bucket, on neither server's disk, and not readable without the keys
        (stored,) = bucket.list_objects_v2(Bucket=storage["AWS_STORAGE_BUCKET_NAME"])["Contents"]
        assert bucket.get_object(Bucket=storage["AWS_STORAGE_BUCKET_NAME"], Key=stored["Key"])["Body"].read() == PDF
        assert not any(path.is_file() for root in media for path in root.rglob("*"))
        assert requests.get(f"{storage['AWS_S3_ENDPOINT_URL']}/{storage['AWS_STORAGE_BUCKET_NAME']}/{stored['Key']}"
                            ).status_code == 403
    anonymous = requests.get(f"{b}/evaluations/{evaluation}/evidence/{evidence_id}/", allow_redirects=False)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.headers["Location"]
