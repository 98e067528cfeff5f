"""The reference backend: real server formats written into one folder (docs/provisioning.md).

``FilesBackend(root)`` writes BIND zone files, Postfix lookup tables, a Dovecot passwd-file and
nginx server blocks under ``root``; the servers are pointed at them with an include or a
``texthash:`` table and reloaded by the operator's own means (a path unit, a cron job, a hook).

Every file is written atomically (a temporary file in the same folder, fsync, ``os.replace``)
and only when its content changes, so applying a state again touches nothing. Files shared by
all targets (``named.conf.zones``, the mail maps, the site confs) are rebuilt under an
exclusive ``fcntl.flock`` on a lock file in ``root/.locks/``, so two worker processes (or
threads) never interleave.

The panel validates names before they get here; this backend checks them again as the last line
of defence: anything that could escape ``root`` or break a file format is refused with
:class:`PermanentBackendError` before a single file is written.

The parts: ``checks`` (those checks), ``disk`` (atomic writes), ``zones`` (BIND zone files, record
data through dnspython), ``mail`` (Postfix tables, Dovecot passwd-file), ``web`` (nginx server
blocks) and ``backend`` (FilesBackend, which applies each state with them).
"""

from provision.backends.files.backend import FilesBackend

__all__ = ["FilesBackend"]
