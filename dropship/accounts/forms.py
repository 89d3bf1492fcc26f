from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from dropship.accounts.models import (
    ALL_SCOPES,
    READ_SCOPES,
    RETAILER_ORDER_SCOPES,
    SUPPLIER_FULFILMENT_SCOPES,
    VIEW_AS_MIN_REASON_LENGTH,
    OrganisationKind,
    Role,
)
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


def _scope_label(scope: str) -> str:
    area, access = scope.split(":")
    return f"{area.capitalize()}: {access}"


# Presets: (value, label, scopes). "custom" uses the boxes ticked below it.
KEY_PRESETS = {
    OrganisationKind.SUPPLIER: [
        ("full", "Full access", ALL_SCOPES),
        ("fulfilment", "Stock and orders (WMS, ERP)", SUPPLIER_FULFILMENT_SCOPES),
        ("read", "Read only (reporting)", READ_SCOPES),
        ("custom", "Custom: the scopes ticked below", ()),
    ],
    OrganisationKind.RETAILER: [
        ("full", "Full access", ALL_SCOPES),
        ("orders", "Order intake (a custom storefront)", RETAILER_ORDER_SCOPES),
        ("read", "Read only (reporting)", READ_SCOPES),
        ("custom", "Custom: the scopes ticked below", ()),
    ],
}
EXPIRY_CHOICES = [("", "Never"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year")]
GRACE_CHOICES = [
    ("0", "Stop the old key now"),
    ("1", "Keep the old key working for 1 hour"),
    ("24", "Keep the old key working for 24 hours"),
    ("168", "Keep the old key working for 7 days"),
]


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Key name", max_length=100, help_text="e.g. the system that will use it (ERP, WMS)."
    )
    preset = forms.ChoiceField(
        label="What the key may do", widget=forms.RadioSelect, required=False
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        required=False,
        choices=[(scope, _scope_label(scope)) for scope in ALL_SCOPES],
        widget=forms.CheckboxSelectMultiple,
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=EXPIRY_CHOICES,
        required=False,
        coerce=int,
        empty_value=None,
        help_text="Calls with an expired key answer 401.",
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        presets = KEY_PRESETS[OrganisationKind(kind)]
        self.presets = {value: scopes for value, _, scopes in presets}
        preset_field = self.fields["preset"]
        assert isinstance(preset_field, forms.ChoiceField)  # noqa: S101  # declared above
        preset_field.choices = [(value, label) for value, label, _ in presets]
        self.fields["preset"].initial = "full"

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        preset = data.get("preset") or "full"
        if preset == "custom":
            if not data.get("scopes"):
                self.add_error("scopes", "Tick at least one scope, or choose a preset.")
            data["chosen_scopes"] = list(data.get("scopes") or [])
        else:
            data["chosen_scopes"] = list(self.presets[preset])
        return data


class RotateApiKeyForm(forms.Form):
    grace_hours = forms.TypedChoiceField(
        label="The old key", choices=GRACE_CHOICES, coerce=int, initial="24"
    )


class TeamMfaForm(forms.Form):
    is_mfa_required = forms.BooleanField(
        label="Require two-factor authentication for everyone on the team",
        required=False,
        help_text="Members without it are asked to set it up before they can use the workspace.",
    )


class ViewAsForm(forms.Form):
    """Support's read-only view of a workspace: why, and for how long (the service checks again)."""

    reason = forms.CharField(
        label="Reason",
        min_length=VIEW_AS_MIN_REASON_LENGTH,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you need to see this workspace, e.g. the ticket and what you are checking. "
        "Recorded in the audit log and shown on every page of the view.",
    )
    minutes = forms.IntegerField(label="Duration (minutes)", min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        maximum = settings.VIEW_AS_MAX_MINUTES
        minutes = self.fields["minutes"]
        minutes.initial = maximum
        minutes.validators.append(MaxValueValidator(maximum))
        minutes.widget.attrs["max"] = str(maximum)
        minutes.help_text = f"At most {maximum}; the view ends by itself then."


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
