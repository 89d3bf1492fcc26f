"""The staff roles and their permissions, defined once (DESIGN.md "Roles").

Platform admins hold every permission on the marketplace's apps. Support agents view
everything and act on orders, refunds and disputes; they cannot change fees or review
suppliers. `sync_role_permissions` is run by a data migration and again after every migrate,
so models added later get their permissions without a new migration each time.
"""

PLATFORM_ADMIN = "Platform admin"
SUPPORT_AGENT = "Support agent"

MARKETPLACE_APPS = (
    "accounts",
    "core",
    "suppliers",
    "catalog",
    "retailers",
    "orders",
    "billing",
    "integrations",
    "messaging",
    "privacy",
)

SUPPORT_AGENT_ACTIONS = {
    "orders": {
        "order": {"change"},
        "supplierorder": {"change"},
        "orderitem": {"change"},
        "shipment": {"add", "change"},
        "orderevent": {"add"},
        "returnrequest": {"add", "change"},
        "dispute": {"add", "change"},
    },
    # Support reads every conversation, writes in it as "Support" and closes settled ones.
    "messaging": {"message": {"add"}, "thread": {"change"}},
}
SUPPORT_AGENT_EXTRA = {
    ("billing", "refund_charge"),
    ("integrations", "replay_webhook"),
    ("privacy", "execute_shopper_request"),
}


def _support_agent_allows(app_label: str, codename: str) -> bool:
    if (app_label, codename) in SUPPORT_AGENT_EXTRA:
        return True
    action, _, model = codename.partition("_")
    if action == "view":
        return True
    return action in SUPPORT_AGENT_ACTIONS.get(app_label, {}).get(model, set())


def sync_role_permissions(*, apps) -> None:
    """Create the two groups and give each exactly its permission set (idempotent)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.filter(content_type__app_label__in=MARKETPLACE_APPS).select_related(
            "content_type"
        )
    )
    admin_group, _ = Group.objects.get_or_create(name=PLATFORM_ADMIN)
    admin_group.permissions.set(permissions)
    agent_group, _ = Group.objects.get_or_create(name=SUPPORT_AGENT)
    agent_group.permissions.set(
        [p for p in permissions if _support_agent_allows(p.content_type.app_label, p.codename)]
    )
