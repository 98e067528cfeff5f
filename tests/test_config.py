import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import Config, ConfigError, DevelopmentConfig, TestConfig, config_from_env
from web import create_app

ROOT = Path(__file__).resolve().parents[1]


def _run(code, **env):
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECRET_KEY", "APP_ENV", "MAIL_", "PUBLIC_BASE_URL"))
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_secret_key():
    result = _run("import wsgi", APP_ENV="production")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_is_the_default_environment():
    result = _run("import wsgi")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_starts_with_a_secret_key(tmp_path):
    result = _run(
        "import wsgi, passenger_wsgi; print(wsgi.app.config['SESSION_COOKIE_SECURE'], "
        "passenger_wsgi.application.name, wsgi.app.config['SESSION_COOKIE_NAME'])",
        APP_ENV="production",
        SECRET_KEY="x" * 64,
        DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}",
        MAIL_SERVER="smtp.example.com",
        PUBLIC_BASE_URL="https://partners.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "web", "__Host-pp_session"]


@pytest.mark.parametrize(
    ("settings", "refusal"),
    [
        ({"SECRET_KEY": "change-me"}, "SECRET_KEY is too short"),
        ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL is not set"),
        ({"PUBLIC_BASE_URL": "partners.example.com"}, "PUBLIC_BASE_URL must look like"),
        ({"HSTS": "ture"}, "HSTS must be true or false"),
    ],
)
def test_production_refuses_settings_that_would_be_unsafe(tmp_path, settings, refusal):
    result = _run(
        "import wsgi",
        **{
            "APP_ENV": "production",
            "SECRET_KEY": "x" * 64,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
            "MAIL_BACKEND": "log",
            "PUBLIC_BASE_URL": "https://partners.example.com",
            **settings,
        },
    )
    assert result.returncode != 0
    assert refusal in result.stderr


@pytest.mark.parametrize(
    ("mail", "refusal"),
    [
        ({}, "MAIL_SERVER is not set"),
        ({"MAIL_BACKEND": "smtp"}, "MAIL_BACKEND=smtp needs MAIL_SERVER"),
        ({"MAIL_BACKEND": "sendmail"}, "MAIL_BACKEND must be smtp or log"),
        ({"MAIL_BACKEND": "log"}, None),  # on purpose: mail goes to the log
        ({"MAIL_SERVER": "smtp.example.com"}, None),
    ],
)
def test_production_refuses_to_lose_mail_silently(tmp_path, mail, refusal):
    result = _run(
        "import wsgi; print(wsgi.app.config['MAIL_BACKEND'])",
        APP_ENV="production",
        SECRET_KEY="x" * 64,
        DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}",
        PUBLIC_BASE_URL="https://partners.example.com",
        **mail,
    )
    if refusal:
        assert result.returncode != 0 and refusal in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == ("log" if "MAIL_BACKEND" in mail else "smtp")


def test_create_app_refuses_missing_key_directly():
    class NoKey(Config):
        SECRET_KEY = None

    with pytest.raises(ConfigError):
        create_app(NoKey)


def test_unknown_app_env_is_refused(monkeypatch):
    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(ConfigError, match="APP_ENV"):
        config_from_env()


def test_development_keeps_a_generated_key(tmp_path, monkeypatch):
    monkeypatch.setattr("config.INSTANCE_DIR", tmp_path)
    settings = {"SECRET_KEY": None}
    DevelopmentConfig.prepare(settings)
    again = {"SECRET_KEY": None}
    DevelopmentConfig.prepare(again)
    assert settings["SECRET_KEY"] == again["SECRET_KEY"]
    assert len(settings["SECRET_KEY"]) == 64


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db/x", "postgresql+psycopg://u:p@db/x"),
        ("postgresql://u@db/x", "postgresql+psycopg://u@db/x"),
        ("sqlite:////srv/app.db", "sqlite:////srv/app.db"),
    ],
)
def test_database_urls_get_the_psycopg_driver(given, expected):
    from config import normalize_database_url

    assert normalize_database_url(given) == expected


def test_proxy_hops_trust_forwarded_headers(tmp_path):
    class Proxied(Config):
        SECRET_KEY = "k" * 32
        PROXY_HOPS = 1
        MAIL_BACKEND = "log"
        PUBLIC_BASE_URL = "https://partners.example.com"
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'p.db'}"

    app = create_app(Proxied)
    seen = {}

    @app.get("/whoami")
    def whoami():
        from flask import request

        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    app.test_client().get(
        "/whoami", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    )
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AFFILIATE_COOKIE_NAME", "pp ref"),
        ("AFFILIATE_COOKIE_NAME", "pp;ref"),
        ("AFFILIATE_COOKIE_DOMAIN", "example.com; Path=/x"),
        ("AFFILIATE_COOKIE_DOMAIN", "example.com\r\nX: y"),
        ("AFFILIATE_SITE_URL", "javascript:alert(1)"),
        ("AFFILIATE_SITE_URL", "https://app.example/path"),
        ("AFFILIATE_LINK_BASE_URL", "go.example"),
        ("AFFILIATE_LANDING_PATH", "https://evil.example/"),
        ("AFFILIATE_LANDING_PATH", "/a\nb"),
    ],
)
def test_affiliate_settings_that_would_break_each_click_are_refused(name, value):
    with pytest.raises(ConfigError, match=name):
        TestConfig.prepare({name: value})


def test_good_affiliate_settings_pass():
    TestConfig.prepare(
        {
            "AFFILIATE_COOKIE_DOMAIN": "example.com",
            "AFFILIATE_SITE_URL": "https://app.example.com",
            "AFFILIATE_LINK_BASE_URL": "https://go.example.com:8443",
            "AFFILIATE_LANDING_PATH": "/prices",
        }
    )


def test_every_entry_point_reads_the_env_file(tmp_path, database_url):
    """The README's cron lines, the workers and the link app run with no environment of their
    own: the settings come from instance/.env (here INSTANCE_PATH's .env)."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / ".env").write_text(
        "# written by the operator\n"
        "APP_ENV=production\n"
        "SECRET_KEY=from-the-env-file-" + "k" * 40 + "\n"
        f"DATABASE_URL={database_url}\n"
        "MAIL_BACKEND=log\n"
        "PUBLIC_BASE_URL=https://partners.example.com\n"
        "AFFILIATE_COOKIE_NAME=from_file\n"
    )
    env = {"INSTANCE_PATH": str(instance), "ENV_FILE": ""}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]

    def run(*args):
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "APP_ENV"))
        }
        return subprocess.run(
            [*args],
            cwd=tmp_path,  # cron starts elsewhere; the code is found through PYTHONPATH
            env={**environment, **env, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )

    for command in (
        [*flask, "db", "upgrade"],
        [*flask, "jobs", "run"],
        [*flask, "provision", "run", "--once"],
        [*flask, "mail", "send", "--once"],
    ):
        result = run(*command)
        assert result.returncode == 0, (command, result.stderr)
    link = run(
        sys.executable,
        "-c",
        "import affiliate.wsgi as w; print(w.app.config['AFFILIATE_COOKIE_NAME'])",
    )
    assert link.returncode == 0, link.stderr
    assert link.stdout.strip() == "from_file"
    # what the process environment sets wins over the file
    env["AFFILIATE_COOKIE_NAME"] = "from_environment"
    link = run(
        sys.executable,
        "-c",
        "import affiliate.wsgi as w; print(w.app.config['AFFILIATE_COOKIE_NAME'])",
    )
    assert link.stdout.strip() == "from_environment"
