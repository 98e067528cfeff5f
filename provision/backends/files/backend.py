"""FilesBackend: applies zone, registry, mail and web states as server files under one root."""

import contextlib
import fcntl
import json
import re
from collections.abc import Iterator
from pathlib import Path

from provision.backends.base import Backend, BackendError, PermanentBackendError
from provision.backends.files.checks import DOMAIN_RE, account_name, check_domain, refuse
from provision.backends.files.disk import remove_file, text_bytes, tree_size, write_atomic
from provision.backends.files.mail import mail_data, mail_maps, mail_state_from_data
from provision.backends.files.web import HOME_BASE, check_site, site_conf
from provision.backends.files.zones import zone_lines, zone_serial
from provision.state import (
    MailState,
    RegistryState,
    SiteFacts,
    WebFacts,
    WebState,
    ZoneState,
)

_OWNER_RE = re.compile(r"\A# hosting account (\S+) \((\S+)\)")


class FilesBackend(Backend):
    """Writes the states as server files under ``root``; docs/provisioning.md has the layout.

    ``root/zones/``: ``<domain>.zone`` and ``named.conf.zones``; ``root/registry/<domain>.json``;
    ``root/mail/``: ``domains/<domain>.json``, the Postfix tables and ``dovecot-users``;
    ``root/web/``: ``sites/<host>.conf``, ``ssl-requests/<host>``, ``certs/<host>/`` (read),
    ``home/<account>/`` and ``<domain>/sites.json``; ``root/.locks/``.
    """

    def __init__(self, root: Path | str):
        self.root = Path(root).absolute()
        if set(str(self.root)) & set('"\\;{}\n\r\t'):
            raise ValueError(f"the provisioning folder {self.root} has characters configs reject")

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive lock between processes and threads (each call opens its own file)."""
        folder = self.root / ".locks"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{name}.lock", "a+b") as file:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(file.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _os_errors(self, what: str) -> Iterator[None]:
        """A failing disk is worth a retry: OSError becomes BackendError."""
        try:
            yield
        except OSError as error:
            raise BackendError(f"{what}: {error}") from error

    # ------------------------------------------------------------ DNS

    def apply_zone(self, state: ZoneState) -> None:
        """Write ``zones/<domain>.zone`` (or remove it when not served) and named.conf.zones.

        A serial lower than the one of the zone file already there is refused: the zone
        would go back in time and the secondaries would not follow.
        """
        domain = check_domain(state.domain)
        text = text_bytes(zone_lines(state)) if state.served else None
        path = self.root / "zones" / f"{domain}.zone"
        with self._os_errors(f"zone {domain}"), self.lock("zones"):
            if text is None:
                remove_file(path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    old = zone_serial(path.read_text("ascii", errors="replace"))
                    if old is None:
                        raise refuse(f"zone {domain}: no serial in the zone file {path}")
                    if state.serial < old:
                        raise refuse(
                            f"zone {domain}: serial {state.serial} is lower than {old} "
                            "of the zone being served"
                        )
                write_atomic(path, text)
            self._write_named_conf()

    def _write_named_conf(self) -> None:
        folder = self.root / "zones"
        folder.mkdir(parents=True, exist_ok=True)
        lines = ["// the zones written by the panel's provisioning, one per zone file"]
        for path in sorted(folder.glob("*.zone")):
            domain = path.name.removesuffix(".zone")
            if DOMAIN_RE.fullmatch(domain) and path.is_file():
                lines.append(f'zone "{domain}" {{ type master; file "{path}"; }};')
        write_atomic(folder / "named.conf.zones", text_bytes(lines))

    # ------------------------------------------------------------ registry

    def apply_registry(self, state: RegistryState) -> None:
        """Write ``registry/<domain>.json``: a stand-in for the call to a registrar's API.

        A real backend sends the nameservers, the registrant contact, the renewal flag and
        the transfer code to the registrar (EPP or its REST API); this one writes what it
        would send, so a test or an operator can see it.
        """
        domain = check_domain(state.domain)
        nameservers = [check_domain(ns, "nameserver") for ns in state.nameservers]
        if not isinstance(state.auto_renew, bool) or not isinstance(state.auth_code, str):
            raise refuse(f"registry {domain}: invalid auto_renew or auth_code")
        registrant = state.registrant
        contact = None
        if registrant is not None:
            contact = {
                key: getattr(registrant, key)
                for key in (
                    "name",
                    "organisation",
                    "email",
                    "phone",
                    "street",
                    "city",
                    "postcode",
                    "country",
                )
            }
            if not all(isinstance(value, str) for value in contact.values()):
                raise refuse(f"registry {domain}: the registrant's fields are text")
        data = {
            "domain": domain,
            "nameservers": nameservers,
            "registrant": contact,
            "auto_renew": state.auto_renew,
            "auth_code": state.auth_code,
        }
        text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        with self._os_errors(f"registry {domain}"):
            write_atomic(self.root / "registry" / f"{domain}.json", text.encode(), 0o640)

    # ------------------------------------------------------------ mail

    def apply_mail(self, state: MailState) -> None:
        """Keep ``mail/domains/<domain>.json`` and rebuild the Postfix and Dovecot files.

        No mailboxes and no aliases: the domain is removed (its mail on disk stays).
        """
        data = mail_data(state)
        domain = data["domain"]
        path = self.root / "mail" / "domains" / f"{domain}.json"
        with self._os_errors(f"mail {domain}"), self.lock("mail"):
            if data["mailboxes"] or data["aliases"]:
                text = json.dumps(data, sort_keys=True, indent=2) + "\n"
                write_atomic(path, text.encode("ascii"), 0o640)
            else:
                remove_file(path)
            self._write_mail_maps()

    def _write_mail_maps(self) -> None:
        folder = self.root / "mail"
        domains = []
        for path in sorted((folder / "domains").glob("*.json")):
            try:
                stored = json.loads(path.read_text("ascii"))
                data = mail_data(mail_state_from_data(stored))
                if data["domain"] != path.name.removesuffix(".json"):
                    raise ValueError("the domain differs from the file name")
            except (ValueError, KeyError, TypeError, AttributeError, PermanentBackendError) as e:
                raise BackendError(f"the stored mail domain {path} is unreadable: {e}") from e
            domains.append(data)
        for name, lines in mail_maps(domains).items():
            mode = 0o640 if name == "dovecot-users" else 0o644
            write_atomic(folder / name, text_bytes(lines), mode)

    # ------------------------------------------------------------ web

    def apply_web(self, state: WebState) -> WebFacts:
        """Write one nginx conf per site, request certificates, report SSL and disk usage.

        Sites no longer in the state lose their conf and certificate request; the account's
        home folder is never removed. ``disk_bytes`` is the account's whole home, the same
        figure for each of its sites.
        """
        domain = check_domain(state.domain)
        account = account_name(domain)
        sites = [check_site(site, domain) for site in state.sites]
        hosts = [site.host for site in sites]
        if len(set(hosts)) != len(hosts):
            raise refuse(f"web {domain}: a site host is there twice")
        web = self.root / "web"
        home = web / "home" / account
        record = web / domain / "sites.json"
        statuses = {}
        with self._os_errors(f"web {domain}"), self.lock("web"):
            for host in hosts:
                owner = self._conf_owner(web / "sites" / f"{host}.conf")
                if owner not in (None, domain):
                    raise refuse(f"web {domain}: the site {host} belongs to {owner}")
            for site in sites:
                self._make_docroot(home, site.docroot)
            before = self._recorded_hosts(record)
            for site in sites:
                issued = (web / "certs" / site.host / "fullchain.pem").is_file()
                conf = site_conf(site, domain, account, issued)
                write_atomic(web / "sites" / f"{site.host}.conf", conf.encode("ascii"))
                request = web / "ssl-requests" / site.host
                if site.ssl and not issued:
                    webroot = f"{HOME_BASE}/{account}/{site.docroot}"
                    text = f"HOST={site.host}\nWEBROOT={webroot}\nDOMAIN={domain}\n"
                    write_atomic(request, text.encode("ascii"))
                else:
                    remove_file(request)
                statuses[site.host] = ("issued" if issued else "requested") if site.ssl else "none"
            for host in sorted(before - set(hosts)):
                conf_path = web / "sites" / f"{host}.conf"
                if self._conf_owner(conf_path) == domain:
                    remove_file(conf_path)
                    remove_file(web / "ssl-requests" / host)
            if sites:
                listing = [
                    {"host": s.host, "docroot": s.docroot, "php": s.php, "ssl": s.ssl}
                    for s in sites
                ]
                text = json.dumps(listing, sort_keys=True, indent=2) + "\n"
                write_atomic(record, text.encode("ascii"))
            else:
                remove_file(record)
                with contextlib.suppress(FileNotFoundError, OSError):
                    record.parent.rmdir()
        with self._os_errors(f"web {domain}"):
            usage = tree_size(home) if sites else None
        return WebFacts(
            sites=tuple(SiteFacts(host=h, ssl=statuses[h], disk_bytes=usage) for h in hosts)
        )

    @staticmethod
    def _conf_owner(path: Path) -> str | None:
        """The domain a site conf belongs to; None when there is no conf."""
        try:
            with open(path, encoding="ascii", errors="replace") as file:
                first = file.readline()
        except FileNotFoundError:
            return None
        match = _OWNER_RE.match(first)
        return match[2] if match else "a configuration not written by the panel"

    @staticmethod
    def _recorded_hosts(record: Path) -> set[str]:
        try:
            listing = json.loads(record.read_text("ascii"))
            return {
                entry["host"]
                for entry in listing
                if isinstance(entry, dict) and DOMAIN_RE.fullmatch(str(entry.get("host")))
            }
        except FileNotFoundError:
            return set()
        except (ValueError, TypeError) as error:
            raise BackendError(f"the site list {record} is unreadable: {error}") from error

    @staticmethod
    def _make_docroot(home: Path, docroot: str) -> None:
        """Make the docroot's folders under ``home``, refusing a way out through a symlink
        (a customer can make one in his home)."""
        home.mkdir(parents=True, exist_ok=True)
        real_home = home.resolve()
        path = home
        for part in docroot.split("/"):
            path = path / part
            if path.is_symlink() and not path.resolve().is_relative_to(real_home):
                raise refuse(f"the docroot {docroot} leads out of the home folder")
            if not path.exists():
                path.mkdir()
            elif not path.is_dir():
                raise refuse(f"the docroot {docroot} is not a folder")
