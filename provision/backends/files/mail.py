"""Mail data: a domain's mailboxes and aliases checked into JSON, and the Postfix tables and
Dovecot passwd-file built from all domains."""

from provision.backends.files.checks import (
    ADDRESS_RE,
    DOVECOT_HASH_RE,
    LOCAL_RE,
    check_domain,
    check_int,
    refuse,
)
from provision.state import (
    Alias,
    Mailbox,
    MailState,
)

#: where Dovecot keeps a mailbox (its home) and Postfix's virtual_mailbox_base
MAIL_BASE = "/var/mail/vhosts"


def mail_data(state: MailState) -> dict:
    """The mail domain's data, checked, in the JSON form kept under root/mail/domains/."""
    domain = check_domain(state.domain)
    mailboxes, aliases = {}, {}
    for box in state.mailboxes:
        if not isinstance(box, Mailbox):
            raise refuse(f"mail {domain}: not a Mailbox: {box!r}")
        if (
            not isinstance(box.local, str)
            or len(box.local) > 64
            or not LOCAL_RE.fullmatch(box.local)
        ):
            raise refuse(f"mail {domain}: invalid mailbox name {box.local!r}")
        if box.local in mailboxes:
            raise refuse(f"mail {domain}: the mailbox {box.local!r} is there twice")
        hashed = box.password_hash
        if not isinstance(hashed, str) or not DOVECOT_HASH_RE.fullmatch(hashed):
            raise refuse(f"mail {domain}: the password of {box.local!r} is not a Dovecot hash")
        quota = check_int(box.quota_mb, 1, 2**31 - 1, f"quota of {box.local!r}")
        mailboxes[box.local] = {"password_hash": hashed, "quota_mb": quota}
    for alias in state.aliases:
        if not isinstance(alias, Alias):
            raise refuse(f"mail {domain}: not an Alias: {alias!r}")
        local = alias.local
        if not isinstance(local, str) or (
            local and (len(local) > 64 or not LOCAL_RE.fullmatch(local))
        ):
            raise refuse(f"mail {domain}: invalid alias name {local!r}")
        if local in aliases:
            raise refuse(f"mail {domain}: the alias {local!r} is there twice")
        destinations = set()
        for address in alias.destinations:
            if not isinstance(address, str) or len(address) > 254:
                raise refuse(f"mail {domain}: invalid destination {address!r}")
            if not ADDRESS_RE.fullmatch(address) or not address.isprintable():
                raise refuse(f"mail {domain}: invalid destination {address!r}")
            destinations.add(address)
        if not destinations:
            raise refuse(f"mail {domain}: the alias {local!r} has no destination")
        aliases[local] = sorted(destinations)
    return {"domain": domain, "mailboxes": mailboxes, "aliases": aliases}


def mail_state_from_data(data: dict) -> MailState:
    return MailState(
        domain=data["domain"],
        mailboxes=tuple(
            Mailbox(local=local, password_hash=box["password_hash"], quota_mb=box["quota_mb"])
            for local, box in data["mailboxes"].items()
        ),
        aliases=tuple(
            Alias(local=local, destinations=tuple(destinations))
            for local, destinations in data["aliases"].items()
        ),
    )


def mail_maps(domains: list[dict]) -> dict[str, list[str]]:
    """The Postfix tables and the Dovecot passwd-file for all mail domains, sorted."""
    mailbox_domains, mailbox_maps, alias_maps, users = [], [], [], []
    for data in sorted(domains, key=lambda d: d["domain"]):
        domain = data["domain"]
        mailbox_domains.append(f"{domain} OK")
        aliases = data["aliases"]
        for local in sorted(data["mailboxes"]):
            box = data["mailboxes"][local]
            address = f"{local}@{domain}"
            mailbox_maps.append(f"{address} {domain}/{local}/")
            users.append(
                ":".join(
                    [
                        address,
                        box["password_hash"],
                        "",  # uid: Dovecot's mail_uid
                        "",  # gid: Dovecot's mail_gid
                        "",  # gecos
                        f"{MAIL_BASE}/{domain}/{local}",  # home
                        "",  # shell
                        f"userdb_quota_rule=*:storage={box['quota_mb']}M",
                    ]
                )
            )
        # A catch-all in virtual_alias_maps would take the mailboxes' mail too: Postfix's
        # VIRTUAL_README has each mailbox aliased to itself then.
        own = {}
        if "" in aliases:
            own = {local: [f"{local}@{domain}"] for local in data["mailboxes"]}
        for local, destinations in sorted({**own, **aliases}.items()):
            key = f"{local}@{domain}" if local else f"@{domain}"
            alias_maps.append(f"{key} {','.join(destinations)}")
    return {
        "virtual_mailbox_domains": mailbox_domains,
        "virtual_mailbox_maps": mailbox_maps,
        "virtual_alias_maps": alias_maps,
        "dovecot-users": users,
    }
