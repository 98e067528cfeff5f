"""The entry point Phusion Passenger looks for on cPanel-style shared hosting."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from web import create_app

application = create_app()
