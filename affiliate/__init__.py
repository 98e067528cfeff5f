"""The affiliate link service behind /partners/<number> (DESIGN.md section 3.7).

It is kept apart from ``web`` so that it can also run as its own small WSGI app on the
link host; the redirect, click counting and attribution arrive with the affiliate issue.
"""
