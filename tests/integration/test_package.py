"""The built wheel works anywhere: installed in a fresh virtualenv, away from the checkout, a bare
`db upgrade` gives an instance that serves the Chinese login page and takes a report."""

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.servers

# Runs inside the new virtualenv, in an empty folder: everything it uses comes from the installed wheel.
CLIENT = textwrap.dedent("""
    import json, sys
    import app as package
    from app import create_app
    assert "site-packages" in package.__file__, package.__file__
    app = create_app()
    client = app.test_client()
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 200, page.status_code
    with open(sys.argv[2], "rb") as fh:
        photo = fh.read()
    import io
    answer = client.post("/api/v1/reports", headers={"Authorization": "Bearer " + sys.argv[1]},
                         data={"category": "noise", "lat": "29.2254", "lon": "103.9507",
                               "photos": (io.BytesIO(photo), "p.jpg")})
    print(json.dumps({"login": page.get_data(as_text=True), "status": answer.status_code,
                      "report": answer.get_json()}))
""")


def run(venv: Path, *args: str, cwd: Path, env: dict) -> str:
    done = subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_installed_in_a_fresh_virtualenv_serves_chinese_and_files_a_report(tmp_path):
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(dist.glob("gridsnap-*.whl"))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "GRIDSNAP_", "PYTHON"))}
    run(venv, "pip", "install", "-q", "--no-deps", str(wheel), cwd=tmp_path, env=env)
    # The dependencies come from this test's environment (a .pth line adds its site-packages after the new
    # venv's own), so the app itself, its templates, migrations and catalogs come only from the wheel.
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "gridsnap-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env["GRIDSNAP_INSTANCE_DIR"] = str(tmp_path / "instance")
    flask = ("python", "-m", "flask", "--app", "app")
    run(venv, *flask, "db", "upgrade", cwd=elsewhere, env=env)
    run(
        venv,
        *flask,
        "user",
        "create",
        "rider1",
        "--role",
        "rider",
        "--password",
        "a-long-password-1",
        cwd=elsewhere,
        env=env,
    )
    token = run(venv, *flask, "token", "create", "rider1", cwd=elsewhere, env=env).strip().splitlines()[-1]

    out = run(
        venv,
        "python",
        "-c",
        CLIENT,
        token,
        os.path.join(FIXTURES, "photos", "gps_google_pixel.jpg"),
        cwd=elsewhere,
        env=env,
    )
    import json

    result = json.loads(out.strip().splitlines()[-1])
    assert "登录" in result["login"]
    assert result["status"] == 201, result
    assert result["report"]["reference"].startswith("GS-")
    assert list((tmp_path / "instance" / "uploads").iterdir()), "the photo is stored in the instance folder"
