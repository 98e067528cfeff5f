"""Forms for the order page and the staff catalogue pages.

Amounts and percentages are text fields read by rules/money.py: exact decimals with a point or
a comma, never floats, so "NaN", "1e3" or "12.345" are refused with a message saying what to type.
"""

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from rules.money import BadNumber, format_hundredths, parse_basis_points, parse_cents
from web.labels import PLAN_KIND

WHOLE = re.compile(r"[0-9]{1,7}")


def parse_whole(text):
    if not WHOLE.fullmatch((text or "").strip()):
        raise BadNumber(_l("Enter a whole number, such as 12."))
    return int(text)


class ParsedField(StringField):
    """A text field whose ``data`` is what ``parser`` makes of the text (None when blank).

    What was typed is shown back as typed, so a mistake can be corrected in place.
    """

    def __init__(self, label=None, validators=None, *, parser, shown=str, required=True, **kw):
        super().__init__(label, validators, **kw)
        self.parser, self.shown, self.required = parser, shown, required
        self.raw = None

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        self.data = None
        if not self.raw.strip():
            if self.required:
                self.process_errors.append(_l("Fill this in."))
            return
        try:
            self.data = self.parser(self.raw)
        except BadNumber as error:
            self.process_errors.append(error.message)

    def _value(self):
        if self.raw is not None:
            return self.raw
        return "" if self.data is None else self.shown(self.data)

    @property
    def blank(self):
        return self.raw is not None and not self.raw.strip()


class RowList(FieldList):
    """A FieldList that reads only row numbers in ASCII digits (WTForms takes "²" and fails)."""

    def _extract_indices(self, prefix, formdata):
        offset = len(prefix) + 1
        for key in formdata:
            if key.startswith(prefix):
                index = key[offset:].split(self._field_separator, 1)[0]
                if index.isascii() and index.isdigit() and len(index) <= 6:
                    yield int(index)


def money_field(label, **kw):
    return ParsedField(
        label, parser=parse_cents, shown=format_hundredths, render_kw={"inputmode": "decimal"}, **kw
    )


def percent_field(label, **kw):
    return ParsedField(
        label,
        parser=parse_basis_points,
        shown=format_hundredths,
        render_kw={"inputmode": "decimal"},
        **kw,
    )


def whole_field(label, **kw):
    return ParsedField(label, parser=parse_whole, render_kw={"inputmode": "numeric"}, **kw)


class PeriodRow(Form):
    """One period of a plan; a row left blank is dropped."""

    months = whole_field(_l("Months"), required=False)
    discount = percent_field(_l("Discount, %"), required=False)


class TierRow(Form):
    """One volume tier; a row left blank is dropped."""

    min_products = whole_field(_l("From eligible products"), required=False)
    rate = percent_field(_l("Rate, %"), required=False)


def _filled_rows(form_list, first, second):
    """(first, second) values of the rows filled in; a half-filled row is an error on it."""
    rows, ok = [], True
    for entry in form_list:
        a, b = entry.form[first], entry.form[second]
        if a.errors or b.errors:
            ok = False
        elif a.data is None and b.data is None:
            continue
        elif a.data is None or b.data is None:
            (a if a.data is None else b).errors.append(_l("Fill in both or neither."))
            ok = False
        else:
            rows.append((a.data, b.data))
    return rows, ok


_WHOLE = _l("Enter a whole number from %(min)s to %(max)s.")


class PlanForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(_l("Give the plan a code.")), Length(max=40)],
        description=_l("Small Latin letters, digits, dots and dashes; it cannot change later."),
    )
    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(k.value, label) for k, label in PLAN_KIND.items()]
    )
    name_bg = StringField(
        _l("Name in Bulgarian"),
        validators=[DataRequired(_l("Give the plan a name.")), Length(max=120)],
    )
    name_en = StringField(
        _l("Name in English"),
        validators=[DataRequired(_l("Give the plan a name.")), Length(max=120)],
    )
    price = money_field(_l("Net price, EUR"))
    base_months = SelectField(
        _l("The price is for"),
        choices=[SelectChoice("1", _l("one month")), SelectChoice("12", _l("one year"))],
    )
    volume_eligible = BooleanField(
        _l("Counts towards partners' volume tiers and gets their discount")
    )
    retired = BooleanField(_l("Retired: no new orders (renewals go on)"))
    mailboxes = IntegerField(
        _l("Mailboxes"),
        validators=[Optional(), NumberRange(min=0, max=10_000, message=_WHOLE)],
        description=_l("how many a product of the plan may have; 0: no mail"),
    )
    mail_quota_mb = IntegerField(
        _l("Mail quota, MB"),
        validators=[Optional(), NumberRange(min=0, max=10_000_000, message=_WHOLE)],
        description=_l("all mailboxes of a product together"),
    )
    periods = RowList(FormField(PeriodRow), min_entries=1, max_entries=24)

    def period_rows(self):
        """{months: discount bp} of the filled rows, or None when a row has an error."""
        rows, ok = _filled_rows(self.periods, "months", "discount")
        months = [m for m, _d in rows]
        if ok and len(set(months)) != len(months):
            self.form_errors.append(_l("Each period may appear only once."))
            ok = False
        return dict(rows) if ok else None


class TiersForm(FlaskForm):
    tiers = RowList(FormField(TierRow), min_entries=1, max_entries=24)

    def tier_rows(self):
        rows, ok = _filled_rows(self.tiers, "min_products", "rate")
        return rows if ok else None


class VatForm(FlaskForm):
    rate = percent_field(_l("VAT rate, %"))
    effective_on = DateField(
        _l("From"), validators=[DataRequired(_l("Enter the date the rate starts."))]
    )


class OrderQuoteForm(FlaskForm):
    """What decides an order line's price; anything else sent along is ignored."""

    class Meta:
        csrf = False  # read by GET; nothing is stored

    plan = SelectField(_l("Plan"), validate_choice=False)
    months = SelectField(_l("Period"), validate_choice=False)
    payer = RadioField(
        _l("Who pays"),
        choices=[
            SelectChoice("partner", _l("I pay, with my volume discount")),
            SelectChoice("client", _l("My client pays")),
        ],
        default="partner",
    )


NEW_PANEL = "new"


class AddToCartForm(FlaskForm):
    """Where the quoted line goes: its domain and panel (the plan and period travel along)."""

    domain = StringField(
        _l("Domain"),
        validators=[Length(max=253)],
        description=_l("For a hosting plan, a subdomain such as blog.example.com is fine."),
    )
    panel = SelectField(_l("Panel"), validate_choice=True)
    new_panel_name = StringField(
        _l("Name of the new panel"),
        validators=[Length(max=120)],
        description=_l("Leave empty to name it after the domain."),
    )


class ConfirmTransferForm(FlaskForm):
    """A bank transfer staff saw arrive: the reference it quoted, the amount, the date."""

    reference = StringField(
        _l("Reference"),
        validators=[DataRequired(_l("Enter the reference the transfer quoted.")), Length(max=40)],
    )
    amount = money_field(_l("Amount received, EUR"))
    received_on = DateField(
        _l("Received on"), validators=[DataRequired(_l("Enter the date of the transfer."))]
    )

    def validate_amount(self, field):
        if field.data == 0:
            raise ValidationError(_l("The amount must be more than 0."))


class WithdrawForm(FlaskForm):
    amount = money_field(_l("Amount, EUR"))
    iban = StringField(
        _l("IBAN of your account"),
        validators=[DataRequired(_l("Enter the IBAN to pay to.")), Length(max=50)],
    )

    def validate_amount(self, field):
        if field.data == 0:
            raise ValidationError(_l("The amount must be more than 0."))


class RejectWithdrawalForm(FlaskForm):
    reason = StringField(
        _l("Reason"), validators=[DataRequired(_l("Give the reason.")), Length(max=500)]
    )


class RefundForm(FlaskForm):
    amount = money_field(_l("Amount to refund, EUR"))
    reason = StringField(
        _l("Reason"), validators=[DataRequired(_l("Give the reason.")), Length(max=500)]
    )

    def validate_amount(self, field):
        if field.data == 0:
            raise ValidationError(_l("The amount must be more than 0."))


class AffiliateRateForm(FlaskForm):
    rate = percent_field(_l("Affiliate commission, percent of the first invoice's net"))


class VoidReferralForm(FlaskForm):
    reason = StringField(
        _l("Reason"), validators=[DataRequired(_l("Give the reason.")), Length(max=500)]
    )


class LinkBuilderForm(FlaskForm):
    """A landing path on this site for the partner's link (``?to=``)."""

    path = StringField(_l("Landing page on this site"), validators=[Length(max=2000)])
