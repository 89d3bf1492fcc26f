from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from dropship.accounts import services
from dropship.accounts.models import (
    ApiKey,
    IdempotencyRecord,
    Invitation,
    Membership,
    Notification,
    User,
    ViewAsSession,
)
from dropship.core.admin_utils import (
    EMPTY,
    AuditedAdminMixin,
    AuditedModelAdmin,
    ViewOnlyAdminMixin,
    admin_link,
    organisation_of,
)


class EmailCleaningMixin:
    """Emails are stored lower-case (as signup stores them) and unique whatever their case."""

    cleaned_data: dict[str, Any]  # mixed into a ModelForm of User
    instance: User

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        taken = User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists()
        if taken:
            raise forms.ValidationError("A user with this email address already exists.")
        return email


class UserCreationForm(EmailCleaningMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(EmailCleaningMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(admin.StackedInline):
    model = Membership
    extra = 0
    max_num = 1
    fields = ["supplier", "retailer", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["supplier", "retailer"]


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = [
        "email",
        "full_name",
        "organisation",
        "is_staff",
        "is_superuser",
        "is_active",
        "last_login",
        "date_joined",
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "full_name"]
    date_hierarchy = "date_joined"
    list_select_related = ["membership__supplier", "membership__retailer"]
    readonly_fields = ["last_login", "date_joined"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name", "first_name", "last_name"]}),
        (
            "Staff access",
            {
                "fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"],
                "description": "Platform admins and support agents are staff in the group of that name.",
            },
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "usable_password", "password1", "password2"],
            },
        ),
    ]

    @admin.display(description="organisation")
    def organisation(self, obj: User) -> str:
        membership = getattr(obj, "membership", None)
        if membership is None:
            return EMPTY
        return admin_link(membership.organisation)


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    list_display = ["user", "organisation", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "supplier__company_name", "retailer__business_name"]
    list_select_related = ["user", "supplier", "retailer"]
    autocomplete_fields = ["user", "supplier", "retailer"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="organisation")
    def organisation(self, obj: Membership) -> str:
        return admin_link(organisation_of(obj))


@admin.register(Invitation)
class InvitationAdmin(AuditedModelAdmin):
    """Invitations are sent by owners from their team page; staff can see them and delete stale ones."""

    list_display = ["email", "organisation", "role", "invited_by", "expires_at", "accepted_at"]
    list_filter = ["role", ("accepted_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "supplier__company_name", "retailer__business_name"]
    date_hierarchy = "created_at"
    list_select_related = ["supplier", "retailer", "invited_by"]
    fields = readonly_fields = (
        "email",
        "supplier",
        "retailer",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="organisation")
    def organisation(self, obj: Invitation) -> str:
        return admin_link(organisation_of(obj))


@admin.register(ApiKey)
class ApiKeyAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Keys are created by their owners (the secret is shown once, only to them); staff may revoke."""

    list_display = ["name", "prefix", "organisation", "created_by", "last_used_at", "is_active"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "supplier__company_name", "retailer__business_name"]
    date_hierarchy = "created_at"
    list_select_related = ["supplier", "retailer", "created_by"]
    fields = readonly_fields = (
        "name",
        "prefix",
        "supplier",
        "retailer",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke_keys"]

    @admin.display(description="organisation")
    def organisation(self, obj: ApiKey) -> str:
        return admin_link(organisation_of(obj))

    @admin.display(description="active", boolean=True)
    def is_active(self, obj: ApiKey) -> bool:
        return obj.is_active

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.change_apikey")

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            services.revoke_api_key(
                api_key=api_key,
                revoked_by=request.user if isinstance(request.user, User) else None,
            )
            revoked += 1
        messages.success(request, f"{revoked} key(s) revoked; calls using them now get 401.")


@admin.register(Notification)
class NotificationAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["created_at", "organisation", "level", "kind", "message", "read_at"]
    list_filter = ["level", "kind"]
    search_fields = ["message", "kind", "supplier__company_name", "retailer__business_name"]
    date_hierarchy = "created_at"
    list_select_related = ["supplier", "retailer"]

    @admin.display(description="organisation")
    def organisation(self, obj: Notification) -> str:
        return admin_link(organisation_of(obj))


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """The API's remembered answers per Idempotency-Key (kept 24 hours): support reads them when
    an integrator asks why a call was replayed or refused. The stored body is not shown."""

    list_display = ["created_at", "organisation", "key", "status_code"]
    list_filter = ["status_code"]
    search_fields = ["key", "supplier__company_name", "retailer__business_name"]
    date_hierarchy = "created_at"
    list_select_related = ["supplier", "retailer"]
    exclude = ["response_body"]

    @admin.display(description="organisation")
    def organisation(self, obj: IdempotencyRecord) -> str:
        return admin_link(organisation_of(obj))


class ViewAsStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("past", "Past")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[ViewAsSession]
    ) -> QuerySet[ViewAsSession]:
        is_open = Q(ended_at__isnull=True, expires_at__gt=timezone.now())
        if self.value() == "open":
            return queryset.filter(is_open)
        if self.value() == "past":
            return queryset.exclude(is_open)
        return queryset


@admin.register(ViewAsSession)
class ViewAsSessionAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Support's read-only views of workspaces, open and past (started from an organisation's
    admin page; written only by accounts.services)."""

    list_display = [
        "started_at",
        "staff_user",
        "organisation",
        "reason",
        "expires_at",
        "ended_at",
        "ended_by",
        "is_open",
    ]
    list_filter = [ViewAsStateFilter, "ended_by"]
    search_fields = [
        "staff_user__email",
        "reason",
        "supplier__company_name",
        "retailer__business_name",
    ]
    date_hierarchy = "started_at"
    list_select_related = ["staff_user", "supplier", "retailer"]
    fields = readonly_fields = (
        "staff_user",
        "supplier",
        "retailer",
        "reason",
        "started_at",
        "expires_at",
        "ended_at",
        "ended_by",
    )

    @admin.display(description="organisation")
    def organisation(self, obj: ViewAsSession) -> str:
        return admin_link(organisation_of(obj))

    @admin.display(description="open", boolean=True)
    def is_open(self, obj: ViewAsSession) -> bool:
        return obj.is_open()
