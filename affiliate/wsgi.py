"""The affiliate link as its own small WSGI app, for a link host that serves nothing else:
``gunicorn affiliate.wsgi:app`` with the main app's settings and database (the same
SECRET_KEY, so that the app can read the cookie; AFFILIATE_SITE_URL and
AFFILIATE_COOKIE_DOMAIN when the link host is not the app's host)."""

from affiliate.app import create_link_app

app = create_link_app()
