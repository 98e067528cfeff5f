"""GET /partners/<number>: count the click, set the signed cookie, land the visitor.

The hottest path of the app (DESIGN.md 3.7): no session, no login, no query (the approved
partners are kept per worker), and counting in memory. It reads the WSGI environ directly and
answers with a response whose headers are final as made, so that a click costs little more
than a bare redirect. Whatever the request holds, the visitor lands on this site: a bad number
or an invalid ``to`` only loses the cookie or the chosen page, never the redirect.
"""

from flask import Blueprint, Response, current_app, request
from werkzeug.urls import iri_to_uri

from affiliate import links
from affiliate.clicks import AffiliateState

bp = Blueprint("affiliate", __name__)


class Landing(Response):
    """A redirect without a body whose headers go out as they are: the Location is already a
    URI (made once for the default landing, by iri_to_uri for a chosen one)."""

    default_mimetype = None

    def get_wsgi_headers(self, environ):
        return self.headers


@bp.get("/partners/", defaults={"number": ""})
@bp.get("/partners/<path:number>")
def follow(number):
    """Land the visitor; for an approved partner's number, count the click and set the cookie."""
    state = current_app.extensions["affiliate"]
    environ = request.environ
    location = state.landing_url
    if environ.get("QUERY_STRING"):
        chosen = links.landing(request.args.get("to"), None)
        if chosen is not None:
            location = iri_to_uri(state.site_url + chosen)
    response = Landing(
        status=302,
        headers=[("Location", location), ("Cache-Control", "no-store"), ("Content-Length", "0")],
    )
    parsed = links.parse_number(number[:-1] if number.endswith("/") else number)
    partner_id = state.partner_id(parsed) if parsed is not None else None
    if partner_id is None or links.excluded(environ["REQUEST_METHOD"], environ):
        return response
    secret, name = state.secret_key, state.cookie_name
    # A valid cookie of the same partner younger than the repeat window is a repeat.
    previous = None
    if name in environ.get("HTTP_COOKIE", ""):
        previous = links.read_cookie(
            state.secret_keys, request.cookies.get(name), state.buffer.repeat_seconds
        )
    if previous is None or previous.number != parsed:
        user_agent = environ.get("HTTP_USER_AGENT", "")[:512]
        ip = environ.get("REMOTE_ADDR", "")
        state.record(partner_id, ip, links.visitor_hash(secret, ip, user_agent))
    value = links.make_cookie(secret, parsed, links.new_click_id())
    response.headers.add("Set-Cookie", f"{name}={value}{state.cookie_attributes}")
    return response


def init_app(app, engine):
    """Give the app its click buffer on ``engine``; the blueprint is registered by the caller."""
    app.extensions["affiliate"] = AffiliateState(app.config, engine)
