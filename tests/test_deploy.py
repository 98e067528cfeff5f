"""The deploy/ examples work as written: the systemd units verify, nginx serves /static itself
and forwards the visitor to gunicorn, and Apache with Debian's Passenger runs the app with this
Python (3.11: its loader imports ``imp``)."""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
import urllib3

from tests.conftest import skip_or_fail, sqlite_only
from tests.live import ROOT, free_port, start_gunicorn

DEPLOY = ROOT / "deploy"
REQUIRE_NGINX = os.environ.get("REQUIRE_NGINX") == "1"
REQUIRE_APACHE = os.environ.get("REQUIRE_APACHE") == "1"
REQUIRE_SYSTEMD = os.environ.get("REQUIRE_SYSTEMD") == "1"

pytestmark = sqlite_only  # they test the servers in front; the database is SQLite here


def tool(name, required, package):
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        skip_or_fail(required, f"{name} is missing (apt-get install {package})")
    return path


def here(text):
    """The examples name /srv/partner-program and the user partner-program: this checkout, and
    the virtual environment these tests run in."""
    return (
        text.replace("/srv/partner-program/.venv/bin", str(Path(sys.executable).parent))
        .replace("/srv/partner-program", str(ROOT))
        .replace("User=partner-program", "User=root")
        .replace("Group=partner-program", "Group=root")
    )


def test_the_systemd_units_verify(tmp_path):
    analyze = tool("systemd-analyze", REQUIRE_SYSTEMD, "systemd")
    units = sorted(DEPLOY.glob("systemd/*"))
    assert {u.name for u in units} >= {
        "partner-program.service",
        "partner-program-link.service",
        "partner-program-provision.service",
        "partner-program-mail.service",
        "partner-program-daily.timer",
    }
    for unit in units:
        (tmp_path / unit.name).write_text(here(unit.read_text()))
    result = subprocess.run(
        [analyze, "verify", *(str(tmp_path / u.name) for u in units)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # not even a warning


def self_signed(folder, openssl):
    key, cert = folder / "key.pem", folder / "cert.pem"
    made = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=partners.example.com", "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    return key, cert


def wait_for(url, **options):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return requests.get(url, timeout=10, verify=False, **options)  # noqa: S501
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered at {url}")


@pytest.fixture
def gunicorn(tmp_path):
    port = free_port()
    folder = tmp_path / "instance"
    folder.mkdir()
    url = f"sqlite:///{folder / 'app.db'}"
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env={
            **os.environ,
            "APP_ENV": "development",
            "INSTANCE_PATH": str(folder),
            "DATABASE_URL": url,
        },
        check=True,
        capture_output=True,
    )
    server, _base = start_gunicorn(
        url,
        port,
        str(folder),
        workers=1,
        extra_env={"PROXY_HOPS": "1", "LOGIN_RATE_LIMIT": "2 per minute"},
    )
    yield port
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


def test_nginx_serves_static_files_and_tells_the_app_who_the_visitor_is(tmp_path, gunicorn):
    nginx = tool("nginx", REQUIRE_NGINX, "nginx")
    openssl = tool("openssl", REQUIRE_NGINX, "openssl")
    key, cert = self_signed(tmp_path, openssl)
    http, https = free_port(), free_port()
    site = (
        here((DEPLOY / "nginx" / "partner-program.conf").read_text())
        .replace("127.0.0.1:8000", f"127.0.0.1:{gunicorn}")
        .replace("listen 80;", f"listen 127.0.0.1:{http};")
        .replace("listen [::]:80;", "")
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;")
        .replace("listen [::]:443 ssl http2;", "")
        .replace("/etc/letsencrypt/live/partners.example.com/fullchain.pem", str(cert))
        .replace("/etc/letsencrypt/live/partners.example.com/privkey.pem", str(key))
        .replace("/etc/letsencrypt/live/go.example.com/fullchain.pem", str(cert))
        .replace("/etc/letsencrypt/live/go.example.com/privkey.pem", str(key))
    )
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path};\n"
        f"  proxy_temp_path {tmp_path};\n  include /etc/nginx/mime.types;\n"
        f"  include {tmp_path}/site.conf;\n}}\n"
    )
    command = [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen([*command, "-g", "daemon off;"])
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    try:
        base = f"https://127.0.0.1:{https}"
        host = {"Host": "partners.example.com"}
        plain = wait_for(f"http://127.0.0.1:{http}/login", headers=host, allow_redirects=False)
        assert plain.status_code == 301
        assert plain.headers["Location"] == "https://partners.example.com/login"
        static = wait_for(base + "/static/app.css", headers=host)
        assert static.status_code == 200 and "public" in static.headers["Cache-Control"]
        assert "Content-Security-Policy" not in static.headers  # nginx answered, not the app
        page = wait_for(base + "/healthz", headers=host)
        assert page.status_code == 200 and "Content-Security-Policy" in page.headers
        # the visitor's address comes from nginx: a forged X-Forwarded-For buys no new budget
        statuses = []
        for forged in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
            session = requests.Session()
            form = session.get(base + "/login", headers=host, verify=False)
            token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
            statuses.append(
                session.post(
                    base + "/login",
                    data={"csrf_token": token, "email": "x@example.com", "password": "wrong"},
                    headers={
                        **host,
                        "X-Forwarded-For": forged,
                        "Referer": "https://partners.example.com/login",
                    },
                    verify=False,
                ).status_code
            )
        assert statuses == [422, 422, 429]
    finally:
        server.terminate()
        server.wait(timeout=30)


APACHE_CONF = """
ServerRoot /etc/apache2
ServerName localhost
Listen 127.0.0.1:{port}
Listen 127.0.0.1:{http}
PidFile {dir}/httpd.pid
ErrorLog {dir}/error.log
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so
LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
LoadModule env_module /usr/lib/apache2/modules/mod_env.so
LoadModule passenger_module /usr/lib/apache2/modules/mod_passenger.so
TypesConfig /etc/mime.types
PassengerRoot /usr/lib/ruby/vendor_ruby/phusion_passenger/locations.ini
PassengerDefaultRuby /usr/bin/ruby
PassengerInstanceRegistryDir {registry}
PassengerDisableAnonymousTelemetry on
PassengerDisableSecurityUpdateCheck on
# the tests run as root, where /root (this Python) is closed to Passenger's default "nobody"
PassengerDefaultUser root
SetEnv INSTANCE_PATH {instance}
Include {dir}/site.conf
"""


def test_apache_with_debians_passenger_runs_the_app(tmp_path):
    apache = tool("apache2", REQUIRE_APACHE, "apache2 libapache2-mod-passenger")
    if not Path("/usr/lib/apache2/modules/mod_passenger.so").exists():
        skip_or_fail(REQUIRE_APACHE, "mod_passenger is missing (libapache2-mod-passenger)")
    openssl = tool("openssl", REQUIRE_APACHE, "openssl")
    key, cert = self_signed(tmp_path, openssl)
    instance = tmp_path / "instance"
    instance.mkdir()
    # the settings, as an operator writes them: the env file in the instance folder
    (instance / ".env").write_text(
        f"APP_ENV=production\nSECRET_KEY={secrets.token_hex(32)}\nMAIL_BACKEND=log\n"
        "PUBLIC_BASE_URL=https://partners.example.com\n"
    )
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, "INSTANCE_PATH": str(instance), "ENV_FILE": str(instance / ".env")},
        check=True,
        capture_output=True,
    )
    port, http = free_port(), free_port()
    site = (
        here((DEPLOY / "apache" / "partner-program.conf").read_text())
        .replace("<VirtualHost *:443>", f"<VirtualHost *:{port}>")
        .replace("<VirtualHost *:80>", f"<VirtualHost *:{http}>")
        .replace("/etc/letsencrypt/live/partners.example.com/fullchain.pem", str(cert))
        .replace("/etc/letsencrypt/live/partners.example.com/privkey.pem", str(key))
        .replace("PassengerUser partner-program", "PassengerUser root")
        .replace("PassengerGroup partner-program", "PassengerGroup root")
    )
    (tmp_path / "site.conf").write_text(site)
    config = tmp_path / "httpd.conf"
    # Passenger's sockets live here: a short path (a socket's name is at most 107 bytes)
    registry = tempfile.mkdtemp(prefix="pp-", dir="/tmp")
    config.write_text(
        APACHE_CONF.format(port=port, http=http, dir=tmp_path, instance=instance, registry=registry)
    )
    checked = subprocess.run(
        [apache, "-t", "-f", str(config)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(
        [apache, "-f", str(config), "-DFOREGROUND"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "ENV_FILE"},  # read instance/.env
    )
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    try:
        base = f"https://127.0.0.1:{port}"
        health = wait_for(base + "/healthz")
        assert health.status_code == 200, (tmp_path / "error.log").read_text()
        assert health.json() == {"status": "ok"}
        assert "Phusion_Passenger" in health.headers["Server"]
        login = wait_for(base + "/login")
        assert "__Host-pp_session" in login.headers.get("Set-Cookie", "")  # HTTPS seen
        static = wait_for(base + "/static/app.css")
        assert static.status_code == 200 and "public" in static.headers["Cache-Control"]
        assert "Content-Security-Policy" not in static.headers  # Apache answered
        plain = wait_for(
            f"http://127.0.0.1:{http}/login",
            headers={"Host": "partners.example.com"},
            allow_redirects=False,
        )
        assert plain.status_code == 301
        assert plain.headers["Location"] == "https://partners.example.com/login"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(registry, ignore_errors=True)
