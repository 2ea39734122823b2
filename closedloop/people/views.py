"""Pages of the person registry. Thin: parse, check permission, call one action, render.

Every read goes through the scoped selectors (an outsider gets 404); every
write through ``people.actions``; full personal data only through
``person_unmask``, which audits.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from closedloop.core.models import AuditEvent, Jurisdiction
from closedloop.core.pagination import paginate
from closedloop.core.roles import Cap
from closedloop.core.scoping import jurisdictions_visible, require
from closedloop.core.templatetags.cl import cn_date, mask_value
from closedloop.people import actions, selectors
from closedloop.people.choices import FLAGS, DocType, ReviewStatus, Sex
from closedloop.people.forms import PersonForm
from closedloop.people.models import Person
from closedloop.quarantine.choices import Category
from closedloop.quarantine.models import Episode

UNMASKABLE = actions.PII_FIELDS  # the fields person_unmask accepts
DECISIONS = {
    "same": ReviewStatus.SAME,
    "different": ReviewStatus.DIFFERENT,
    "dismissed": ReviewStatus.DISMISSED,
}


def _open_episodes():
    return Prefetch(
        "episodes", queryset=Episode.objects.filter(status="open").order_by("-opened_at"), to_attr="open_episodes"
    )


def _filter_places(user) -> tuple[list[Jurisdiction], list[Jurisdiction]]:
    rows = list(jurisdictions_visible(user).select_related("parent").order_by("code"))
    towns = [j for j in rows if j.level == Jurisdiction.Level.TOWN]
    communities = [j for j in rows if j.level == Jurisdiction.Level.COMMUNITY]
    return towns, communities


# --- people -------------------------------------------------------------------------

@require_GET
@login_required
def person_list(request):
    rows, filters = selectors.people_search(request.user, request.GET)
    if request.GET.get("open") == "1":
        # Only people with an open episode (the overview's "under control now").
        rows = rows.filter(episodes__status="open")
        filters["open"] = "1"
    page = paginate(request, rows.prefetch_related(_open_episodes()))
    towns, communities = _filter_places(request.user)
    export_query = request.GET.copy()
    export_query.pop("page", None)
    return render(request, "people/person_list.html", {
        "page": page,
        "filters": filters,
        "towns": towns,
        "communities": communities,
        "categories": Category.choices,
        "flags": FLAGS,
        "export_query": export_query.urlencode(),
        "filtered": any(filters.get(k) for k in ("q", "town", "community", "category", "flag", "open")),
    })


def _contact_history(person: Person) -> list[dict]:
    rows = list(person.contact_history.all()[:50])
    place_ids = {int(v) for r in rows if r.field in ("town", "community") for v in (r.old_value, r.new_value)
                 if v.isdigit()}
    places = {str(j.pk): j.label for j in Jurisdiction.objects.filter(pk__in=place_ids)} if place_ids else {}

    def shown(field: str, value: str) -> str:
        if field in ("town", "community"):
            return places.get(value, value)
        if field in UNMASKABLE:
            return mask_value(value, field)
        return value

    return [
        {"field": FIELD_LABELS.get(r.field, r.field), "old": shown(r.field, r.old_value), "new": shown(r.field, r.new_value),
         "source": r.source, "changed_at": r.changed_at}
        for r in rows
    ]


def _detail(request, person: Person, unmasked: dict | None = None):
    members = []
    if person.household_id:
        members = list(
            selectors.people_visible(request.user).filter(household_id=person.household_id)
            .exclude(pk=person.pk).order_by("birth_date", "pk")
        )
    episodes = list(Episode.objects.filter(person=person, status="open").order_by("-opened_at"))
    history = AuditEvent.objects.filter(target_type="person", target_id=str(person.pk)).order_by("-at", "-id")[:100]
    return render(request, "people/person_detail.html", {
        "person": person,
        "unmasked": unmasked or {},
        "members": members,
        "episodes": episodes,
        "contact_history": _contact_history(person),
        "history": history,
        "flags": [label for name, label in FLAGS if getattr(person, name)],
    })


@require_GET
@login_required
def person_detail(request, pk: int):
    return _detail(request, selectors.person_get(request.user, pk))


@require_POST
@login_required
def person_unmask(request, pk: int, field: str):
    """The full value of one field, audited. htmx swaps it in; without JS the page is shown with it."""
    require(request.user, Cap.UNMASK)
    person = selectors.person_get(request.user, pk)
    if field not in UNMASKABLE:
        raise Http404
    value = actions.person_unmask(person=person, field=field, actor=request.user)
    if request.headers.get("HX-Request"):
        return render(request, "people/_pii.html", {"person": person, "field": field, "full": value or "—"})
    return _detail(request, person, unmasked={field: value})


def _save(request, form: PersonForm, person: Person | None):
    """Call the action; map its refusals onto the form. Returns the person or None."""
    try:
        data = form.person_data()
        if person is None:
            return actions.person_register(data=data, actor=request.user)
        return actions.person_update(person=person, data=data, actor=request.user,
                                     reason=form.cleaned_data.get("reason", ""))
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for key, errors in exc.error_dict.items():
                target = key if key in form.fields else None
                for error in errors:
                    form.add_error(target, error)
        else:
            for message in exc.messages:
                form.add_error(None, message)
    except PermissionDenied as exc:
        form.add_error("community" if form.cleaned_data.get("community") else "town",
                       str(exc) or _("You may only register people of your own jurisdiction."))
    return None


@require_http_methods(["GET", "POST"])
@login_required
def person_create(request):
    require(request.user, Cap.EDIT_PEOPLE)
    form = PersonForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        person = _save(request, form, None)
        if person is not None:
            messages.success(request, _("%(name)s has been registered.") % {"name": person.name})
            return redirect("people:detail", pk=person.pk)
    return render(request, "people/person_form.html", {"form": form, "person": None},
                  status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
@login_required
def person_edit(request, pk: int):
    require(request.user, Cap.EDIT_PEOPLE)
    person = selectors.person_get(request.user, pk)
    form = PersonForm(request.POST or None, user=request.user, person=person)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, person)
        if saved is not None:
            messages.success(request, _("The changes to %(name)s have been saved.") % {"name": saved.name})
            return redirect("people:detail", pk=saved.pk)
    return render(request, "people/person_form.html", {"form": form, "person": person},
                  status=400 if form.is_bound else 200)


# --- households ------------------------------------------------------------------------

@require_GET
@login_required
def household_list(request):
    rows = (
        selectors.households_visible(request.user)
        .select_related("town", "community")
        .annotate(member_count=Count("members"))
        .order_by("-created_at", "-id")
    )
    return render(request, "people/household_list.html", {"page": paginate(request, rows)})


@require_GET
@login_required
def household_detail(request, pk: int):
    household = selectors.households_visible(request.user).select_related("town", "community").filter(pk=pk).first()
    if household is None:
        raise Http404
    members = (
        selectors.people_visible(request.user).filter(household=household)
        .prefetch_related(_open_episodes()).order_by("birth_date", "pk")
    )
    return render(request, "people/household_detail.html", {"household": household, "members": members})


# --- possible matches ---------------------------------------------------------------------

# Row keys shown beside the candidate's value, in this order; others follow.
COMPARED = ("name", "doc_type", "doc_number", "sex", "birth_date", "phone", "phone_other", "address", "employer")
FIELD_LABELS = {
    "name": gettext_lazy("Name"), "doc_type": gettext_lazy("Document type"), "doc_number": gettext_lazy("Document number"), "sex": gettext_lazy("Sex"),
    "birth_date": gettext_lazy("Birth date"), "phone": gettext_lazy("Phone"), "phone_other": gettext_lazy("Other phones"),
    "address": gettext_lazy("Home address"), "employer": gettext_lazy("Employer"), "category": gettext_lazy("Category"),
    "anchor_date": gettext_lazy("Anchor date"), "town": gettext_lazy("Town or street"), "community": gettext_lazy("Village or community"),
}


def _shown(key: str, value) -> str:
    if value in (None, ""):
        return ""
    if key in UNMASKABLE:
        return mask_value(value, key)
    if key == "doc_type":
        return str(dict(DocType.choices).get(value, value))
    if key == "sex":
        return str(dict(Sex.choices).get(value, value))
    if key == "category":
        return str(dict(Category.choices).get(value, value))
    if key in ("birth_date", "anchor_date") or hasattr(value, "isoformat"):
        return cn_date(value)
    return str(value)


SKIPPED = ("flags", "details", "notes", "town_id", "community_id")


def _places_of(reviews) -> dict[str, str]:
    """Labels of the town/community ids named in the rows, in one query."""
    ids = set()
    for review in reviews:
        data = review.data if isinstance(review.data, dict) else {}
        ids.update(int(data[k]) for k in ("town_id", "community_id") if str(data.get(k) or "").isdigit())
    return {str(j.pk): j.label for j in Jurisdiction.objects.filter(pk__in=ids)} if ids else {}


def review_comparison(review, places: dict[str, str]) -> list[dict]:
    """The imported row beside the registered person, field by field, personal data masked."""
    data = review.data if isinstance(review.data, dict) else {}
    candidate = review.candidate
    keys = [k for k in COMPARED if k in data or getattr(candidate, k, "")]
    keys += [k for k in data if k not in keys and not k.startswith("_") and k not in SKIPPED]
    rows = []
    for key in keys:
        row_value = _shown(key, data.get(key))
        person_value = _shown(key, getattr(candidate, key, "")) if key in COMPARED else ""
        if not row_value and not person_value:
            continue
        rows.append({
            "key": key, "label": FIELD_LABELS.get(key, key), "row": row_value, "person": person_value,
            "differs": key in COMPARED and bool(row_value) and bool(person_value) and row_value != person_value,
            "mono": key in UNMASKABLE or key in ("birth_date", "anchor_date"),
        })
    for key, attr in (("town", "town_id"), ("community", "community_id")):
        if data.get(attr) or getattr(candidate, attr):
            row_value = places.get(str(data.get(attr) or ""), "")
            person_value = getattr(candidate, key).label if getattr(candidate, attr) else ""
            rows.append({"key": key, "label": FIELD_LABELS[key], "row": row_value, "person": person_value,
                         "differs": bool(row_value) and bool(person_value) and row_value != person_value})
    return rows


@require_GET
@login_required
def review_list(request):
    rows = (
        selectors.reviews_visible(request.user).filter(status=ReviewStatus.OPEN)
        .select_related("candidate__town", "candidate__community").order_by("created_at", "id")
    )
    page = paginate(request, rows)
    places = _places_of(page)
    for review in page:
        review.comparison = review_comparison(review, places)
    return render(request, "people/review_list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@login_required
def review_detail(request, pk: int):
    review = (
        selectors.reviews_visible(request.user)
        .select_related("candidate__town", "candidate__community", "decided_by").filter(pk=pk).first()
    )
    if review is None:
        raise Http404
    if request.method == "POST":
        require(request.user, Cap.DECIDE_MATCHES)
        decision = DECISIONS.get(request.POST.get("decision", ""))
        if decision is None:
            return HttpResponseBadRequest(_("Unknown decision."))
        try:
            actions.review_decide(review=review, decision=decision, actor=request.user,
                                  reason=(request.POST.get("reason") or "").strip()[:300])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("people:review", pk=review.pk)
        messages.success(request, _("Decided: %(decision)s.") % {"decision": ReviewStatus(decision).label})
        return redirect("people:reviews")
    return render(request, "people/review_detail.html", {
        "review": review,
        "comparison": review_comparison(review, _places_of([review])),
        "candidate": review.candidate,
    })
