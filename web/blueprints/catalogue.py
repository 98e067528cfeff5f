"""The public price list (both languages), with what longer periods save."""

from flask import Blueprint, render_template

from rules import catalogue

bp = Blueprint("catalogue", __name__)


@bp.get("/prices")
def prices():
    """Show every orderable plan's price per period, with VAT, for anyone."""
    return render_template(
        "catalogue/prices.html", price_list=catalogue.price_list(), vat_bp=catalogue.vat_bp()
    )
