"""Compile each URL rule's builder once per test process, not once per app.

Every test builds its own app (tests/conftest.py), and most of the time that takes goes to
Werkzeug compiling two small Python functions for each of the ~140 URL rules: the code that
turns the rule's values into a URL. That code depends only on the rule's text, its parts
(``_trace``: literal text and the names of its variables), the names of its defaults and
whether unknown values become a query string; it calls the rule's converters through the rule
it is bound to, when a URL is built. So the function compiled for one app's rule is the one
Werkzeug would compile for the same rule of the next app, and is shared. A rule whose default
fills one of its own variables (Werkzeug folds the converted value into the code) is compiled
as usual, as is everything if Werkzeug's method is not the one this was written for.
"""

import inspect

from werkzeug.routing.rules import Rule

_compiled = {}
_werkzeug_compile_builder = Rule._compile_builder


def _compile_builder(self, append_unknown=True):
    defaults = self.defaults or {}
    if any(is_dynamic and data in defaults for is_dynamic, data in self._trace):
        return _werkzeug_compile_builder(self, append_unknown)
    key = (type(self), self.rule, tuple(self._trace), tuple(defaults), append_unknown)
    builder = _compiled.get(key)
    if builder is None:
        builder = _compiled[key] = _werkzeug_compile_builder(self, append_unknown)
    return builder


def share_compiled_url_builders():
    expected = ["self", "append_unknown"]
    if list(inspect.signature(_werkzeug_compile_builder).parameters) == expected:
        Rule._compile_builder = _compile_builder
