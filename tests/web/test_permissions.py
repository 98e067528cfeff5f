"""The permission matrix, generated: every panel route of the URL map, for the owner, each of the
16 combinations of the 4 groups, a stranger, another partner and staff -> 200/403/404."""

import itertools

import pytest

from models import Group, db
from rules.access import OWNER
from tests import factories
from tests.conftest import sqlite_only
from tests.web.test_routes import PANEL, ROUTES, RULES, csrf_token, send, snapshot, url

COMBINATIONS = [
    Group(sum(bits)) for n in range(5) for bits in itertools.combinations([1, 2, 4, 8], n)
]
PANEL_CASES = [
    pytest.param(endpoint, method, id=f"{method} {endpoint}")
    for endpoint, method in RULES
    if ROUTES.get(endpoint) and ROUTES[endpoint].policy == PANEL
]


def expected(need, subject, groups=None):
    """The status a subject must get: allowed (None), 403 or 404."""
    if subject == "owner":
        return None
    if subject in {"stranger", "other partner", "staff"}:
        return 404
    if need == OWNER:
        return 403
    return None if need is None or need in groups else 403


def test_sixteen_combinations():
    assert len(set(COMBINATIONS)) == 16


# Who may use a route is decided before the database is touched, the same on both databases;
# the matrix (20 subjects a route, each request compared with a snapshot of every table) runs on
# SQLite only, which keeps CI within its time as the routes grow.
@sqlite_only
@pytest.mark.parametrize(("endpoint", "method"), PANEL_CASES)
def test_permission_matrix(app, make_testapp, login_as, world, endpoint, method):
    route = ROUTES[endpoint]
    target = url(app, endpoint, world)
    subjects = []
    for groups in COMBINATIONS:
        user = factories.create_user()
        factories.grant(world.panel, user, groups)
        subjects.append((f"grantee {groups!r}", user, groups))
    subjects += [
        ("stranger", factories.create_user(), None),
        ("other partner", factories.create_partner().user, None),
        ("staff", world.staff, None),
        ("owner", world.owner, None),  # last: the owner's POST may change the world
    ]
    for name, user, groups in subjects:
        client = login_as(user, make_testapp())
        kind = "owner" if name == "owner" else name if groups is None else "grantee"
        want = expected(route.need, kind, groups)
        before = snapshot() if want else None
        response = send(
            client,
            method,
            target,
            {"csrf_token": csrf_token(client)},
            {"HX-Request": "true"} if "access." in endpoint else None,
        )
        if want is None and method == "GET":
            assert response.status_int == 200, (name, response.status_int)
        elif want is None:  # allowed: done (2xx/3xx) or refused for its content (422)
            assert response.status_int < 400 or response.status_int == 422, (
                name,
                response.status_int,
            )
        else:
            assert response.status_int == want, (name, response.status_int)
            assert snapshot() == before, name
    db.session.rollback()
