"""GET /partners/<number>: count the click, set the signed cookie, land the visitor.

The hottest path of the app (DESIGN.md 3.7): no session, no login, at most one indexed
lookup (cached briefly per worker), and counting in memory. Whatever the request holds, the
visitor lands on this site: a bad number or an invalid ``to`` only loses the cookie or the
chosen page, never the redirect.
"""

from flask import Blueprint, current_app, redirect, request

from affiliate import links

bp = Blueprint("affiliate", __name__)


@bp.get("/partners/", defaults={"number": ""})
@bp.get("/partners/<path:number>")
def follow(number):
    """Land the visitor; for an approved partner's number, count the click and set the cookie."""
    config = current_app.config
    target = links.landing(request.args.get("to"), config["AFFILIATE_LANDING_PATH"])
    response = redirect(config["AFFILIATE_SITE_URL"] + target, 302)
    response.headers["Cache-Control"] = "no-store"
    parsed = links.parse_number(number[:-1] if number.endswith("/") else number)
    state = current_app.extensions["affiliate"]
    partner_id = state.partner_id(parsed) if parsed is not None else None
    environ = request.environ
    if partner_id is None or links.excluded(request.method, environ):
        return response
    secret, name = config["SECRET_KEY"], config["AFFILIATE_COOKIE_NAME"]
    # A valid cookie of the same partner younger than the repeat window is a repeat.
    previous = None
    if name in environ.get("HTTP_COOKIE", ""):
        previous = links.read_cookie(secret, request.cookies.get(name), state.buffer.repeat_seconds)
    if previous is None or previous.number != parsed:
        user_agent = environ.get("HTTP_USER_AGENT", "")[:512]
        ip = request.remote_addr or ""
        state.record(partner_id, ip, links.visitor_hash(secret, ip, user_agent))
    value = links.make_cookie(secret, parsed, links.new_click_id())
    response.headers.add("Set-Cookie", f"{name}={value}{state.cookie_attributes}")
    return response


def init_app(app):
    """Give the app its click buffer; the blueprint is registered by the caller."""
    from affiliate.clicks import AffiliateState

    app.extensions["affiliate"] = AffiliateState(app)
