"""Page or fragment: the htmx conventions of STYLE.md in one small place."""

import json

from flask import (
    Response,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
)


def is_htmx():
    """Tell whether htmx sent this request."""
    return request.headers.get("HX-Request") == "true"


def is_partial():
    """Tell whether to answer with a fragment: htmx asked, and not for a boost or history."""
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(page, fragment, status=200, **context):
    """Render the full page, or only its fragment for an htmx request."""
    return render_template(fragment if is_partial() else page, **context), status


def changed(body, status=200):
    """A fragment answering a change whose effects show elsewhere on the page too: the parts
    that listen for ``provision-changed`` (the queue, the mail figures) reload themselves."""
    response = make_response(body, status)
    return add_trigger(response, "provision-changed")


def add_trigger(response, event, detail=True):
    """Ask htmx to fire ``event`` on the client, keeping triggers already set."""
    raw = response.headers.get("HX-Trigger")
    triggers = json.loads(raw) if raw else {}
    triggers[event] = detail
    response.headers["HX-Trigger"] = json.dumps(triggers)
    return response


def move_flashes_to_trigger(response):
    """Hand pending flash messages to a fragment response as an HX-Trigger event."""
    # A client redirect or refresh loads a full page, which shows the messages itself.
    reloads = "HX-Redirect" in response.headers or "HX-Refresh" in response.headers
    if is_partial() and not response.is_streamed and not reloads:
        messages = get_flashed_messages(with_categories=True)
        if messages:
            add_flash_trigger(response, messages)
    return response


def add_flash_trigger(response, messages):
    """Send (category, message) pairs for static/app.js to show in the flash area."""
    detail = [{"category": category, "message": str(text)} for category, text in messages]
    return add_trigger(response, "flash", {"messages": detail})


def full_page_redirect(url):
    """Go to ``url`` after a POST: a 303 for a plain request, HX-Redirect for htmx."""
    if is_htmx():
        return client_redirect(Response(status=200), url)
    return redirect(url, 303)


def client_redirect(response, url):
    """Make htmx load ``url`` as a full page instead of swapping the answer into a fragment."""
    response.headers["HX-Redirect"] = url
    return response
