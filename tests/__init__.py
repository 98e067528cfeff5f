"""The test suite. It reads no env file: a developer's instance/.env must not change what the
tests test (config reads ENV_FILE when it is first imported, after this)."""

import os

os.environ["ENV_FILE"] = os.devnull
