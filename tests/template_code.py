"""Compile each template once per test process, not once per test's app.

Every test builds its own app, so every test compiled again, through Jinja's lexer, parser and
code generator, each template it rendered (a fifth of the suite's time). Jinja can keep the
compiled code of a template in a bytecode cache, and loads it from there when the template's
source has the same checksum. This one keeps it in memory for the test process, per template
and per environment settings that the compiled code depends on (the delimiters and whitespace
options, extensions, autoescape, finalize, the filters and tests by identity): the apps the
fixtures build all have the same, so the code is what compiling the template again would give.
"""

import jinja2


def _settings(environment):
    autoescape = getattr(environment.autoescape, "__func__", environment.autoescape)
    finalize = getattr(environment.finalize, "__func__", environment.finalize)
    return (
        type(environment),
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        tuple(sorted(environment.extensions)),
        getattr(environment, "newstyle_gettext", None),
        environment.optimized,
        environment.undefined,
        environment.is_async,
        autoescape,
        finalize,
        tuple(sorted(environment.filters.items())),
        tuple(sorted(environment.tests.items())),
    )


class SharedTemplateCode(jinja2.BytecodeCache):
    def __init__(self):
        self._code = {}

    def load_bytecode(self, bucket):
        found = self._code.get((_settings(bucket.environment), bucket.key))
        if found is not None and found[0] == bucket.checksum:  # the same source
            bucket.code = found[1]

    def dump_bytecode(self, bucket):
        key = (_settings(bucket.environment), bucket.key)
        self._code[key] = (bucket.checksum, bucket.code)


_shared = SharedTemplateCode()


def share_template_code(app):
    """Let ``app`` and the affiliate link's app it serves use the process's compiled code."""
    for served in (app, app.extensions.get("affiliate_link_app")):
        if served is not None:
            served.jinja_env.bytecode_cache = _shared
