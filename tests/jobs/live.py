"""A real ``geosig_worker`` subprocess for tests with a live server or killed processes: it works on the live
test database (committed data: transactional tests) and this test's MEDIA_ROOT."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def subprocess_env(media, **extra) -> dict:
    d = connection.settings_dict
    url = f"postgis://{d['USER']}{':' + d['PASSWORD'] if d['PASSWORD'] else ''}@{d['HOST'] or '127.0.0.1'}:" \
          f"{d['PORT'] or 5432}/{d['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "MEDIA_ROOT": str(media), "GEOSIG_THROTTLE_ENABLED": "false",
            "DEBUG": "false", "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in extra.items()}}


def kill(p) -> None:
    """SIGKILL the process group (gunicorn's workers, the worker's threads): no cleanup code runs."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(10)


@pytest.fixture
def job_worker(transactional_db, tmp_path):
    """One production worker for the duration of a (transactional) test; request it after any fixture that
    changes MEDIA_ROOT."""
    p = subprocess.Popen([sys.executable, "manage.py", "geosig_worker"], cwd=ROOT, start_new_session=True,
                         env=subprocess_env(settings.MEDIA_ROOT), stdout=subprocess.DEVNULL,
                         stderr=open(tmp_path / "worker.log", "w"))
    yield p
    kill(p)
