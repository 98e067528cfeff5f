"""Forms of the panel, access, partner and staff areas."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from models import Group
from rules.access import GROUP_LABELS
from web import audit_text
from web.forms import Sent

#: the checkbox of each group (prefixed, so that "email" stays free for an address field)
GROUP_FIELDS = {
    "can_domains": Group.DOMAINS,
    "can_web": Group.WEB,
    "can_email": Group.EMAIL,
    "can_billing": Group.BILLING,
}


class GroupsMixin:
    """Four checkboxes, one per permission group."""

    can_domains = BooleanField(GROUP_LABELS[Group.DOMAINS])
    can_web = BooleanField(GROUP_LABELS[Group.WEB])
    can_email = BooleanField(GROUP_LABELS[Group.EMAIL])
    can_billing = BooleanField(GROUP_LABELS[Group.BILLING])

    def groups(self):
        chosen = Group(0)
        for name, group in GROUP_FIELDS.items():
            if self[name].data:
                chosen |= group
        return chosen

    def set_groups(self, groups):
        for name, group in GROUP_FIELDS.items():
            self[name].data = group in groups
        return self


def _email(label):
    return EmailField(
        label,
        validators=[
            DataRequired(_l("Enter an email address.")),
            Length(max=254),
            Email(_l("Enter a valid email address.")),
        ],
    )


def _name(label):
    return StringField(label, validators=[DataRequired(_l("Enter a name.")), Length(max=120)])


class PanelForm(FlaskForm):
    name = _name(_l("Panel name"))


class AddPersonForm(GroupsMixin, FlaskForm):
    email = _email(_l("Email of the person"))


class GrantGroupsForm(GroupsMixin, FlaskForm):
    pass


class TransferForm(FlaskForm):
    new_owner = SelectField(_l("New owner"), coerce=int, validate_choice=True)
    confirm = BooleanField(
        _l("I understand that the new owner decides who may touch this panel, me included."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class AcceptForm(GroupsMixin, FlaskForm):
    """The invitee's answer; for partner invitations the boxes are the partner's groups."""


class ApplyForm(FlaskForm):
    company = StringField(
        _l("Company"), validators=[DataRequired(_l("Enter the company name.")), Length(max=200)]
    )
    vat_number = StringField(
        _l("VAT number"),
        validators=[DataRequired(_l("Enter the VAT number.")), Length(min=4, max=32)],
    )
    address = StringField(
        _l("Registered address"),
        validators=[DataRequired(_l("Enter the registered address.")), Length(max=300)],
    )
    expected_hostings = IntegerField(
        _l("Expected number of hostings"),
        validators=[
            DataRequired(_l("Enter a whole number from 1 to 100000.")),
            NumberRange(1, 100_000, _l("Enter a whole number from 1 to 100000.")),
        ],
    )


OWNER_CHOICES = [
    SelectChoice("partner", _l("I own it")),
    SelectChoice("client", _l("The client owns it (invite by email)")),
]


class ClientPanelForm(GroupsMixin, FlaskForm):
    name = _name(_l("Panel name"))
    owner = RadioField(_l("Owner"), choices=OWNER_CHOICES, default="partner")
    client_email = EmailField(
        _l("Client's email"),
        validators=[Optional(), Length(max=254), Email(_l("Enter a valid email address."))],
    )

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if ok and self.owner.data == "client" and not self.client_email.data:
            self.client_email.errors.append(_l("Enter the email of the client who will own it."))
            return False
        return ok


class InviteClientForm(GroupsMixin, FlaskForm):
    panel_number = IntegerField(
        _l("Panel number"),
        validators=[
            DataRequired(_l("Enter the panel number: digits only.")),
            NumberRange(1, 10**12, _l("Enter the panel number: digits only.")),
        ],
    )
    email = _email(_l("Email of the panel's owner"))


class NoteForm(FlaskForm):
    note = TextAreaField(
        _l("Private note"),
        validators=[Sent(), Length(max=2000, message=_l("Use at most 2000 characters."))],
    )


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Length(max=100)])
    page = HiddenField()


class AuditFilterForm(FlaskForm):
    """The audit log's filters: who, which panel (staff), what, between which days."""

    class Meta:
        csrf = False

    who = StringField(_l("Who (email)"), validators=[Optional(), Length(max=254)])
    panel = IntegerField(_l("Panel №"), validators=[Optional(), NumberRange(min=1, max=10**12)])
    action = SelectField(_l("What"), validators=[Optional()])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])

    def __init__(self, *args, families, **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = [("", _l("everything"))] + families


def audit_filters(args):
    """Read the audit log's filters: (the form, the filters for audit.search, the page)."""
    form = AuditFilterForm(args, families=[(k, str(v)) for k, v in audit_text.FAMILIES.items()])
    ok = form.validate()
    filters = {
        "actor": (form.who.data or "").strip() if ok else "",
        "action": form.action.data or None if ok else None,
        "since": form.since.data if ok else None,
        "until": form.until.data if ok else None,
        "panel_number": form.panel.data if ok else None,
    }
    page = args.get("page", "1")
    return form, filters, int(page) if page.isdigit() and len(page) < 7 else 1


def listing_request(args):
    """Read a list page's query: the search form, its term, and a sane page number."""
    search = SearchForm(args)
    term = search.q.data if search.validate() else ""
    page = args.get("page", "1")
    return search, term, int(page) if page.isdigit() and len(page) < 7 else 1


class ApproveForm(FlaskForm):
    minimum_deposit = IntegerField(
        _l("Minimum deposit (EUR)"),
        validators=[
            DataRequired(_l("Enter a whole number of euro from 1 to 1000000.")),
            NumberRange(1, 1_000_000, _l("Enter a whole number of euro from 1 to 1000000.")),
        ],
    )


class SuspendForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that the partner's pages stop working until staff lifts this."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(_l("Give the reason.")), Length(max=2000)]
    )


def _panel_number(value):
    """A panel number from the form, or None for anything else (the choice check refuses it)."""
    text = str(value) if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


DESTINATION_CHOICES = [
    SelectChoice("panel", _l("An existing panel")),
    SelectChoice("new", _l("A new panel of your own")),
    SelectChoice("client", _l("A new panel for a client (invite by email)")),
]


class MoveForm(GroupsMixin, FlaskForm):
    """Where a bundle goes; ``bundle`` is the fingerprint of the preview the mover saw.

    For a client's new panel, the group boxes are the rights the partner proposes to keep.
    """

    bundle = HiddenField(validators=[DataRequired(), Length(max=64)])
    destination = RadioField(_l("Move to"), choices=DESTINATION_CHOICES, default="panel")
    target = SelectField(_l("Panel"), coerce=_panel_number, validate_choice=False)
    new_name = StringField(_l("Name of the new panel"), validators=[Length(max=120)])
    client_email = EmailField(
        _l("Client's email"),
        validators=[Optional(), Length(max=254), Email(_l("Enter a valid email address."))],
    )

    def offer(self, panels, *, for_clients):
        """Set the target choices, and drop the client option for a user who is no partner."""
        self.target.choices = [(p.number, f"{p.name} (№ {p.number})") for p in panels]
        if not for_clients:
            self.destination.choices = [c for c in DESTINATION_CHOICES if c.value != "client"]
        return self

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not ok:
            return False
        needed = {
            "panel": (self.target, _l("Choose the panel.")),
            "new": (self.new_name, _l("Enter a name.")),
            "client": (self.client_email, _l("Enter the email of the client who will own it.")),
        }
        field, message = needed[self.destination.data]
        if field is self.target and self.target.data not in {n for n, _ in self.target.choices}:
            self.target.errors = [message]
        if field is not self.target and not (field.data or "").strip():
            field.errors = [message]
        if self.destination.data == "client" and not (self.new_name.data or "").strip():
            self.new_name.errors = [_l("Enter a name.")]
        return not (self.target.errors or self.new_name.errors or self.client_email.errors)
