"""Where a user starts after logging in, and where the home link takes it."""

from flask import url_for

from rules import listings, partners


def landing_url(user):
    """Staff at what waits for them, a partner at its dashboard, a client at its panel (or
    the list of its panels); anyone else at the home page."""
    if user.is_staff:
        return url_for("staff.index")
    partner = partners.partner_of(user)
    if partner is not None and partner.is_approved:
        return url_for("partner.index")
    panels = listings.visible_panels(user, per_page=1)
    if panels.total == 1:
        return url_for("panels.show", number=panels.items[0][0].number)
    if panels.total:
        return url_for("panels.index")
    return url_for("main.index")
