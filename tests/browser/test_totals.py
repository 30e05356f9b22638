"""In Chromium: the list's exact count arrives after its rows (with the facets, out of band),
two values of one facet narrow to either, and /overview's bars open the lists they count, with
no console error (the strict Content-Security-Policy included)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from inspector.models import Recording


def test_the_list_shows_its_exact_count_and_takes_two_models(
    live_server, page: Page, imported, errors
):
    page.goto(live_server.url + "/?_size=5")
    total = Recording.objects.count()
    expect(page.locator("#match-count")).to_have_text(f"{total:,}")
    expect(page.locator("#export-count")).to_have_text(f" of {total:,}")
    models = list(
        Recording.objects.exclude(model="").values_list("model", flat=True).distinct()[:2]
    )
    for clicks, model in enumerate(models, 1):
        page.locator(f'a[data-facet=model][title="{model}"]').first.click()
        expect(page).to_have_url(re.compile(f"(model=[^&]+&?){{{clicks}}}"))
    either = Recording.objects.filter(model__in=models).count()
    expect(page.locator("#match-count")).to_have_text(f"{either:,}")
    expect(page.locator("#facets li.chosen a[data-facet=model]")).to_have_count(2)
    assert errors == []


def test_an_overview_bar_opens_the_list_it_counts(live_server, page: Page, imported, errors):
    page.goto(live_server.url + "/overview")
    bar = page.locator("#by-suite svg a").first
    count = int(bar.get_attribute("data-count"))
    bar.click()
    expect(page).to_have_url(re.compile(r"/\?suite="))
    expect(page.locator("#match-count")).to_have_text(f"{count:,}")
    assert errors == []
