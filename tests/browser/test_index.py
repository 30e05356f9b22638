from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from inspector.models import Recording


def rows(page: Page):
    return page.locator("#recording-list tbody tr")


def test_it_narrows_the_list_as_you_type_and_keeps_the_url(
    live_server, page: Page, imported, errors
):
    page.goto(live_server.url)
    everything = rows(page).count()
    page.locator("#search").press_sequentially("multi_turn", delay=30)
    expect(page).to_have_url(re.compile(r"\?q=multi_turn$"))
    expected = Recording.objects.filter(test_id__icontains="multi_turn").count()
    expect(rows(page)).to_have_count(expected)
    assert expected < everything
    # The URL is the state: reloading it shows the same list.
    page.reload()
    expect(rows(page)).to_have_count(expected)
    expect(page.locator("#search")).to_have_value("multi_turn")
    assert errors == []


def test_it_narrows_with_a_facet_and_keeps_it_while_searching(
    live_server, page: Page, imported, errors
):
    page.goto(live_server.url)
    page.locator("a[data-facet=suite]", has_text=re.compile("^agents$")).click()
    expect(page).to_have_url(re.compile(r"suite=agents"))
    expect(rows(page)).to_have_count(Recording.objects.filter(suite="agents").count())
    page.locator("#search").fill("guardrails")
    expect(page).to_have_url(re.compile(r"q=guardrails"))
    expect(page).to_have_url(re.compile(r"suite=agents"))
    expect(rows(page)).to_have_count(
        Recording.objects.filter(suite="agents", test_id__icontains="guardrails").count()
    )
    assert errors == []


def test_it_moves_through_the_list_from_the_keyboard(live_server, page: Page, imported, errors):
    page.goto(live_server.url + "/?suite=agents")
    page.keyboard.press("/")
    expect(page.locator("#search")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("j")
    expect(rows(page).nth(1)).to_have_class(re.compile("current"))
    target = rows(page).nth(1).get_attribute("data-href")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(target.split("?")[0])))
    assert errors == []


def test_a_test_thread_shows_tool_call_ids_as_recorded(live_server, page: Page, imported, errors):
    """The role line is set in capitals; the ids in it are not (`call_AbC` is not `CALL_ABC`)."""
    answer = (
        Recording.objects.filter(messages__tool_call_id="call_1szAPTRoGzZQuJ8dfuCuQpt0")
        .values_list("test_id", flat=True)
        .first()
    )
    assert answer
    page.goto(f"{live_server.url}/test?id={answer}")
    role = page.locator(".bubble .role", has_text="call_1szAPTRoGzZQuJ8dfuCuQpt0").first
    # innerText is the text as shown, capitals and all.
    shown = "TOOL · ANSWERS call_1szAPTRoGzZQuJ8dfuCuQpt0"
    expect(role).to_contain_text(shown, use_inner_text=True)
    assert errors == []
