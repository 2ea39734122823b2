"""Running an import: the action behind the page, the API and ``closedloop import``."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closedloop.core.audit import actor_label, audit_record
from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.core.scoping import in_scope, user_jurisdictions
from closedloop.lib.categories import parse_category
from closedloop.lib.text import CellError, fold_search
from closedloop.people.choices import ImportStatus
from closedloop.people.importing.commit import RunState, commit_batch, merge_into
from closedloop.people.importing.fields import FIELDS, field_label
from closedloop.people.importing.layout import Layout, data_rows, detect_layout, layout_at
from closedloop.people.importing.reader import Table, UnreadableFile, read_table
from closedloop.people.importing.rowcheck import REJECTED, CheckContext, CheckedRow, check_row
from closedloop.people.models import ImportMapping, ImportRun

Progress = Callable[[int, int], None]


def city_root() -> Jurisdiction:
    city = Jurisdiction.objects.filter(level="city", code=settings.CITY_CODE).first()
    if city is None:
        raise UnreadableFile(_("The city %(code)s is not set up yet: load the demo or create the city first.")
                             % {"code": settings.CITY_CODE})
    return city


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_actor(actor) -> None:
    if actor is not None and not actor.can(Cap.IMPORT_PEOPLE):
        raise PermissionDenied(_("You may not import rosters."))


def saved_mapping(name: str | None) -> dict | None:
    if not name:
        return None
    mapping = ImportMapping.objects.filter(name=name).first()
    if mapping is None:
        raise UnreadableFile(_("There is no saved column mapping named “%(name)s”.") % {"name": name})
    return mapping.columns


def parse_default_category(text: str | None) -> str:
    if not text:
        return ""
    try:
        return parse_category(text) or ""
    except CellError as exc:
        raise UnreadableFile(exc.translated(_)) from None


@transaction.atomic
def import_run_create(
    *, path: Path, file_name: str, actor, sheet: str | None = None, category: str | None = None,
    mapping: str | None = None,
) -> tuple[ImportRun, Table]:
    """Keep the file, read it, find its layout. Raises UnreadableFile when nothing can be read."""
    _check_actor(actor)
    city = city_root()
    default_category = parse_default_category(category)
    table = read_table(path, sheet=sheet)
    layout = detect_layout(table.rows, saved_mapping(mapping))
    digest = file_sha256(path)
    settings.UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    stored = settings.UPLOAD_DIR / f"{digest}{path.suffix.lower()}"
    if not stored.exists():
        shutil.copyfile(path, stored)
    run = ImportRun.objects.create(
        city=city, file_name=file_name[:200], file_sha256=digest, stored_path=str(stored), sheet=table.sheet,
        category=default_category, actor=actor if getattr(actor, "pk", None) else None,
        header_row=layout.header_row if layout else None, columns=layout.as_json()["columns"] if layout else {},
    )
    audit_record(actor=actor, action="import.upload", target=run, after={"file": file_name, "sha256": digest})
    return run, table


@transaction.atomic
def import_run_set_layout(
    *, run: ImportRun, header_row: int, columns: dict[int, str], category: str = "", save_as: str = "", actor
) -> ImportRun:
    _check_actor(actor)
    if run.status != ImportStatus.UPLOADED:
        raise ValueError(_("This import has already started; upload the file again to change its columns."))
    table = load_table(run)
    layout = layout_at(table.rows, header_row, columns=columns)
    run.header_row, run.columns, run.category = header_row, layout.as_json()["columns"], category
    run.save(update_fields=["header_row", "columns", "category"])
    if save_as:
        mapping = {layout.headers[i]: f for i, f in layout.columns.items()}
        ImportMapping.objects.update_or_create(name=save_as[:60], defaults={"columns": mapping, "created_by": actor})
    audit_record(actor=actor, action="import.set_layout", target=run, after={"header_row": header_row, "columns": run.columns})
    return run


def load_table(run: ImportRun) -> Table:
    return read_table(Path(run.stored_path), sheet=run.sheet or None)


def run_layout(run: ImportRun, table: Table) -> Layout:
    if not run.header_row:
        raise UnreadableFile(_("No header row was found: say which row holds the column names."))
    columns = {int(i): f for i, f in run.columns.items()}
    return layout_at(table.rows, run.header_row, columns=columns)


def check_context(run: ImportRun, today) -> CheckContext:
    towns: dict[str, int] = {}
    communities: dict = {}
    by_name: dict[str, list] = {}
    for j in Jurisdiction.objects.filter(city_id=run.city_id).only("pk", "code", "name", "name_en", "level", "parent_id"):
        keys = {j.code, fold_search(j.name), fold_search(j.name_en)}
        short = j.name.removesuffix("街道").removesuffix("镇").removesuffix("乡").removesuffix("社区").removesuffix("村")
        if len(short) >= 2:
            keys.add(fold_search(short))
        keys.discard("")
        if j.level == "town":
            for k in keys:
                towns[k] = j.pk
        elif j.level == "community":
            for k in keys:
                communities[(j.parent_id, k)] = (j.pk, j.parent_id)
                by_name.setdefault(k, []).append((j.pk, j.parent_id))
    for k, found in by_name.items():
        if len(found) == 1:  # a community name alone identifies it only when unique in the city
            communities[(None, k)] = found[0]
    return CheckContext(
        today=today, max_age_days=settings.IMPORT_MAX_ANCHOR_AGE_DAYS, default_category=run.category or None,
        towns=towns, communities=communities,
    )


def check_rows(table: Table, layout: Layout, ctx: CheckContext, *, actor=None, limit: int | None = None) -> list[CheckedRow]:
    """Every data row checked; rows for a person already seen in the file merged into the first."""
    checked: list[CheckedRow] = []
    first_by_key: dict[str, CheckedRow] = {}
    for number, raw in data_rows(table.rows, layout):
        row = check_row(number, raw, ctx)
        if not row.rejected and actor is not None:
            _check_row_scope(row, actor)
        if not row.rejected:
            first = first_by_key.get(row.key)
            if first is not None:
                merge_into(first, row)
                row.values["_merged"] = True
            else:
                first_by_key[row.key] = row
        checked.append(row)
        if limit is not None and len(checked) >= limit:
            break
    return checked


def _check_row_scope(row: CheckedRow, actor) -> None:
    scope = user_jurisdictions(actor)
    if any(j.level == "city" for j in scope):
        return
    town_id, community_id = row.values.get("town_id"), row.values.get("community_id")
    if town_id is None and len(scope) == 1:
        j = scope[0]
        row.values["town_id"] = j.pk if j.level == "town" else j.parent_id
        row.values["community_id"] = j.pk if j.level == "community" else None
        return
    if not in_scope(actor, city_id=None, town_id=town_id, community_id=community_id):
        row.problem("town", _("This person lives outside your jurisdiction; ask headquarters to import them."), REJECTED)


def import_run_execute(*, run: ImportRun, actor, progress: Progress | None = None, table: Table | None = None) -> RunState:
    """Import every good row in whole batches; report every other one. Idempotent on re-run."""
    _check_actor(actor)
    updated = ImportRun.objects.filter(pk=run.pk, status=ImportStatus.UPLOADED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    if not updated:
        raise ValueError(_("This import has already been started."))
    run.refresh_from_db()
    today = timezone.localdate()
    state = RunState(run=run, city_id=run.city_id, today=today)
    try:
        table = table or load_table(run)
        layout = run_layout(run, table)
        state.headers = {f: layout.headers[i] for i, f in layout.columns.items()}
        for fld in FIELDS:
            state.headers.setdefault(fld, field_label(fld))
        rows = check_rows(table, layout, check_context(run, today), actor=actor)
        total = len(rows)
        state.counts["read"] = total
        ImportRun.objects.filter(pk=run.pk).update(rows_total=total)
        rejected = [r for r in rows if r.rejected]
        state.counts["rejected"] = len(rejected)
        for r in rejected:
            state.problems.extend(p.as_dict(state.headers) for p in r.problems)
        state.rows_done = len(rejected)
        good = [r for r in rows if not r.rejected and not r.values.get("_merged")]
        size = settings.IMPORT_BATCH_SIZE
        source = f"import:{run.pk}:{run.file_name}"[:120]
        for start in range(0, len(good), size):
            commit_batch(good[start:start + size], state, source=source)
            if progress:
                progress(state.rows_done, total)
    except BaseException as exc:  # an interrupt too: the run must not stay "running"
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.FAILED, finished_at=timezone.now(), error=str(exc)[:2000],
            counts=state.counts, problems=state.problems,
        )
        raise
    state.problems.sort(key=lambda p: p["row"])
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.DONE, finished_at=timezone.now(), rows_done=state.counts["read"],
            counts=state.counts, problems=state.problems,
        )
        audit_record(actor=actor, action="import.run", target=run, after={"counts": state.counts},
                     reason=f"{run.file_name} sha256:{run.file_sha256[:12]} by {actor_label(actor)}")
    run.refresh_from_db()
    return state


def report(run: ImportRun) -> dict:
    """The machine-readable report (the keys of ``closedloop import --report``)."""
    keys = ("read", "created", "updated", "unchanged", "merged_in_file", "flagged", "rejected")
    return {
        "import": run.pk, "file": run.file_name, "sha256": run.file_sha256, "status": run.status,
        **{k: run.counts.get(k, 0) for k in keys},
        "problems": run.problems,
    }

