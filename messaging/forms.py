from django import forms

from messaging.services import MAX_ATTACHMENTS, MAX_BODY


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by its content in the service."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class MessageForm(forms.Form):
    # The service says what is wrong with an empty or long body, in the same words everywhere.
    body = forms.CharField(
        label="Message",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_BODY}),
    )
    attachments = MultipleFileField(
        label="Attach files",
        required=False,
        help_text=f"Up to {MAX_ATTACHMENTS} files: PDF (10 MB) or JPEG, PNG, WebP images (5 MB).",
        widget=MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.webp"}),
    )
