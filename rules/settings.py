"""Settings the rules read (e.g. how long a commission clears), from the app's config when
there is an app, else the default written at the call site."""

from flask import current_app, has_app_context


def get(name, default):
    return current_app.config.get(name, default) if has_app_context() else default
