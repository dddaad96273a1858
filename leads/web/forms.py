"""Forms: validation before anything is sent, matching the API's rules. No logic in save()."""

from django import forms

from leads.models import Status
from leads.selectors import people

TAG_MAX = 50


def clean_tag(value: str) -> str:
    tag = (value or "").strip()
    if not 1 <= len(tag) <= TAG_MAX:
        raise forms.ValidationError(f"A tag is 1–{TAG_MAX} characters.")
    return tag


class BulkActionForm(forms.Form):
    ACTIONS = (
        ("set_status", "Set status"),
        ("add_tag", "Add tag"),
        ("remove_tag", "Remove tag"),
        ("assign", "Assign to…"),
    )
    action = forms.ChoiceField(choices=ACTIONS)
    # "me", "none" (unassign) or a person's agent id (views resolve "me").
    agent = forms.CharField(required=False, max_length=255)
    status = forms.ChoiceField(choices=[("", "—"), *Status.choices], required=False)
    tag = forms.CharField(required=False, max_length=200)
    selected = forms.MultipleChoiceField(required=False)  # uuids; choices are not enumerated
    all_matching = forms.BooleanField(required=False)
    query = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["selected"].valid_value = lambda value: bool(value)

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "set_status" and not data.get("status"):
            self.add_error("status", "Choose the status to set.")
        if action == "assign" and not data.get("agent", "").strip():
            self.add_error("agent", "Choose whom to assign them to.")
        if action in ("add_tag", "remove_tag"):
            try:
                data["tag"] = clean_tag(data.get("tag", ""))
            except forms.ValidationError as e:
                self.add_error("tag", e)
        if not data.get("all_matching") and not data.get("selected"):
            raise forms.ValidationError("Select at least one row, or all matching rows.")
        return data

    def describe(self) -> str:
        action = self.cleaned_data["action"]
        if action == "set_status":
            return f"Set status to {Status(self.cleaned_data['status']).label}"
        if action == "assign":
            return assign_description(self.cleaned_data["agent"])
        verb = "Add" if action == "add_tag" else "Remove"
        return f'{verb} tag "{self.cleaned_data["tag"]}"'


def assign_description(choice: str) -> str:
    choice = choice.strip()
    if choice == people.ME:
        return "Assign to me"
    if choice in (people.NOBODY, ""):
        return "Unassign"
    return f"Assign to {people.agent_label(choice).text}"


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)


class NoteForm(forms.Form):
    title = forms.CharField(
        min_length=1,
        max_length=200,
        error_messages={"required": "A note needs a title (1–200 characters)."},
    )
    description = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class AddTagForm(forms.Form):
    tag = forms.CharField(max_length=200, error_messages={"required": "Type a tag to add."})

    def __init__(self, *args, existing: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.existing = existing or []

    def clean_tag(self) -> str:
        tag = clean_tag(self.cleaned_data["tag"])
        for current in self.existing:
            if current.casefold() == tag.casefold():
                raise forms.ValidationError(f'This lead already has the tag "{current}".')
        return tag


class RemoveTagForm(forms.Form):
    remove = forms.CharField(max_length=255)


PHONE_RE = r"^[0-9][0-9 \-]{0,19}$"
DIAL_RE = r"^\+\d{1,4}$"
PICTURE_INVALID = "The picture must be an http(s) URL."


# The API's rules for contact fields, shared by the detail page's form and the admin's.
def email_field() -> forms.EmailField:
    return forms.EmailField(required=False, max_length=254)


def dial_code_field() -> forms.RegexField:
    return forms.RegexField(
        required=False,
        regex=DIAL_RE,
        max_length=5,
        error_messages={"invalid": 'Dial code must be "+" followed by 1–4 digits, e.g. +91.'},
    )


def phone_field() -> forms.RegexField:
    return forms.RegexField(
        required=False,
        regex=PHONE_RE,
        max_length=20,
        error_messages={"invalid": "A phone number has only digits, spaces and dashes."},
    )


def picture_field() -> forms.URLField:
    return forms.URLField(
        required=False,
        max_length=2000,
        assume_scheme="https",
        error_messages={"invalid": PICTURE_INVALID},
    )


def clean_picture_url(value: str) -> str:
    if value and not value.lower().startswith(("http://", "https://")):
        raise forms.ValidationError(PICTURE_INVALID)
    return value


class ContactForm(forms.Form):
    """Contact fields an admin may edit. Only changed fields are sent (the service decides)."""

    name = forms.CharField(required=False, max_length=200)
    email = email_field()
    dial_code = dial_code_field()
    phone = phone_field()
    picture = picture_field()
    agent_id = forms.CharField(required=False, max_length=255, label="Agent id")

    def clean_picture(self) -> str:
        return clean_picture_url(self.cleaned_data.get("picture", ""))

    def clean(self):
        data = super().clean()
        if data.get("phone") and not data.get("dial_code") and "dial_code" not in self.errors:
            self.add_error("dial_code", "A phone number needs its dial code, e.g. +91.")
        return data


class AttributeForm(forms.Form):
    key = forms.CharField(required=False, max_length=255)
    value = forms.CharField(required=False, max_length=5000)


class BaseAttributeFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            if form.cleaned_data.get("DELETE"):
                continue
            key = (form.cleaned_data.get("key") or "").strip()
            value = form.cleaned_data.get("value") or ""
            if not key:
                if value:
                    form.add_error("key", "An attribute needs a key.")
                continue
            if key in seen:
                form.add_error("key", f'The key "{key}" is used twice.')
            seen.add(key)

    def attributes(self) -> list[dict[str, str]]:
        out = []
        for form in self.forms:
            if form.cleaned_data.get("DELETE"):
                continue
            key = (form.cleaned_data.get("key") or "").strip()
            if key:
                out.append({"key": key, "value": form.cleaned_data.get("value") or ""})
        return out


AttributeFormSet = forms.formset_factory(
    AttributeForm, formset=BaseAttributeFormSet, extra=2, can_delete=True, max_num=100
)
