"""Staff changes to the catalogue: plans and their periods, volume tiers, VAT (DESIGN.md 3.4).

Values arrive already parsed (cents, basis points, months); these functions check the rules
that span fields and rows, write the change and an audit entry saying what it was before and
after. Nothing here touches issued invoices: they carry their own priced lines.
"""

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from models import Plan, PlanKind, PlanPeriod, VatRate, VolumeTier, db, utcnow
from rules import audit, catalogue
from rules.errors import DomainError
from rules.money import MAX_PRICE_CENTS

CODE = re.compile(r"[a-z0-9][a-z0-9.-]{0,39}")
MAX_MONTHS = 120
MAX_MAILBOXES = 10_000
MAX_MAIL_MB = 10_000_000
#: business days (when a VAT change starts, what "today" is) are Bulgaria's
BUSINESS_TIMEZONE = ZoneInfo("Europe/Sofia")
#: how far ahead a VAT change can be scheduled
VAT_HORIZON = timedelta(days=2 * 366)


class CatalogueError(DomainError):
    """A change staff asked for breaks a catalogue rule; the message says which."""


class BadPlanCode(CatalogueError):
    def default_message(self):
        return _l("A plan code is 1–40 small Latin letters, digits, dots or dashes (web-pro).")


class PlanNameMissing(CatalogueError):
    def default_message(self):
        return _l("Give the plan a name in both languages.")


class PriceOutOfRange(CatalogueError):
    def default_message(self):
        return _l("The price must be from €0 to €1 000 000.")


class BadPriceBasis(CatalogueError):
    def default_message(self):
        return _l("A price is per month or per year.")


class DomainNotYearly(CatalogueError):
    def default_message(self):
        return _l("Domains are priced per year.")


class NotVolumeEligible(CatalogueError):
    def default_message(self):
        return _l("Only shared hosting plans count towards volume tiers.")


class NoPeriods(CatalogueError):
    def default_message(self):
        return _l("Offer the plan for at least one period.")


class MailLimitOutOfRange(CatalogueError):
    """Mailboxes or mail quota over ``most`` (or below 0)."""

    def __init__(self, most):
        self.most = most
        super().__init__(
            _l("Mailboxes and mail quota are whole numbers from 0 to %(most)s.", most=most)
        )


class BadPeriod(CatalogueError):
    def default_message(self):
        return _l(
            "Periods are whole numbers of the price's months, up to %(most)s months.",
            most=MAX_MONTHS,
        )


class DiscountOutOfRange(CatalogueError):
    def default_message(self):
        return _l("A discount is from 0 to 100%.")


class DiscountFallsWithLength(CatalogueError):
    def default_message(self):
        return _l("A longer period must not have a smaller discount.")


class PlanCodeTaken(CatalogueError):
    def default_message(self):
        return _l("Another plan already has this code.")


@dataclass(frozen=True)
class PlanChange:
    code: str
    kind: PlanKind
    name_bg: str
    name_en: str
    price_cents: int
    base_months: int
    volume_eligible: bool
    retired: bool
    #: {months: discount in basis points}
    periods: dict
    #: mail of a product of the plan: how many mailboxes and their quotas together (MB);
    #: None keeps what the plan has (a new plan: what its kind comes with)
    mailboxes: int | None = None
    mail_quota_mb: int | None = None


def _check_plan(change):
    if not CODE.fullmatch(change.code):
        raise BadPlanCode()
    if not change.name_bg.strip() or not change.name_en.strip():
        raise PlanNameMissing()
    if not 0 <= change.price_cents <= MAX_PRICE_CENTS:
        raise PriceOutOfRange()
    if change.base_months not in (1, 12):
        raise BadPriceBasis()
    if change.kind == PlanKind.DOMAIN and change.base_months != 12:
        raise DomainNotYearly()
    if change.volume_eligible and change.kind != PlanKind.SHARED_HOSTING:
        raise NotVolumeEligible()
    if not change.periods:
        raise NoPeriods()
    for value, most in ((change.mailboxes, MAX_MAILBOXES), (change.mail_quota_mb, MAX_MAIL_MB)):
        if value is not None and not 0 <= value <= most:
            raise MailLimitOutOfRange(most)
    previous = -1
    for months in sorted(change.periods):
        discount = change.periods[months]
        if not 0 < months <= MAX_MONTHS or months % change.base_months:
            raise BadPeriod()
        if not 0 <= discount <= 10_000:
            raise DiscountOutOfRange()
        if discount < previous:
            # otherwise a longer period would cost more per month than a shorter one
            raise DiscountFallsWithLength()
        previous = discount


def _snapshot(plan):
    return {
        "code": plan.code,
        "kind": plan.kind.value,
        "name_bg": plan.name_bg,
        "name_en": plan.name_en,
        "price_cents": plan.price_cents,
        "base_months": plan.base_months,
        "volume_eligible": plan.volume_eligible,
        "mailboxes": plan.mailboxes,
        "mail_quota_mb": plan.mail_quota_mb,
        "retired": plan.retired_at is not None,
        # keys say their unit (_cents, _bp), so the audit log can show them as money or percent
        "periods_bp": {str(p.months): p.discount_bp for p in plan.periods},
    }


def save_plan(plan, change, *, actor):
    """Create a plan (``plan`` is None) or change one; code, kind and price basis stay fixed.

    Returns (plan, whether anything changed).
    """
    if plan is not None:
        # what identifies a plan and how its price reads cannot change under existing products
        change = PlanChange(
            **{
                **change.__dict__,
                "code": plan.code,
                "kind": plan.kind,
                "base_months": plan.base_months,
            }
        )
    _check_plan(change)
    if plan is None:
        if db.session.scalar(select(Plan.id).where(Plan.code == change.code)) is not None:
            raise PlanCodeTaken()
        plan = Plan(code=change.code, kind=change.kind, base_months=change.base_months)
        db.session.add(plan)
        before = None
    else:
        before = _snapshot(plan)
    plan.name_bg = change.name_bg.strip()
    plan.name_en = change.name_en.strip()
    plan.price_cents = change.price_cents
    plan.volume_eligible = change.volume_eligible
    if change.mailboxes is not None:
        plan.mailboxes = change.mailboxes
    if change.mail_quota_mb is not None:
        plan.mail_quota_mb = change.mail_quota_mb
    if change.retired and plan.retired_at is None:
        plan.retired_at = utcnow()
    elif not change.retired:
        plan.retired_at = None
    by_months = {p.months: p for p in plan.periods}
    for months, period in by_months.items():
        if months not in change.periods:
            plan.periods.remove(period)
    for months, discount in sorted(change.periods.items()):
        if months in by_months:
            by_months[months].discount_bp = discount
        else:
            plan.periods.append(PlanPeriod(months=months, discount_bp=discount))
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # another member of staff saved a plan with this code a moment ago
        raise PlanCodeTaken() from None
    after = _snapshot(plan)
    if before is None:
        audit.record("plan.create", actor=actor, plan=after)
        return plan, True
    changed = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if changed:
        audit.record("plan.update", actor=actor, code=plan.code, changes=changed)
    return plan, bool(changed)


class NoTiers(CatalogueError):
    def default_message(self):
        return _l("Keep at least one tier; a rate of 0 gives no volume discount.")


class DuplicateTier(CatalogueError):
    def default_message(self):
        return _l("Two tiers start at the same number of products.")


class TiersNotRising(CatalogueError):
    def default_message(self):
        return _l("Each tier needs more products and a higher rate than the one before.")


class TierOutOfRange(CatalogueError):
    def default_message(self):
        return _l("A tier starts at 1 or more products and its rate is from 0 to 100%.")


def save_tiers(rows, *, actor):
    """Replace the volume tier table with ``rows`` of (min products, rate in basis points)."""
    rows = sorted(rows)
    if not rows:
        raise NoTiers()
    for (low, low_rate), (high, high_rate) in itertools.pairwise(rows):
        if low == high:
            raise DuplicateTier()
        if high_rate <= low_rate:
            raise TiersNotRising()
    for count, rate in rows:
        if not 0 < count <= 1_000_000 or not 0 <= rate <= 10_000:
            raise TierOutOfRange()
    # {"from N products": rate in basis points}, before and after
    before = {str(t.min_products): t.rate_bp for t in catalogue.tiers()}
    after = {str(count): rate for count, rate in rows}
    if before == after:
        return False
    db.session.execute(delete(VolumeTier))
    db.session.add_all(VolumeTier(min_products=c, rate_bp=r) for c, r in rows)
    audit.record("tiers.update", actor=actor, tiers_bp={"before": before, "after": after})
    return True


class VatRateOutOfRange(CatalogueError):
    def default_message(self):
        return _l("A VAT rate is from 0 to 100%.")


class VatBackdated(CatalogueError):
    def default_message(self):
        return _l("A new VAT rate can start today at the earliest; issued invoices do not change.")


class VatTooFarAhead(CatalogueError):
    def default_message(self):
        return _l("A VAT change can be scheduled at most two years ahead.")


class VatInForce(CatalogueError):
    def default_message(self):
        return _l("A VAT rate already in force cannot be withdrawn.")


def business_today():
    return datetime.now(BUSINESS_TIMEZONE).date()


def schedule_vat(rate_bp, effective_on, *, actor, today=None):
    """Set the VAT rate from ``effective_on`` (today: at once) on; never back-dated.

    A later date starts at midnight in Sofia; at most two years ahead.
    """
    today = today or business_today()
    if not 0 <= rate_bp <= 10_000:
        raise VatRateOutOfRange()
    if effective_on < today:
        raise VatBackdated()
    if effective_on > today + VAT_HORIZON:
        raise VatTooFarAhead()
    starts = utcnow() if effective_on == today else _midnight(effective_on)
    before = catalogue.vat_bp()
    rate = VatRate(rate_bp=rate_bp, effective_from=starts)
    db.session.add(rate)
    audit.record(
        "vat.update",
        actor=actor,
        rate_bp={"before": before, "after": rate_bp},
        effective_from=starts.isoformat(),
    )
    return rate


def cancel_vat(rate, *, actor):
    """Withdraw a scheduled VAT rate that has not started; one in force stays for ever."""
    if rate.effective_from <= utcnow():
        raise VatInForce()
    audit.record(
        "vat.cancel",
        actor=actor,
        rate_bp=rate.rate_bp,
        effective_from=rate.effective_from.isoformat(),
    )
    db.session.delete(rate)


def _midnight(day: date):
    """The start of ``day`` in Sofia, as a UTC timestamp."""
    return datetime.combine(day, time(), BUSINESS_TIMEZONE).astimezone(UTC)


def vat_history(limit=50):
    return db.session.scalars(
        select(VatRate).order_by(VatRate.effective_from.desc(), VatRate.id.desc()).limit(limit)
    ).all()
