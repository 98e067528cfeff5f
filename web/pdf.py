"""Documents as PDF: WeasyPrint draws a page rendered for print [R21].

Nothing is fetched while drawing: the page carries its own styles, the fonts come from the
system (DejaVu, for Cyrillic), and the fetcher refuses every address but ``data:``, so what
a user typed into a name or a domain cannot make the server read a file or open a
connection. WeasyPrint is imported when the first document is drawn, not with the app: it
needs the Pango library, and a host without it still serves everything else (and answers
503 for a PDF, saying why)."""

import functools


class PdfUnavailable(Exception):
    """WeasyPrint (or the Pango library it draws text with) is not installed here."""


@functools.cache
def _weasyprint():
    try:
        import weasyprint  # here, not at the top: it needs Pango (see above)
    except (ImportError, OSError) as error:
        raise PdfUnavailable(str(error)) from error
    return weasyprint


def from_html(html):
    """The PDF document drawn from ``html`` (a whole page with its styles inline), as bytes."""
    weasyprint = _weasyprint()
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=("data",))
    return weasyprint.HTML(string=html, url_fetcher=fetcher, base_url="data:,").write_pdf()
