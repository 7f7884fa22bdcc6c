"""The one place where settings read the environment.

Values come from the process environment, then from ``.env`` at the project root (written by
``scripts/setup.sh``, never committed). A required value that is missing raises
``ImproperlyConfigured``: the settings fail closed instead of running with a guessed secret.
"""
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_dotenv = BASE_DIR / ".env"
if _dotenv.exists():
    environ.Env.read_env(str(_dotenv), overwrite=False)
