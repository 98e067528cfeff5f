"""The payment provider's webhook: a signed JSON event credits a top-up or pays an invoice.

POST /webhooks/payments with the raw JSON body and the header
``X-Signature: sha256=<hex HMAC-SHA256 of the body with PAYMENT_WEBHOOK_SECRET>``.
No session and no CSRF token: the signature is the authentication. Answers are JSON.
"""

from flask import Blueprint, current_app, jsonify, request

from models import db
from rules import deposits
from rules.errors import DomainError
from web.extensions import csrf
from web.refusals import BodyTooLarge

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

MAX_BODY = 16 * 1024


@bp.post("/payments")
@csrf.exempt
def payments():
    """Apply one provider event, exactly once however often it is delivered."""
    body = request.get_data(cache=False)
    try:
        if len(body) > MAX_BODY:
            raise BodyTooLarge()
        event = deposits.parse_event(
            current_app.config["PAYMENT_WEBHOOK_SECRET"], body, request.headers.get("X-Signature")
        )
        record = deposits.handle_event(event)
    except DomainError as error:
        db.session.rollback()
        return jsonify(ok=False, error=str(error.message)), error.status
    db.session.commit()
    return jsonify(ok=True, outcome=record.outcome)
