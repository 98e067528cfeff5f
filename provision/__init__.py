"""Provisioning: the desired state of domains, sites and mail, handed to the hosting servers.

The panel writes the desired state and an outbox entry in one transaction (rules.zone,
rules.sites, rules.mailboxes);
``flask provision run`` (provision.worker) hands the entries to the configured backend
(provision.backends). docs/provisioning.md describes the backend interface.
"""
