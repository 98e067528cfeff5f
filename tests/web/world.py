"""A small world with one of everything the route tables need: users, panels, grants,
invitations, a partner with a client, an application waiting for staff."""

from dataclasses import dataclass, fields
from datetime import timedelta

from sqlalchemy import inspect

from config import TestConfig
from models import (
    ALL_GROUPS,
    DnsRecord,
    Group,
    InvitationKind,
    MailAlias,
    Mailbox,
    MailStatus,
    Move,
    MoveStatus,
    OutgoingMail,
    Product,
    ProductKind,
    Referral,
    Site,
    VatRate,
    db,
    utcnow,
)
from rules import billing, deposits, invitations, moves, partners, users
from tests import factories
from tests.conftest import DatabaseImage


@dataclass
class World:
    owner: object
    panel: object
    member: object
    member_grant: object
    invitation: object
    partner: object
    partner_invitation: object
    invitee: object
    invitee_token: str
    applicant: object
    staff: object
    reset_token: str
    verify_token: str
    plan: object
    vat_rate: object
    invoice: object
    cart_item: object
    withdrawal: object
    #: a product of ``panel`` that can be moved, a move out of ``panel`` that can be undone,
    #: and one waiting for a client
    movable: object
    referral: object
    done_move: object
    pending_move: object
    #: what the domain, web and email groups manage: a record of ``movable`` (a domain), and
    #: a hosting product with its main site, a mailbox and an alias
    record: object
    hosting: object
    site: object
    mailbox: object
    alias: object
    #: a message the SMTP server refused for good, for the staff's mail page
    failed_mail: object

    def user(self, who):
        return {
            "owner": self.owner,
            "member": self.member,
            "partner": self.partner.user,
            "staff": self.staff,
            "invitee": self.invitee,
            "user": self.member,
        }[who]


def build_world():
    owner = factories.create_user(name="Owner")
    panel = factories.create_panel(owner, products=[("domain", "example.com")])
    member = factories.create_user(name="Member")
    member_grant = factories.grant(panel, member, ALL_GROUPS)
    invitation, _token = invitations.invite(
        InvitationKind.ACCESS,
        panel=panel,
        email="stranger@example.com",
        groups=Group.WEB,
        actor=owner,
    )
    partner = factories.create_partner()
    factories.link_client(partner, panel, Group.DOMAINS | Group.BILLING)
    other = factories.create_panel()
    partner_invitation, _ = invitations.invite(
        InvitationKind.CLIENT_LINK,
        panel=other,
        email=other.owner.email,
        groups=Group.WEB,
        actor=partner.user,
        partner=partner,
    )
    invitee = factories.create_user("invitee@example.com")
    _inv, invitee_token = invitations.invite(
        InvitationKind.ACCESS, panel=panel, email=invitee.email, groups=Group.EMAIL, actor=owner
    )
    applicant = partners.apply(
        factories.create_user(),
        company="Applicant",
        vat_number="BG999999999",
        expected_hostings=3,
    )
    plan = factories.create_plan("web-business")
    vat_rate = VatRate(rate_bp=2100, effective_from=utcnow() + timedelta(days=30))
    db.session.add(vat_rate)
    own = factories.create_panel(partner.user, name="Partner's own")
    billing.add_new(
        partner.user, plan_code=plan.code, months=12, domain="agency.bg", panel_number=own.number
    )
    invoice = billing.checkout(partner.user)
    cart_item = billing.add_new(
        partner.user, plan_code=plan.code, months=12, domain="next.bg", panel_number=own.number
    )
    other_partner = factories.create_partner()
    top_up = deposits.request_top_up(other_partner, actor=other_partner.user)
    deposits.credit(top_up, 10_000)
    withdrawal = deposits.request_withdrawal(
        other_partner, 5_000, "BG80BNBG96611020345678", actor=other_partner.user
    )
    movable, done_move, pending_move = _moves(owner, panel, partner)
    referral = Referral(
        user_id=factories.create_user().id,
        partner_id=partner.id,
        click_id="0123456789abcdef",
        clicked_at=utcnow(),
    )
    db.session.add(referral)
    services = _services(panel, movable)
    failed_mail = OutgoingMail(
        recipient="nobody@example.com",
        subject="Invitation",
        message="To: nobody@example.com\nSubject: Invitation\n\nBody\n",
        status=MailStatus.FAILED,
        attempts=1,
        last_error="550 No such user here",
    )
    db.session.add(failed_mail)
    db.session.commit()
    return World(
        failed_mail=failed_mail,
        **services,
        movable=movable,
        referral=referral,
        done_move=done_move,
        pending_move=pending_move,
        withdrawal=withdrawal,
        plan=plan,
        vat_rate=vat_rate,
        invoice=invoice,
        cart_item=cart_item,
        owner=owner,
        panel=panel,
        member=member,
        member_grant=member_grant,
        invitation=invitation,
        partner=partner,
        partner_invitation=partner_invitation,
        invitee=invitee,
        invitee_token=invitee_token,
        applicant=applicant,
        staff=factories.create_user(is_staff=True),
        **_tokens(member),
    )


def _tokens(member):
    """The member's signed links, made now: they carry the time they were made."""
    return {
        "reset_token": users.make_reset_token(member, TestConfig.SECRET_KEY),
        "verify_token": users.make_verification_token(member, TestConfig.SECRET_KEY),
    }


class WorldImage:
    """A world built once (per kind of database and settings), for the tests that follow.

    Building it through the rules takes a second or more a test; the image holds its rows
    (tests/conftest.py: DatabaseImage) and which row each of its fields is. ``load`` puts the
    rows into the test's fresh database and gives a World whose fields are those rows, read
    in the test's session, as ``build_world`` would have left them; the signed links are made
    anew, as they would have been, so that none is older than the test.
    """

    def __init__(self, world, folder):
        self.database = DatabaseImage(folder)
        self.fields = {}
        for item in fields(World):
            value = getattr(world, item.name)
            if item.name in {"reset_token", "verify_token"}:
                continue
            if isinstance(value, str):  # a secret whose hash the rows hold
                self.fields[item.name] = value
            else:
                self.fields[item.name] = (type(value), inspect(value).identity)

    def load(self):
        self.database.restore()
        values = {
            name: value if isinstance(value, str) else db.session.get(*value)
            for name, value in self.fields.items()
        }
        return World(**values, **_tokens(values["member"]))


#: a Dovecot-format hash of "mailbox-password" (made once; the world only needs a stored hash)
MAILBOX_HASH = "{ARGON2ID}$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$8m5r1m2l0c0I9uWmU0Y0fQ"


def _services(panel, domain_product):
    record = DnsRecord(
        product_id=domain_product.id, name="www", type="A", ttl=3600, data="192.0.2.1"
    )
    hosting = Product(
        panel_id=panel.id, plan_name="Web", kind=ProductKind.HOSTING, domain="example.info"
    )
    db.session.add_all([record, hosting])
    db.session.flush()
    site = Site(product_id=hosting.id, host="example.info", docroot="public_html", php="8.3")
    mailbox = Mailbox(
        product_id=hosting.id, local="office", password_hash=MAILBOX_HASH, quota_mb=1024
    )
    alias = MailAlias(product_id=hosting.id, local="info", destinations=["office@example.info"])
    db.session.add_all([site, mailbox, alias])
    db.session.flush()
    return {"record": record, "hosting": hosting, "site": site, "mailbox": mailbox, "alias": alias}


def _moves(owner, panel, partner):
    """The world panel's moves: one done (to another panel of the owner), one pending."""
    extra = {}
    for domain in ("undo.example.org", "wait.example.net"):
        extra[domain] = Product(
            panel_id=panel.id, plan_name="Web", kind=ProductKind.HOSTING, domain=domain
        )
        db.session.add(extra[domain])
    db.session.flush()
    second = factories.create_panel(owner, name="Owner's second")
    undo_product = extra["undo.example.org"]
    done_move = moves.move_to(owner, panel, undo_product, moves.fingerprint([undo_product]), second)
    client_panel = factories.create_panel(partner.user, name="For a future client")
    invitation, _token = invitations.invite(
        InvitationKind.OWNERSHIP,
        panel=client_panel,
        email="future@example.com",
        groups=Group.WEB,
        actor=partner.user,
        partner=partner,
    )
    pending_move = Move(
        source_panel_id=panel.id,
        target_panel_id=client_panel.id,
        anchor_product_id=extra["wait.example.net"].id,
        domain="example.net",
        actor_id=owner.id,
        status=MoveStatus.PENDING,
        invitation_id=invitation.id,
    )
    db.session.add(pending_move)
    db.session.flush()
    movable = next(p for p in panel.products if p.domain == "example.com")
    return movable, done_move, pending_move
