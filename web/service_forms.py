"""Forms of the domain, site and mail pages. The rules (rules.dns, rules.zone, rules.sites,
rules.mailboxes) validate the values; a refusal is put on the field it names
(web.refusals.put_error)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from rules import dns
from rules.zone import REGISTRANT_LIMITS


class RecordForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[Length(max=300)], description=_l("@ for the domain itself")
    )
    type = SelectField(_l("Type"), choices=[SelectChoice(t, t) for t in dns.TYPES])
    ttl = StringField(_l("TTL, seconds"), default=str(dns.DEFAULT_TTL), validators=[Length(max=12)])
    priority = StringField(
        _l("Priority"), validators=[Length(max=12)], description=_l("MX and SRV only")
    )
    value = StringField(_l("Value"), validators=[Length(max=5000)])

    def fields_dict(self):
        return {key: self[key].data for key in ("name", "type", "ttl", "priority", "value")}


class NameserversForm(FlaskForm):
    use = RadioField(
        _l("The domain uses"),
        choices=[
            SelectChoice("host", _l("The host's nameservers (DNS records below are served)")),
            SelectChoice("custom", _l("Other nameservers")),
        ],
        default="host",
    )
    lines = TextAreaField(
        _l("Other nameservers, one per line"),
        validators=[Length(max=4000)],
        render_kw={"rows": 4},
        id="nameserver-lines",
    )


class RegistrantForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)], id="registrant-name")
    organisation = StringField(
        _l("Organisation (optional)"), validators=[Length(max=200)], id="registrant-organisation"
    )
    email = EmailField(_l("Email"), validators=[Length(max=300)], id="registrant-email")
    phone = StringField(
        _l("Phone"),
        validators=[Length(max=40)],
        description=_l("with the country code, such as +359 888 123 456"),
        id="registrant-phone",
    )
    street = StringField(_l("Street address"), validators=[Length(max=300)], id="registrant-street")
    city = StringField(_l("City"), validators=[Length(max=200)], id="registrant-city")
    postcode = StringField(_l("Postcode"), validators=[Length(max=40)], id="registrant-postcode")
    country = SelectField(_l("Country"), id="registrant-country")

    def fields_dict(self):
        return {key: self[key].data for key in REGISTRANT_LIMITS}


class SwitchForm(FlaskForm):
    """A one-button switch: ``on`` is "1" to switch on, anything else to switch off."""

    on = HiddenField()


class SiteForm(FlaskForm):
    host = StringField(_l("Site address"), validators=[Length(max=300)])
    docroot = StringField(
        _l("Folder (document root)"),
        validators=[Length(max=300)],
        description=_l("inside the hosting account, such as public_html/blog"),
    )
    php = SelectField(_l("PHP version"))
    ssl = BooleanField(_l("HTTPS with a free Let's Encrypt certificate"))


class SiteEditForm(FlaskForm):
    docroot = StringField(_l("Folder (document root)"), validators=[Length(max=300)])
    php = SelectField(_l("PHP version"))
    ssl = BooleanField(_l("HTTPS with a free Let's Encrypt certificate"))


class MailboxForm(FlaskForm):
    local = StringField(_l("Address"), validators=[Length(max=300)], id="mailbox-local")
    password = PasswordField(_l("Password"), validators=[Length(max=200)], id="mailbox-password")
    quota = StringField(
        _l("Quota, MB"), default="1024", validators=[Length(max=12)], id="mailbox-quota"
    )


class MailboxEditForm(FlaskForm):
    quota = StringField(_l("Quota, MB"), validators=[Length(max=12)])
    password = PasswordField(
        _l("New password"), validators=[Length(max=200)], description=_l("empty: keep the password")
    )


class AliasForm(FlaskForm):
    local = StringField(_l("Address"), validators=[Length(max=300)], id="alias-local")
    destinations = StringField(
        _l("Sends mail to"),
        validators=[Length(max=6000)],
        description=_l("one or more addresses, separated by commas"),
        id="alias-destinations",
    )


class CatchAllForm(FlaskForm):
    destination = EmailField(
        _l("Mail to unknown addresses goes to"),
        validators=[Length(max=300)],
        description=_l("empty: refuse it"),
        id="catch-all-destination",
    )
