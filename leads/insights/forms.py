"""The insights page's filters: a period (the last 7, 30 or 90 days, or from one day to another),
a bot, an agent and a tag, all in the query string like the list's."""

from __future__ import annotations

from datetime import date, tzinfo

from django import forms

from leads.insights.period import DEFAULT_RANGE, MAX_DAYS, RANGES, Period

CUSTOM = "custom"
# The bot choice of every bot the person sees (the list's own "?bot=all").
ALL_BOTS = "all"
SELECT = {"class": "form-select"}
DAY = {"type": "date", "class": "form-control"}
TEXT = {"class": "form-control"}
RANGE_CHOICES = [(str(days), f"Last {days} days") for days in RANGES] + [(CUSTOM, "From – to")]


class InsightsForm(forms.Form):
    range = forms.ChoiceField(
        label="Period", choices=RANGE_CHOICES, required=False, widget=forms.Select(attrs=SELECT)
    )
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs=DAY))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs=DAY))
    # A bot the person does not see (an old link) is ignored, as the list ignores it.
    bot = forms.CharField(label="Bot", required=False, widget=forms.Select(attrs=SELECT))
    agent = forms.ChoiceField(label="Agent", required=False, widget=forms.Select(attrs=SELECT))
    tag = forms.CharField(
        label="Tag", required=False, max_length=255, widget=forms.TextInput(attrs=TEXT)
    )

    def __init__(self, data, *, bots: list[tuple[int, str]], agents: list[tuple[str, str]]):
        data = data.copy()
        if not any(data.get(name) for name in ("range", "start", "end")):
            data["range"] = str(DEFAULT_RANGE)
        super().__init__(data)
        self.fields["bot"].widget.choices = [
            (ALL_BOTS, "All my bots"),
            *((str(i), n) for i, n in bots),
        ]
        chosen = (data.get("agent") or "").strip()
        if chosen and chosen not in {value for value, _ in agents}:
            agents = [*agents, (chosen, chosen)]  # an old link's agent id stays chosen
        self.fields["agent"].choices = [("", "Anyone"), *agents]
        if len(bots) < 2:
            self.fields["bot"].widget = forms.HiddenInput()

    def clean(self):
        data = super().clean()
        chosen = data.get("range") or ""
        start, end = data.get("start"), data.get("end")
        if chosen == CUSTOM or (not chosen and (start or end)):
            data["range"] = CUSTOM
            if not start or not end:
                raise forms.ValidationError("Choose both days of the period, or one of the ranges.")
            if start > end:
                raise forms.ValidationError("The first day comes after the last.")
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(f"A period is at most {MAX_DAYS} days long.")
        return data

    def period(self, *, today: date, zone: tzinfo) -> Period:
        """The period chosen (the form is valid), in whole days of `zone`."""
        data = self.cleaned_data
        if data.get("range") == CUSTOM:
            return Period(first=data["start"], last=data["end"], zone=zone)
        days = int(data.get("range") or DEFAULT_RANGE)
        return Period.last_days(days, today=today, zone=zone)
