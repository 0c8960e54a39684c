"""Real servers for the scale-out tests: moto's S3, redis-server, gunicorn, and a TCP proxy to cut."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpCatcher:
    """A real SMTP server (aiosmtpd) on a free local port, keeping what arrives in `envelopes`; plain, or
    with `tls` (a server SSLContext) as STARTTLS (required) or implicit TLS (mode "ssl")."""

    def __init__(self, tls=None, mode: str = ""):
        from aiosmtpd.controller import Controller

        self.envelopes: list = []
        self.port = free_port()
        kw = ({"ssl_context": tls} if mode == "ssl" else {"tls_context": tls, "require_starttls": True}) if tls else {}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, auth_require_tls=False, **kw)
        if mode == "ssl":  # the controller's readiness probe would not speak TLS
            self.controller.ready_timeout = 5

    @staticmethod
    def available() -> bool:
        import importlib.util

        return importlib.util.find_spec("aiosmtpd") is not None

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def start(self) -> SmtpCatcher:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def executable(name: str) -> str | None:
    """A program from the venv first, then PATH."""
    path = os.path.join(BIN, name)
    return path if os.access(path, os.X_OK) else shutil.which(name)


def wait_for(predicate, timeout: float = 20.0, what: str = "server") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up in {timeout} s")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Process:
    """A child process we started, stopped by its own pid only."""

    def __init__(self, args: list[str], env: dict | None = None, log_path: str | None = None):
        self.args, self.env, self.log_path = args, env, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # the child has its own copy
        return self

    def stop(self) -> None:
        self.terminate()
        self.wait_stopped()

    def terminate(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        if self.proc:
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def answers_ok(url: str, timeout: float) -> bool:
    """True when a GET of url answers 200 (the response closed again)."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status == 200


def stop_all(processes: list[Process]) -> None:
    """Stop several servers side by side (a gunicorn master takes a few seconds to wind down)."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait_stopped()


class MotoS3(Process):
    """moto's S3-compatible server on a free loopback port."""

    def __init__(self, port: int | None = None, log_path: str | None = None):
        self.port = port or free_port()
        super().__init__([executable("moto_server"), "-H", "127.0.0.1", "-p", str(self.port)], log_path=log_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoS3:
        super().start()
        wait_for(lambda: answers_ok(self.url + "/moto-api/", timeout=1), what="moto_server")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:  # in-memory only: nothing to shut down cleanly
            self.proc.kill()
            self.proc.wait(5)

    @staticmethod
    def available() -> bool:
        return executable("moto_server") is not None


class RedisServer(Process):
    """A private redis-server (no persistence) on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        super().__init__(
            [
                executable("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        super().start()
        wait_for(lambda: port_open(self.port), what="redis-server")
        return self

    @staticmethod
    def available() -> bool:
        return executable("redis-server") is not None


class Gunicorn(Process):
    """`make serve`'s gunicorn with gunicorn.conf.py on a free port, its JSON log kept in a file."""

    def __init__(self, env: dict, log_path: str, workers: int = 2, port: int | None = None):
        self.port = port or free_port()
        env = {**os.environ, **env, "GRIDSNAP_BIND": f"127.0.0.1:{self.port}", "GRIDSNAP_WORKERS": str(workers)}
        super().__init__(
            [executable("gunicorn"), "-c", os.path.join(ROOT, "gunicorn.conf.py")], env=env, log_path=log_path
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        return self.launch().wait_ready()

    def launch(self) -> Gunicorn:
        """Start the master without waiting (boot several servers side by side, then wait_ready)."""
        super().start()
        return self

    def wait_ready(self, timeout: float = 60) -> Gunicorn:
        try:
            wait_for(
                lambda: self.proc.poll() is None and answers_ok(self.url + "/healthz", timeout=2),
                timeout=timeout,
                what="gunicorn",
            )
        except RuntimeError as err:
            raise RuntimeError(f"{err}; its log ends with:\n{self.log_tail()}") from None
        return self

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, errors="replace") as fh:
                return "".join(fh.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_records(self) -> list[dict]:
        """The JSON lines of its log (anything else, e.g. a traceback's continuation, is skipped)."""
        out = []
        with open(self.log_path, errors="replace") as fh:
            for line in fh:
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
        return out

    def terminate(self) -> None:
        """Tests need no graceful shutdown (a master winds down in seconds): kill the master, then its workers."""
        if self.proc and self.proc.poll() is None:
            workers = self.worker_pids()
            self.proc.kill()
            for pid in workers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def worker_pids(self) -> list[int]:
        """The master's children (the workers), read from /proc."""
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    pids.append(int(entry))
        return pids

    @staticmethod
    def available() -> bool:
        return executable("gunicorn") is not None


class TcpProxy:
    """Forwards a local port to a target; stop() drops every connection as an outage would."""

    def __init__(self, target_port: int, port: int | None = None):
        self.target_port, self.port = target_port, port or free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(64)
        self._listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()
        return self

    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        if self._listener:
            try:  # wakes the thread blocked in accept(); close() alone leaves the port accepting on Linux
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


def site_env(
    database_url: str, folder: str, storage: dict | None = None, redis_url: str | None = None, **extra: str
) -> dict:
    """The GRIDSNAP_* environment of one site's app servers, as an operator would write it."""
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "one-secret-for-every-server",
        "GRIDSNAP_INSTANCE_DIR": os.path.join(folder, "instance"),
        "GRIDSNAP_UPLOAD_DIR": os.path.join(folder, "uploads"),
        "GRIDSNAP_GEOCODER": "",
    }
    os.makedirs(env["GRIDSNAP_UPLOAD_DIR"], exist_ok=True)
    for name, value in (storage or {}).items():  # STORAGE_BUCKET -> GRIDSNAP_STORAGE_BUCKET
        env["GRIDSNAP_" + name] = str(value)
    if redis_url:
        env["GRIDSNAP_REDIS_URL"] = redis_url
    env.update(extra)
    return env


def site_app(env: dict):
    """An in-process app on the same database and store as the servers (to arrange rows and check)."""
    from app import create_app

    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
        "SECRET_KEY": env["SECRET_KEY"],
        "UPLOAD_DIR": env["GRIDSNAP_UPLOAD_DIR"],
        "GEOCODER": "",
    }
    config.update({k[len("GRIDSNAP_") :]: v for k, v in env.items() if k.startswith("GRIDSNAP_STORAGE_")})
    return create_app(config)


def prepare_database(env: dict) -> None:
    """Build the schema through the migrations and seed the categories, as `make db` would."""
    from flask_migrate import upgrade

    from app.catalog import seed_reference_data
    from app.extensions import db

    app = site_app(env)
    with app.app_context():
        upgrade()
        seed_reference_data()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


class PostgresDatabase:
    """A new, empty PostgreSQL database next to the test session's, dropped by drop()."""

    def __init__(self, base_url: str, prefix: str = "gs_site"):
        import uuid

        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        base = make_url(base_url)
        self._admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.url = base.set(database=self.name).render_as_string(hide_password=False)
        self.port = base.port or 5432

    def create(self) -> PostgresDatabase:
        from sqlalchemy import text

        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self

    def url_via(self, port: int) -> str:
        """The same database reached through another port (a TcpProxy)."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)

    def drop(self) -> None:
        from sqlalchemy import text

        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()


def post_report_to(base: str, headers: dict, photos: list[bytes], timeout: float = 30, **fields):
    """POST a report with these photos to a running server's API, as a phone's page does."""
    import requests

    data = {"category": "illegal_parking", "lat": "29.2089", "lon": "103.9512", **fields}
    files = [("photos", (f"{i}.jpg", blob, "image/jpeg")) for i, blob in enumerate(photos)]
    return requests.post(base + "/api/v1/reports", headers=headers, data=data, files=files, timeout=timeout)


def s3_bucket(server) -> dict:
    """A new empty bucket on a moto server, as app configuration (STORAGE_* keys)."""
    import uuid

    import boto3

    bucket = f"gs-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    ).create_bucket(Bucket=bucket)
    return {
        "STORAGE_BACKEND": "s3",
        "STORAGE_BUCKET": bucket,
        "STORAGE_ENDPOINT_URL": server.url,
        "STORAGE_REGION": "us-east-1",
        "STORAGE_ACCESS_KEY_ID": "test",
        "STORAGE_SECRET_ACCESS_KEY": "test",
    }
