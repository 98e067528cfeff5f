"""Settings, read from the environment and the env file (see the README's configuration table).

The env file (ENV_FILE, by default ``instance/.env``) is read when this module is first
imported, so the app, the daily job, the workers and the link app all see the same settings,
under gunicorn, Passenger, cron or systemd alike. What the process environment already sets
wins over the file.
"""

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent


def env_file():
    """The env file: ENV_FILE, or ``.env`` in the instance folder."""
    instance = Path(os.environ.get("INSTANCE_PATH") or BASE_DIR / "instance")
    return Path(os.environ.get("ENV_FILE") or instance / ".env")


load_dotenv(env_file(), override=False)
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH") or BASE_DIR / "instance")


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def _env(name, default=None):
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _env_bool(name, default):
    value = _env(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise ConfigError(f"{name} must be true or false, not {value!r}")
    return word in {"1", "true", "yes", "on"}


def _env_int(name, default):
    value = _env(name)
    try:
        return default if value is None else int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from exc


def normalize_database_url(url):
    # Hosting panels hand out postgres:// URLs; SQLAlchemy wants a driver name.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret_key():
    """Return a key kept in instance/ so that a restart keeps development sessions."""
    path = INSTANCE_DIR / "dev-secret-key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


class Config:
    """Production settings; every value can be overridden from the environment."""

    ENV_NAME = "production"
    TESTING = False

    SECRET_KEY = _env("SECRET_KEY")
    #: earlier keys, still accepted (not used to sign) while a rotation settles: comma-separated
    SECRET_KEY_FALLBACKS = [
        key.strip() for key in (_env("SECRET_KEY_FALLBACKS") or "").split(",") if key.strip()
    ]
    SQLALCHEMY_DATABASE_URI = normalize_database_url(
        _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'partner-program.db'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    #: attempts for a request that hit a serialization failure or deadlock
    DB_RETRY_ATTEMPTS = _env_int("DB_RETRY_ATTEMPTS", 3)
    #: milliseconds SQLite waits for a lock before answering "database is locked"
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 5_000)
    #: seconds to wait for PostgreSQL to accept a connection
    DB_CONNECT_TIMEOUT = _env_int("DB_CONNECT_TIMEOUT", 5)

    PREFERRED_URL_SCHEME = _env("PREFERRED_URL_SCHEME", "https")
    #: how many reverse proxies in front of the app set X-Forwarded-* (0 = none)
    PROXY_HOPS = _env_int("PROXY_HOPS", 0)
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 1024 * 1024)

    #: "__Host-pp_session" when the cookie is Secure and has no Domain (see session_cookie_name)
    SESSION_COOKIE_NAME = "pp_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    #: absolute session lifetime: a login is never good for longer than this
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=_env_int("SESSION_ABSOLUTE_MINUTES", 12 * 60))
    #: idle timeout: a session unused for this long is logged out
    SESSION_IDLE_TIMEOUT = timedelta(minutes=_env_int("SESSION_IDLE_MINUTES", 60))
    #: sensitive actions (withdrawing money) need a password check this recent
    FRESH_LOGIN_TIMEOUT = timedelta(minutes=_env_int("FRESH_LOGIN_MINUTES", 10))
    REMEMBER_COOKIE_DURATION = timedelta(0)
    HSTS = _env_bool("HSTS", True)

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    WTF_CSRF_SSL_STRICT = True

    BABEL_DEFAULT_LOCALE = "bg"
    #: dates and times are shown as in Sofia (the business's day, whatever the server's zone)
    BABEL_DEFAULT_TIMEZONE = "Europe/Sofia"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "web" / "translations")

    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_STRATEGY = "fixed-window"
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    LOGIN_EMAIL_RATE_LIMIT = _env("LOGIN_EMAIL_RATE_LIMIT", "5 per minute;20 per hour")
    RESET_RATE_LIMIT = _env("RESET_RATE_LIMIT", "5 per hour")
    #: reset links mailed to one account, from any address (its inbox is not flooded)
    RESET_EMAIL_RATE_LIMIT = _env("RESET_EMAIL_RATE_LIMIT", "3 per hour")
    SIGNUP_RATE_LIMIT = _env("SIGNUP_RATE_LIMIT", "10 per hour")

    MAIL_SERVER = _env("MAIL_SERVER")
    MAIL_PORT = _env_int("MAIL_PORT", 587)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = _env("MAIL_USERNAME")
    MAIL_PASSWORD = _env("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "Partner Program <no-reply@localhost>")
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 10)
    #: "smtp" sends through MAIL_SERVER; "log" writes each message to the log instead. Unset:
    #: smtp when MAIL_SERVER is set, else log — which production refuses (see check_mail)
    MAIL_BACKEND = _env("MAIL_BACKEND")
    #: tries before a message is marked failed (staff see it); the wait doubles from
    #: MAIL_RETRY_SECONDS, at most an hour
    MAIL_MAX_ATTEMPTS = _env_int("MAIL_MAX_ATTEMPTS", 10)
    MAIL_RETRY_SECONDS = _env_int("MAIL_RETRY_SECONDS", 60)

    #: how long a commission is held before it is available, and the least that can be withdrawn
    COMMISSION_CLEARING_DAYS = _env_int("COMMISSION_CLEARING_DAYS", 30)
    COMMISSION_WITHDRAWAL_MIN_CENTS = _env_int("COMMISSION_WITHDRAWAL_MIN_CENTS", 5_000)
    #: the app's address: every link in mail is built on it (never on the request's Host, which
    #: a visitor chooses); production refuses to start without it
    PUBLIC_BASE_URL = (_env("PUBLIC_BASE_URL") or "").rstrip("/")
    #: the host names the app answers to (comma-separated; others get 400); unset: any
    TRUSTED_HOSTS = [
        host.strip() for host in (_env("TRUSTED_HOSTS") or "").split(",") if host.strip()
    ] or None
    #: where partners send deposit top-ups and invoice payments by bank transfer
    BANK_ACCOUNT_HOLDER = _env("BANK_ACCOUNT_HOLDER", "Hosting Company Ltd")
    BANK_IBAN = _env("BANK_IBAN", "BG80 BNBG 9661 1020 3456 78")
    BANK_BIC = _env("BANK_BIC", "BNBGBGSD")
    #: the supplier on every invoice (its PDF): the hosting company's registered details
    SUPPLIER_NAME = _env("SUPPLIER_NAME", "Hosting Company Ltd")
    SUPPLIER_ADDRESS = _env("SUPPLIER_ADDRESS", "1 Example Street, 1000 Sofia, Bulgaria")
    #: the company's UIC (ЕИК) in the Commercial Register, and its VAT number
    SUPPLIER_EIK = _env("SUPPLIER_EIK", "000000000")
    SUPPLIER_VAT_NUMBER = _env("SUPPLIER_VAT_NUMBER", "BG000000000")
    #: the shared secret of the payment provider's webhook (HMAC-SHA256 of the body)
    PAYMENT_WEBHOOK_SECRET = _env("PAYMENT_WEBHOOK_SECRET")
    #: days a deposit top-up through the provider may still be reversed: spendable at once,
    #: withdrawable after them
    DEPOSIT_SETTLEMENT_DAYS = _env_int("DEPOSIT_SETTLEMENT_DAYS", 7)

    #: the affiliate link /partners/<number> (DESIGN.md 3.7): where it lands, its cookie, and
    #: what it counts. The cookie's Domain lets a separate link host share it with the app.
    AFFILIATE_LANDING_PATH = _env("AFFILIATE_LANDING_PATH", "/")
    #: the app's address when the link runs on another host ("https://app.example"); empty:
    #: the link lands on its own host
    AFFILIATE_SITE_URL = _env("AFFILIATE_SITE_URL", "").rstrip("/")
    #: the link host partners share ("https://go.example"); empty: the app's own address
    AFFILIATE_LINK_BASE_URL = _env("AFFILIATE_LINK_BASE_URL", "").rstrip("/")
    AFFILIATE_COOKIE_NAME = _env("AFFILIATE_COOKIE_NAME", "pp_ref")
    AFFILIATE_COOKIE_DAYS = _env_int("AFFILIATE_COOKIE_DAYS", 90)
    AFFILIATE_COOKIE_DOMAIN = _env("AFFILIATE_COOKIE_DOMAIN")
    AFFILIATE_COOKIE_SECURE = _env_bool("AFFILIATE_COOKIE_SECURE", True)
    #: a visitor's repeat within this many minutes is not another click
    AFFILIATE_REPEAT_MINUTES = _env_int("AFFILIATE_REPEAT_MINUTES", 30)
    #: requests per minute from one IP address that still count; beyond it they do not
    AFFILIATE_FLOOD_PER_MINUTE = _env_int("AFFILIATE_FLOOD_PER_MINUTE", 20)
    #: counted clicks are written to the database in batches this often (0: at once)
    AFFILIATE_FLUSH_SECONDS = _env_int("AFFILIATE_FLUSH_SECONDS", 2)
    #: how long a worker remembers a partner number's lookup
    AFFILIATE_PARTNER_CACHE_SECONDS = _env_int("AFFILIATE_PARTNER_CACHE_SECONDS", 30)
    #: the one-time affiliate commission until staff sets another (basis points of the net)
    AFFILIATE_RATE_BP = _env_int("AFFILIATE_RATE_BP", 2000)

    #: provisioning: "files" writes zone files and mail maps under PROVISION_DIR
    #: (docs/provisioning.md); another backend is named by its dotted path, module:Class
    PROVISION_BACKEND = _env("PROVISION_BACKEND", "files")
    PROVISION_DIR = Path(_env("PROVISION_DIR", str(INSTANCE_DIR / "provision")))
    #: the host's nameservers: a domain on them has its zone served here
    PROVISION_NAMESERVERS = tuple(
        _env("PROVISION_NAMESERVERS", "ns1.hosting.example,ns2.hosting.example").split(",")
    )
    PROVISION_HOSTMASTER = _env("PROVISION_HOSTMASTER", "hostmaster.hosting.example")
    #: tries before an entry is marked failed; the wait doubles from PROVISION_RETRY_SECONDS
    PROVISION_MAX_ATTEMPTS = _env_int("PROVISION_MAX_ATTEMPTS", 8)
    PROVISION_RETRY_SECONDS = _env_int("PROVISION_RETRY_SECONDS", 30)
    #: a worker's claim on an entry lapses after this, if it died while applying
    PROVISION_CLAIM_SECONDS = _env_int("PROVISION_CLAIM_SECONDS", 300)
    #: the PHP versions a site can run, the first one for new sites
    PHP_VERSIONS = tuple(_env("PHP_VERSIONS", "8.3,8.4,8.2,8.1").split(","))

    PASSWORD_RESET_MAX_AGE = timedelta(hours=1)
    EMAIL_VERIFICATION_MAX_AGE = timedelta(days=7)
    #: Argon2id cost (argon2-cffi's RFC 9106 low-memory profile); rehashed on login when changed
    ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = _env_int("ARGON2_MEMORY_COST", 64 * 1024)

    @classmethod
    def prepare(cls, app_config):
        """Refuse to run with settings that are unsafe in production."""
        key = app_config.get("SECRET_KEY")
        if not key:
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random value "
                '(python -c "import secrets; print(secrets.token_hex(32))").'
            )
        if len(key) < 32:
            raise ConfigError(
                "SECRET_KEY is too short to be secret (at least 32 characters; "
                'python -c "import secrets; print(secrets.token_hex(32))").'
            )
        finish(app_config)


def finish(app_config):
    """Derive what follows from the other settings, and check those that could break."""
    check_affiliate(app_config)
    name_session_cookie(app_config)
    if (app_config.get("SQLALCHEMY_DATABASE_URI") or "").startswith("postgresql"):
        # an unreachable server answers 503 after this many seconds, not the OS's minutes
        # (and a row lock waited for as long as SQLite waits for its write lock)
        options = {**app_config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
        lock_ms = int(app_config.get("SQLITE_BUSY_TIMEOUT_MS", Config.SQLITE_BUSY_TIMEOUT_MS))
        options["connect_args"] = {
            "connect_timeout": app_config.get("DB_CONNECT_TIMEOUT", Config.DB_CONNECT_TIMEOUT),
            "options": f"-c lock_timeout={lock_ms}",
            **options.get("connect_args", {}),
        }
        app_config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def secret_keys(app_config):
    """The keys signed values are checked with, the one they are signed with last (the order
    itsdangerous and Flask's sessions take them in)."""
    return (*app_config.get("SECRET_KEY_FALLBACKS", ()), app_config["SECRET_KEY"])


def check_mail(app_config, *, production):
    """Decide MAIL_BACKEND, and refuse a production app that would only log its mail without
    being told to (password resets and invitations would reach nobody), or would not know its
    own address for the links in it."""
    base = app_config.get("PUBLIC_BASE_URL") or ""
    if production and not base:
        raise ConfigError(
            "PUBLIC_BASE_URL is not set: the links in mail (password resets, invitations) are"
            " built on it, never on the Host a visitor sends. Set it to https://your.host"
        )
    if base and not _BASE_URL.fullmatch(base):
        raise ConfigError(f"PUBLIC_BASE_URL must look like https://host[:port], not {base!r}")
    backend = app_config.get("MAIL_BACKEND")
    server = app_config.get("MAIL_SERVER")
    if backend not in (None, "smtp", "log"):
        raise ConfigError(f"MAIL_BACKEND must be smtp or log, not {backend!r}")
    if backend is None and production and not server:
        raise ConfigError(
            "MAIL_SERVER is not set, so no mail (password resets, invitations, reminders) would"
            " reach anyone. Set MAIL_SERVER (and MAIL_USERNAME, MAIL_PASSWORD), or set"
            " MAIL_BACKEND=log to write mail to the log on purpose."
        )
    if backend == "smtp" and not server:
        raise ConfigError("MAIL_BACKEND=smtp needs MAIL_SERVER")
    app_config["MAIL_BACKEND"] = backend or ("smtp" if server else "log")


def name_session_cookie(app_config):
    """Give a Secure session cookie without a Domain the ``__Host-`` prefix (ASVS 3.3.1):
    browsers then refuse it unless it came over HTTPS from this very host, for the whole site,
    so a sibling subdomain cannot plant or overwrite it."""
    name = app_config.get("SESSION_COOKIE_NAME", "pp_session").removeprefix("__Host-")
    host_only = (
        app_config.get("SESSION_COOKIE_SECURE")
        and not app_config.get("SESSION_COOKIE_DOMAIN")
        and app_config.get("SESSION_COOKIE_PATH") in (None, "/")
    )
    app_config["SESSION_COOKIE_NAME"] = f"__Host-{name}" if host_only else name


_COOKIE_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}")
_BASE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def check_affiliate(app_config):
    """The affiliate settings go into every click's headers: refuse any that would break them."""

    def setting(name):
        return app_config.get(name, getattr(Config, name))

    if not _COOKIE_NAME.fullmatch(setting("AFFILIATE_COOKIE_NAME") or ""):
        raise ConfigError("AFFILIATE_COOKIE_NAME may hold letters, digits, _ and - only")
    domain = setting("AFFILIATE_COOKIE_DOMAIN")
    if domain and not _HOST.fullmatch(domain):
        raise ConfigError(f"AFFILIATE_COOKIE_DOMAIN must be a host name, not {domain!r}")
    for name in ("AFFILIATE_SITE_URL", "AFFILIATE_LINK_BASE_URL"):
        value = setting(name)
        if value and not _BASE_URL.fullmatch(value):
            raise ConfigError(f"{name} must look like https://host[:port], not {value!r}")
    landing = setting("AFFILIATE_LANDING_PATH") or ""
    if not (landing.startswith("/") and landing.isprintable() and " " not in landing):
        raise ConfigError(f"AFFILIATE_LANDING_PATH must be a path such as /, not {landing!r}")


class DevelopmentConfig(Config):
    """Local development over plain HTTP: a stored key, cookies without Secure, mail to the log."""

    ENV_NAME = "development"
    PUBLIC_BASE_URL = (_env("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    PREFERRED_URL_SCHEME = _env("PREFERRED_URL_SCHEME", "http")
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    AFFILIATE_COOKIE_SECURE = _env_bool("AFFILIATE_COOKIE_SECURE", False)
    WTF_CSRF_SSL_STRICT = False
    HSTS = _env_bool("HSTS", False)

    @classmethod
    def prepare(cls, app_config):
        """Use a key stored under instance/ when none is given."""
        if not app_config.get("SECRET_KEY"):
            app_config["SECRET_KEY"] = _development_secret_key()
        finish(app_config)


class TestConfig(Config):
    """Tests: a database per test (set by the fixtures), CSRF on, fast hashing, plain HTTP."""

    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    PREFERRED_URL_SCHEME = "http"
    PUBLIC_BASE_URL = "http://localhost"
    TRUSTED_HOSTS = None
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_SSL_STRICT = False
    HSTS = False
    SERVER_NAME = None
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_SERVER = None
    PAYMENT_WEBHOOK_SECRET = "whsec-test"  # noqa: S105
    AFFILIATE_COOKIE_SECURE = False
    AFFILIATE_FLUSH_SECONDS = 0  # tests read the counters right after a click
    #: low-cost Argon2 parameters; production keeps the library's defaults
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024

    @classmethod
    def prepare(cls, app_config):
        """Accept the settings the fixtures made, once the affiliate ones are checked."""
        finish(app_config)


CONFIGS = {"production": Config, "development": DevelopmentConfig, "test": TestConfig}


def config_from_env():
    """Pick the settings class named by APP_ENV (production unless told otherwise)."""
    name = _env("APP_ENV", "production")
    if name not in CONFIGS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
