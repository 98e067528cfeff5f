"""One blueprint per area; each view loads, checks access, validates, calls one rule, commits."""
