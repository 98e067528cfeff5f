"""The world the route tables and the permission matrix start from."""

import pytest

from models import db, utcnow
from tests.web.world import WorldImage, build_world


@pytest.fixture(scope="session")
def world_images():
    return {}


@pytest.fixture
def world(app, app_config, world_images, tmp_path_factory):
    """tests/web/world.py's World in this test's fresh database. The first test of a process
    on each kind of database (and its settings, and day) builds it through the rules; the
    tests after it get a copy of those rows (WorldImage), which is what building it again
    would have written."""
    key = (db.engine.dialect.name, repr(sorted(app_config.items())), utcnow().date())
    image = world_images.get(key)
    if image is None:
        world = build_world()
        world_images[key] = WorldImage(world, tmp_path_factory.mktemp("world"))
        return world
    return image.load()
