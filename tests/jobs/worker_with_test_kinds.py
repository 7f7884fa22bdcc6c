"""The production worker command with the test job kinds registered: ``python -m tests.jobs.worker_with_test_kinds
[geosig_worker options]`` (used by the kill tests as a subprocess)."""
import sys

import django

if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geosig.settings")
    django.setup()
    import tests.jobs.kinds  # noqa: F401
    from django.core.management import call_command

    call_command("geosig_worker", *sys.argv[1:])
