"""The payment provider's webhook: a signed JSON event credits a top-up or pays an invoice.

POST /webhooks/payments with the raw JSON body and the header
``X-Signature: sha256=<hex HMAC-SHA256 of the body with PAYMENT_WEBHOOK_SECRET>``.
No session and no CSRF token: the signature is the authentication. Answers are JSON.
"""

from flask import Blueprint, current_app, jsonify, request

from models import db
from rules import deposits
from web.extensions import csrf
from web.refusals import BodyTooLarge, refusal

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

MAX_BODY = 16 * 1024


@bp.post("/payments")
@csrf.exempt
def payments():
    """Apply one provider event, exactly once however often it is delivered."""
    body = request.get_data(cache=False)
    with refusal() as refused:
        if len(body) > MAX_BODY:
            raise BodyTooLarge()
        event = deposits.parse_event(
            current_app.config["PAYMENT_WEBHOOK_SECRET"], body, request.headers.get("X-Signature")
        )
        record = deposits.handle_event(event)
    if refused:
        return jsonify(ok=False, error=str(refused.message)), refused.status
    db.session.commit()
    return jsonify(ok=True, outcome=record.outcome)
