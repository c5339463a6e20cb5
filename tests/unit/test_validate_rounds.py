"""One run reports every problem of a file (issue #19): a problem in one field never hides one
in a field that does not depend on it, a check that would read a wrong value is named as not
checked, and close names are suggested."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from campaign_gitops.desired.loader import read_worktree
from campaign_gitops.errors import ValidationFailed

FIXTURES = Path(__file__).parents[1] / "fixtures"


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "campaigns").mkdir(exist_ok=True)
    (tmp_path / "campaigns" / "c.yaml").write_text(text)
    shutil.copy(FIXTURES / "labels.yaml", tmp_path / "labels.yaml")
    with pytest.raises(ValidationFailed) as info:
        read_worktree(tmp_path, tmp_path / "campaigns", tmp_path / "labels.yaml")
    return [p.render().removeprefix("campaigns/c.yaml:") for p in info.value.problems]


CHANNELS = (
    "app_inbox, email, facebook_audience, google_ads, in_app, native_display, push, "
    "segment_export, sms, tiktok_audience, web_exit_intent, web_native_display, web_popup, "
    "web_push, webhook, whatsapp"
)


def test_an_unknown_channel_hides_nothing_else(tmp_path: Path) -> None:
    # only the enum error showed; the typo and the date appeared once the channel was fixed
    found = problems(
        tmp_path,
        "name: Typos\n"
        "channel: emial\n"
        "what:\n"
        "  content:\n"
        "    subjct: Hi\n"
        "    body: There\n"
        "    sender_name: Shop\n"
        "when:\n"
        "  delivery: on_date_time\n"
        "  start: 2026-13-01T09:00:00Z\n",
    )
    assert found == [
        f"2:10: channel: 'emial' is not one of: {CHANNELS}; did you mean 'email'? [enum]",
        '4:3: what.content: "subject" is a required property [required]',
        "5:5: what.content.subjct: unknown field 'subjct'; did you mean 'subject'? [unknown-field]",
        "10:10: when.start: '2026-13-01T09:00:00Z' is not an ISO 8601 date-time [datetime-format]",
    ]


def test_a_far_unknown_channel_checks_the_rest_and_names_the_content_unchecked(
    tmp_path: Path,
) -> None:
    found = problems(
        tmp_path,
        "name: Fax\n"
        "channel: fax\n"
        "labels: [Onbording]\n"
        "what:\n"
        "  content: {pages: 3}\n"
        "when: {delivery: now, colour: red}\n",
    )
    assert found == [
        f"2:10: channel: 'fax' is not one of: {CHANNELS} [enum]",
        "2:10: channel: the message content is not checked: channel 'fax' is unknown [not-checked]",
        "3:10: labels[0]: label 'Onbording' is not defined in labels.yaml; did you mean "
        "'Onboarding'? [unknown-label]",
        "6:23: when.colour: unknown field 'colour' [unknown-field]",
    ]


def test_a_pattern_error_in_preferences_does_not_hide_end_before_start(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "name: Prefs\n"
        "channel: push\n"
        "what:\n"
        "  content: {title: Hi, body: There}\n"
        "when:\n"
        "  delivery: on_date_time\n"
        "  start: 2026-12-01T09:00:00Z\n"
        "  end: 2026-11-01T09:00:00Z\n"
        "  preferences:\n"
        '    cutoff: "25:00"\n',
    )
    assert found == [
        "8:8: when.end: end must be after start [end-before-start]",
        "10:13: when.preferences.cutoff: '25:00' is not a time of day HH:MM (24 h) [pattern]",
    ]


def test_a_check_that_would_read_a_wrong_value_is_named(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "name: Bad start\n"
        "channel: push\n"
        "what: {content: {title: Hi, body: There}}\n"
        "when:\n"
        "  delivery: on_date_time\n"
        "  start: 2026-12-01T09:00:00\n"
        "  end: 2026-11-01T09:00:00Z\n",
    )
    assert found == [
        "6:10: when.start: '2026-12-01T09:00:00' has no timezone; write it like "
        "2026-12-01T09:00:00+05:30 [naive-datetime]",
        "6:10: when.start: end-before-start not checked: when.start is invalid [not-checked]",
    ]


def test_missing_content_is_not_called_extra_content(tmp_path: Path) -> None:
    found = problems(tmp_path, "name: Empty\nchannel: push\nwhat: {}\nwhen: {delivery: now}\n")
    assert found == ["3:1: what: single_message needs what.content [what-shape]"]


def test_every_unknown_field_of_an_object_and_enum_suggestions(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "name: Typos\n"
        "channel: push\n"
        "what: {content: {titel: Hi, bdy: There}}\n"
        "when: {delivery: nw}\n",
    )
    assert found[2:] == [
        "3:18: what.content.titel: unknown field 'titel'; did you mean 'title'? [unknown-field]",
        "3:29: what.content.bdy: unknown field 'bdy'; did you mean 'body'? [unknown-field]",
        "4:18: when.delivery: 'nw' is not one of: now, on_date_time, multiple_dates, recurring, "
        "action, inaction, date_property, api; did you mean 'now'? [enum]",
        "4:18: when.delivery: start-with-now, start-required, dates-required, dates-unexpected, "
        "recurring-cadence, recurring-unexpected, trigger-required, trigger-unexpected, "
        "inaction-required, date-property-required, scheduled-preference not checked: "
        "when.delivery is invalid [not-checked]",
    ]
    assert [p.rsplit("[", 1)[1] for p in found[:2]] == ["required]", "required]"]


def test_a_cross_field_problem_hides_neither_its_neighbours_nor_the_campaigns_checks(
    tmp_path: Path,
) -> None:
    # the first failing check of `when` hid the others, and any failing check inside the
    # campaign hid the campaign's own (duplicate-label, targeting-cap-per, what-shape)
    found = problems(
        tmp_path,
        "name: Many\n"
        "channel: in_app\n"
        "labels: [Onboarding, Onboarding]\n"
        "who:\n"
        "  segment:\n"
        "    demographics: {age: {min: 40, max: 20}}\n"
        "  targeting_cap: {limit: 10, per: run}\n"
        "what:\n"
        "  content: {template: custom_html}\n"
        "when:\n"
        "  delivery: api\n"
        "  start: 2026-12-01T09:00:00Z\n"
        "  end: 2026-11-01T09:00:00Z\n"
        "  trigger: {event: Opened}\n",
    )
    assert found == [
        "3:1: labels: a label is listed twice [duplicate-label]",
        "4:1: who: a per-run cap is for fixed-time or recurring campaigns, not delivery api "
        "[targeting-cap-per]",
        "6:40: who.segment.demographics.age.max: min must not exceed max [range-order]",
        "9:3: what.content.html: template custom_html needs html [html-required]",
        "13:8: when.end: end must be after start [end-before-start]",
        "14:3: when.trigger: trigger only goes with action or inaction [trigger-unexpected]",
    ]


def test_a_campaign_check_that_reads_a_refused_value_is_named(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "name: Prefs and cap\n"
        "channel: push\n"
        "who:\n"
        "  targeting_cap: {limit: 10, per: day}\n"
        "what:\n"
        "  content: {title: Hi, body: There}\n"
        "when:\n"
        "  delivery: on_date_time\n"
        "  start: 2026-12-01T09:00:00Z\n"
        "  preferences: {user_timezone: true, best_time: true}\n",
    )
    assert found == [
        "10:3: when.preferences: targeting-cap-per not checked: when.preferences is invalid "
        "[not-checked]",
        "10:3: when.preferences: user_timezone and best_time exclude each other "
        "[timezone-and-best-time]",
    ]


def test_the_labels_file_gets_suggestions_too(tmp_path: Path) -> None:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "labels.yaml").write_text("labels:\n  - name: A\n    descripton: d\n")
    with pytest.raises(ValidationFailed) as info:
        read_worktree(tmp_path, tmp_path / "campaigns", tmp_path / "labels.yaml")
    assert [p.render() for p in info.value.problems] == [
        "labels.yaml:3:5: labels[0].descripton: unknown field 'descripton'; did you mean "
        "'description'? [unknown-field]"
    ]


def test_the_checks_of_one_block_report_together(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "name: Weekly\n"
        "channel: push\n"
        "who:\n"
        "  segment: {saved: Buyers, geography: {country: FR}, constant_property: {property: sku}}\n"
        "what: {content: {title: Hi, body: There}}\n"
        "when:\n"
        "  delivery: recurring\n"
        "  start: 2026-12-01T09:00:00Z\n"
        "  recurring: {unit: week, day_of_month: 3, at: '09:00'}\n",
    )
    assert found == [
        "4:20: who.segment.saved: a saved segment cannot be combined with ad-hoc criteria "
        "(geography, constant_property) [saved-and-adhoc]",
        "4:54: who.segment.constant_property: constant_property needs at least two "
        "past_behavior.did events [constant-property-events]",
        "9:3: when.recurring.on: a weekly cadence needs `on` weekdays [recurring-cadence]",
        "9:41: when.recurring.day_of_month: day_of_month only goes with unit: month "
        "[recurring-cadence]",
    ]
