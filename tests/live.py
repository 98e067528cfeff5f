"""A real server for end-to-end runs: gunicorn on a given database, and an HTTP client that
logs in, orders and pays through the same forms a person uses (CSRF tokens, idempotency keys).
Used by the end-to-end test and by bench/orders.py."""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url, port, folder, workers=4, extra_env=None):
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": url,
        "INSTANCE_PATH": folder,
        "SESSION_COOKIE_SECURE": "false",
        "HSTS": "false",
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "LOGIN_EMAIL_RATE_LIMIT": "100000 per minute",
        "MAIL_BACKEND": "log",  # these runs send no mail anyone reads
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **(extra_env or {}),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # a loaded machine can take a while to start 4 workers
    try:
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    return server, base
            except requests.RequestException:  # not listening yet, or not answering yet
                pass
            time.sleep(0.2)
    except BaseException:
        server.kill()
        server.wait()
        raise
    server.kill()
    server.wait()
    raise RuntimeError("gunicorn did not start")


class Client:
    """One browser session of a user, speaking HTTP to the live server."""

    def __init__(self, base, email, panel, password):
        self.base, self.panel = base, panel
        self.http = requests.Session()
        page = self.http.get(base + "/login").text
        self.csrf = CSRF.search(page).group(1)
        answer = self.http.post(
            base + "/login",
            data={"email": email, "password": password, "csrf_token": self.csrf},
            allow_redirects=False,
        )
        assert answer.status_code == 303, answer.status_code
        self.csrf = CSRF.search(self.http.get(base + "/account/").text).group(1)

    def post(self, path, expect=(303,), **data):
        answer = self.http.post(
            self.base + path, data={"csrf_token": self.csrf, **data}, allow_redirects=False
        )
        assert answer.status_code in expect, (path, answer.status_code, answer.text[:300])
        return answer

    def get(self):
        assert self.http.get(self.base + "/account/").status_code == 200

    def order(self, n, expect=(303,)):
        """Add a .bg domain to the cart, check out, pay from the deposit: the three answers."""
        added = self.post(
            "/order/",
            expect,
            plan="domain-bg",
            months="12",
            domain=f"order-{n}.bg",
            panel=str(self.panel),
            new_panel_name="",
        )
        checkout = self.post(
            "/billing/cart/checkout",
            expect,
            payer="partner",
            idempotency_key=secrets.token_hex(16),
        )
        if checkout.status_code != 303:
            return added, checkout, None
        paid = self.post(
            checkout.headers["Location"] + "/pay",
            expect,
            source="deposit",
            idempotency_key=secrets.token_hex(16),
        )
        return added, checkout, paid

    def withdraw(self, amount, iban, expect=(303,), **extra):
        """Ask to withdraw from the deposit (the login is fresh), with any extra form fields."""
        return self.post(
            "/partner/deposit/withdraw",
            expect,
            amount=amount,
            iban=iban,
            idempotency_key=secrets.token_hex(16),
            **extra,
        )
