#!/bin/sh
# Regenerate docs/walkthrough/*.jpg: the POT amend cycle (planner and CVC reviewer) driven in headless Chromium
# at 1440×900 by tests/territorial/test_pot_amend_browser.py::test_amend_cycle_through_the_pages, which writes a
# screenshot at each step when GEOSIG_WALKTHROUGH_DIR is set. Needs the test database (DATABASE_URL) like any test.
set -e
cd "$(dirname "$0")/.."
rm -f docs/walkthrough/*.jpg
GEOSIG_WALKTHROUGH_DIR="$(pwd)/docs/walkthrough" .venv/bin/pytest -q \
  "tests/territorial/test_pot_amend_browser.py::test_amend_cycle_through_the_pages" "$@"
ls -l docs/walkthrough/*.jpg
