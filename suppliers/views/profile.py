"""The approved supplier's profile page: free fields saved at once, legal name, tax id and payout
country sent for review (the old values stay in force, the page says "pending review")."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dropship.accounts.access import SupplierRequest, owner_required, supplier_required
from dropship.core.errors import DomainError
from suppliers.forms import SupplierProfileForm
from suppliers.models import Supplier, SupplierProfileChange
from suppliers.profile import (
    FREE_FIELDS,
    REVIEWED,
    get_pending_profile_change,
    update_supplier_profile,
)


def _initial(supplier: Supplier) -> dict:
    fields = [field for field in (*FREE_FIELDS, *REVIEWED) if field != "logo"]
    return {field: getattr(supplier, field) for field in fields}


def _render(request: SupplierRequest, form: SupplierProfileForm, *, status: int = 200):
    supplier = request.supplier
    pending = get_pending_profile_change(supplier=supplier)
    last_rejected = (
        SupplierProfileChange.objects.filter(
            supplier=supplier, status=SupplierProfileChange.Status.REJECTED
        )
        .order_by("-decided_at")
        .first()
    )
    return render(
        request,
        "suppliers/profile_settings.html",
        {
            "form": form,
            "supplier": supplier,
            "pending": pending,
            "pending_rows": [
                (form.fields[field].label, values[0], values[1])
                for field, values in (pending.changes.items() if pending else ())
            ],
            "last_rejected": last_rejected,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@supplier_required
@owner_required
def profile_settings(request: SupplierRequest) -> HttpResponse:
    supplier = request.supplier
    if supplier.status != Supplier.Status.ACTIVE:
        messages.info(request, "Until your account is approved, your profile is your application.")
        return redirect("suppliers:onboarding")
    if request.method != "POST":
        return _render(request, SupplierProfileForm(initial=_initial(supplier)))
    form = SupplierProfileForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = update_supplier_profile(
                supplier=supplier,
                actor=request.user,
                description=data["description"],
                contact_email=data["contact_email"],
                phone=data["phone"],
                website=data["website"],
                return_address=data["return_address"],
                handling_days=data["handling_days"],
                legal_name=data["legal_name"],
                tax_id=data["tax_id"],
                payout_country=data["payout_country"],
                logo=data["logo"] or None,
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                "Your profile is saved."
                + (
                    " The change of legal name, tax id or payout country is pending review; "
                    "the current values stay in force until it is approved."
                    if result.pending is not None
                    else ""
                ),
            )
            return redirect("suppliers:profile_settings")
    supplier.refresh_from_db()
    return _render(request, form, status=400)
