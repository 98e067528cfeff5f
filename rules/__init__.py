"""The rules of the Partner Program (DESIGN.md section 3) as plain functions over the session.

Domain functions flush but never commit, take an ``actor`` where one acts, and raise a
named :class:`rules.errors.DomainError`; the web layer owns the commit and the response.
"""
