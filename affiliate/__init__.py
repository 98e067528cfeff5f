"""The affiliate link service behind /partners/<number> (DESIGN.md section 3.7).

It is kept apart from ``web``: its own small Flask app (``affiliate.app``) serves the link on
a link host, and the main app hands it the link's requests too.
"""
