from typing import Any

from django import forms

from dropship.accounts.models import OrganisationKind, Role
from dropship.accounts.services import accept_invitation, create_organisation

INVITATION_SESSION_KEY = "pending_invitation_token"


class OrganisationSignupForm(forms.Form):
    """Extra signup fields: who you are and your company. Used by allauth's signup form."""

    full_name = forms.CharField(label="Your name", max_length=150, required=False)
    organisation_kind = forms.ChoiceField(
        label="I am a",
        choices=OrganisationKind.choices,
        widget=forms.RadioSelect,
        required=False,
        help_text="Suppliers list wholesale products; retailers sell them in their own stores.",
    )
    organisation_name = forms.CharField(label="Company name", max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        request = kwargs.pop("request", None)
        super().__init__(*args, **kwargs)
        self.invitation_token = (
            request.session.get(INVITATION_SESSION_KEY) if request is not None else None
        )
        if self.invitation_token:
            for name in ("organisation_kind", "organisation_name"):
                self.fields[name].widget = forms.HiddenInput()

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not self.invitation_token:
            if not cleaned.get("organisation_kind"):
                self.add_error(
                    "organisation_kind", "Choose whether you are a supplier or a retailer."
                )
            if not (cleaned.get("organisation_name") or "").strip():
                self.add_error("organisation_name", "Enter your company name.")
        return cleaned

    def signup(self, request, user) -> None:
        """Called by allauth inside our atomic signup view, after the user row is saved."""
        if self.cleaned_data.get("full_name"):
            user.full_name = self.cleaned_data["full_name"]
            user.save(update_fields=["full_name"])
        token = request.session.pop(INVITATION_SESSION_KEY, None)
        if token:
            accept_invitation(token=token, user=user)
            return
        create_organisation(
            owner=user,
            kind=self.cleaned_data["organisation_kind"],
            name=self.cleaned_data["organisation_name"],
        )


class InviteMemberForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.STAFF)


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Key name", max_length=100, help_text="e.g. the system that will use it (ERP, WMS)."
    )


class TeamMfaForm(forms.Form):
    is_mfa_required = forms.BooleanField(
        label="Require two-factor authentication for everyone on the team",
        required=False,
        help_text="Members without it are asked to set it up before they can use the workspace.",
    )


class AuditFilterForm(forms.Form):
    """The owner's audit trail filters; the choices are what the trail holds."""

    actor = forms.ChoiceField(label="Who", required=False)
    action = forms.ChoiceField(label="Action", required=False)
    target_type = forms.ChoiceField(label="Object type", required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="Until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, values: dict[str, list[str]], type_labels: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = {
            "actor": [("", "Anyone"), *((v, v) for v in values["actor_label"])],
            "action": [("", "Any action"), *((v, v) for v in values["action"])],
            "target_type": [
                ("", "Any type"),
                *((v, type_labels.get(v, v)) for v in values["target_type"]),
            ],
        }
        for name, field_choices in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)  # noqa: S101 (declared above)
            field.choices = field_choices

    def clean(self):
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "“Until” must be on or after “From”.")
        return cleaned
