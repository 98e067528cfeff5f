"""An aiosmtpd handler for the tests: delivers like Mailbox, but refuses for good (550) every
recipient whose address starts with "nobody@"."""

from aiosmtpd.handlers import Mailbox


class Refusing(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"
