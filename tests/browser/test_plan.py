"""The public accountability page of the plan (/plan/) in headless Chromium, as an anonymous visitor: the
map draws the published projects, the filters narrow them (counts checked against the API), the semaphores
and goal charts are there, nothing leaves the site; at 1440×900 and 390×844. Also a project's page."""
import pytest

from tests.conftest import external_requests, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
VIEWPORTS = [{"width": 1440, "height": 900}, {"width": 390, "height": 844}]


@pytest.fixture
def demo_portfolio(loaded_territory_tx):
    import io

    from django.apps import apps
    from django.core.management import call_command

    from plan.seed import seed

    seed(apps)  # the transactional database was flushed: the migration's seed again
    call_command("plan_demo", "--rebuild", stdout=io.StringIO())


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=["laptop", "phone"])
def test_public_page_for_an_anonymous_visitor(page, live_server, demo_portfolio, viewport):
    from plan.models import Project

    published = Project.objects.filter(published=True)
    page.set_viewport_size(viewport)
    page.goto(f"{live_server.url}/plan/")
    page.wait_for_selector("body[data-plan-ready='1']", state="attached", timeout=30_000)
    assert page.locator("#map.leaflet-container").count() == 1
    drawn = page.evaluate("document.querySelectorAll('#map .leaflet-interactive').length")
    assert drawn == published.count()
    assert page.locator(".demo-badge").first.is_visible()
    counts = page.evaluate("[...document.querySelectorAll('#semaphores li')].map(li => "
                           "[li.querySelector('.sem').textContent, Number(li.textContent.trim().split(' ').pop())])")
    assert len(counts) == 4 and sum(n for _label, n in counts) == published.count()
    assert {label for label, _n in counts} == {"en meta", "en riesgo", "rezagado", "sin dato"}
    assert page.locator("#goals .goal .sem").count() == page.locator("#goals svg.goal-chart").count() > 0
    assert page.locator("#by-dimension .bar-row").count() >= 6
    for name in ("dimension", "subregion", "municipality", "entity", "term", "status"):
        page.locator(f"#f-{name}").scroll_into_view_if_needed()
        assert page.locator(f"#f-{name}").is_visible()
    cali = published.filter(municipalities__divipola="76001").distinct().count()
    page.evaluate("document.body.dataset.planReady = ''")
    page.select_option("#f-municipality", "76001")
    page.wait_for_selector("body[data-plan-ready='1']", state="attached", timeout=30_000)
    wait_for_js(page, f"document.querySelectorAll('#map .leaflet-interactive').length === {cali}")
    assert "municipality=76001" in page.get_attribute("#downloads a[data-fmt=csv]", "href")
    layout = page.evaluate("({sw: document.documentElement.scrollWidth, w: innerWidth, h: innerHeight, "
                           "map: document.getElementById('map').getBoundingClientRect().height})")
    assert layout["sw"] <= layout["w"], layout
    assert layout["map"] >= 0.5 * layout["h"], layout
    assert external_requests(page, live_server) == []


HOSTILE = '<img src=x onerror="document.body.dataset.pwned=1">'


def test_project_page_shows_timeline_and_no_report_form_to_the_public(page, live_server, demo_portfolio):
    from plan.models import Goal, Project

    project = Project.objects.filter(published=True, reports__isnull=False).distinct().first()
    project.reports.update(note=HOSTILE)
    Goal.objects.filter(project=project).update(name=HOSTILE)
    Project.objects.filter(pk=project.pk).update(name=HOSTILE)  # user text reaches the page as text
    page.goto(f"{live_server.url}/plan/proyectos/{project.pk}/")
    page.wait_for_selector("body[data-plan-ready='1']", state="attached", timeout=30_000)
    assert page.locator("#timeline li").count() == project.reports.count()
    assert page.locator("#report-form").count() == 0
    assert project.code in page.locator("h1").inner_text() and HOSTILE in page.locator("h1").inner_text()
    assert HOSTILE in page.locator("#timeline").inner_text()
    assert page.locator("img[src=x]").count() == 0 and page.evaluate("document.body.dataset.pwned") is None
    hidden = Project.objects.filter(published=False).first()
    assert page.goto(f"{live_server.url}/plan/proyectos/{hidden.pk}/").status == 404


def test_the_responsible_entity_reports_from_the_project_page(page, live_server, demo_portfolio, make_user):
    """A member of the project's entity reports the project's progress and a goal's value through the page;
    a member of another entity gets no form."""
    from plan.models import Entity, Goal, Project
    from tests.conftest import browser_login

    goal = Goal.objects.filter(project__published=True).select_related("project").first()
    project = goal.project
    before_reports, before_goal = project.reports.count(), goal.reports.count()
    member = make_user("ejecutora", "Entidad ejecutora")
    project.entity.members.add(member)
    other = make_user("otra_ejecutora", "Entidad ejecutora")
    Entity.objects.exclude(pk=project.entity_id).first().members.add(other)
    url = f"/plan/proyectos/{project.pk}/"
    browser_login(page, live_server, "ejecutora", url)
    page.wait_for_selector("body[data-plan-ready='1']", state="attached", timeout=30_000)
    page.fill("#r-value", "55.5")
    page.fill("#r-date", "2026-03-01")
    page.fill("#r-note", "acta de obra")
    page.click("#report-form button[type=submit]")
    wait_for_js(page, f"document.querySelectorAll('#timeline li').length === {before_reports + 1}")
    project.refresh_from_db()
    assert project.progress == 55.5 and project.reports.latest("created_at").reporter == member
    page.fill(f"#g-value-{goal.pk}", "42")
    page.click("#goals .goal-form button[type=submit]")
    for _ in range(100):  # the POST is asynchronous: poll the database (10 s at most)
        if goal.reports.count() > before_goal:
            break
        page.wait_for_timeout(100)
    assert goal.reports.count() == before_goal + 1 and goal.reports.latest("created_at").value == 42
    page.context.clear_cookies()
    browser_login(page, live_server, "otra_ejecutora", url)
    page.wait_for_selector("body[data-plan-ready='1']", state="attached", timeout=30_000)
    assert page.locator("#report-form").count() == 0 and page.locator(".goal-form").count() == 0
