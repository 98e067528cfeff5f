"""nginx server blocks for a hosting account's sites (HTTPS once the certificate is there)."""

from provision.backends.files.checks import DOCROOT_RE, PHP_RE, check_domain, refuse
from provision.state import (
    Site,
)

#: where the hosting accounts' homes are on the web server (root/web/home stands in for it)
HOME_BASE = "/home"
#: where certbot keeps the certificates the site confs name
LETSENCRYPT_LIVE = "/etc/letsencrypt/live"


def check_site(site: object, domain: str) -> Site:
    if not isinstance(site, Site):
        raise refuse(f"web {domain}: not a Site: {site!r}")
    host = check_domain(site.host, "site host")
    if host != domain and not host.endswith("." + domain):
        raise refuse(f"web {domain}: the site {host} is not {domain} nor a subdomain of it")
    docroot = site.docroot
    if (
        not isinstance(docroot, str)
        or len(docroot) > 200
        or not DOCROOT_RE.fullmatch(docroot)
        or ".." in docroot.split("/")
    ):
        raise refuse(f"web {domain}: invalid docroot {docroot!r} of {host}: a relative folder")
    if not isinstance(site.php, str) or not PHP_RE.fullmatch(site.php):
        raise refuse(f"web {domain}: invalid PHP version {site.php!r} of {host}")
    if not isinstance(site.ssl, bool):
        raise refuse(f"web {domain}: invalid ssl {site.ssl!r} of {host}")
    return site


def site_conf(site: Site, domain: str, account: str, issued: bool) -> str:
    """The nginx server blocks of a site; the HTTPS one only once its certificate is there.

    nginx refuses to load a configuration that names a missing certificate (and with it every
    other site), so until certbot has issued one the site is served over HTTP, where the
    HTTP-01 challenge reaches the docroot.
    """
    root = f"{HOME_BASE}/{account}/{site.docroot}"
    serve = [
        f"    root {root};",
        "    index index.php index.html index.htm;",
        "",
        "    location / {",
        "        try_files $uri $uri/ /index.php$is_args$args;",
        "    }",
        "",
        "    location ~ \\.php$ {",
        "        try_files $uri =404;",
        "        include fastcgi_params;",
        "        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
        f"        fastcgi_pass unix:/run/php/php{site.php}-fpm.sock;",
        "    }",
    ]
    head = [
        f"# hosting account {account} ({domain}): written by the panel, edits are overwritten",
        "server {",
        "    listen 80;",
        "    listen [::]:80;",
        f"    server_name {site.host};",
    ]
    if not (site.ssl and issued):
        return "\n".join([*head, *serve, "}", ""])
    cert = f"{LETSENCRYPT_LIVE}/{site.host}"
    return "\n".join(
        [
            *head,
            f"    root {root};",
            "",
            "    location /.well-known/acme-challenge/ {",
            "    }",
            "",
            "    location / {",
            "        return 301 https://$host$request_uri;",
            "    }",
            "}",
            "",
            "server {",
            "    listen 443 ssl;",
            "    listen [::]:443 ssl;",
            f"    server_name {site.host};",
            f"    ssl_certificate {cert}/fullchain.pem;",
            f"    ssl_certificate_key {cert}/privkey.pem;",
            *serve,
            "}",
            "",
        ]
    )
