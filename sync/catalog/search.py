"""Reading the catalogue: search, the reason a course or section cannot be synced, ID coverage.

The reasons are codes of the one registry (sync.runs.reasons); Select Courses shows each one's
`listed` words: course_gone (the last full refresh no longer found it), course_deleted,
course_unpublished, no_course_id (no value for the ID type chosen on Configure); for sections
course_unsyncable (its course cannot be synced), section_gone and no_section_id; sis_hidden instead of
no_course_id / no_section_id while Canvas hides SIS ids from the portal (LMS Settings says so).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet

from lms_canvas import visibility
from lms_canvas.models import CanvasConfig, CanvasConnection, CourseIdType, SectionIdType
from portal.models import Institution
from portal.sorting import Sort, read_sort
from sync.catalog.accounts import names as account_names
from sync.catalog.syncable import course_block, section_block, syncable_courses_q
from sync.models import CatalogCourse, CatalogSection
from sync.runs.reasons import REASONS, ReasonCode

PAGE_SIZE = 50


@dataclass(frozen=True)
class Unsyncable:
    """Why Select Courses greys a course or section out: a registry code and its listed words."""

    code: ReasonCode
    text: str


def config_for(institution: Institution) -> CanvasConfig:
    config, _ = CanvasConfig.objects.get_or_create(institution=institution)
    return config


# --- the portal IDs a course and a section get --------------------------------------------------


def catalog_field(id_type: CourseIdType | SectionIdType) -> str | None:
    """The catalogue column holding an ID type's value (the same name as Canvas's attribute), or None
    for the Canvas id, which every row has (`canvas_id`)."""
    field = id_type.canvas_field
    return None if field == "id" else field


def course_id_value(course: CatalogCourse, config: CanvasConfig) -> str:
    """The Course ID the portal uses for this course (empty when Canvas has no value for the type)."""
    field = catalog_field(CourseIdType(config.course_id_type))
    return getattr(course, field) if field else str(course.canvas_id)


def section_id_value(section: CatalogSection, config: CanvasConfig) -> str:
    field = catalog_field(SectionIdType(config.section_id_type))
    return getattr(section, field) if field else str(section.canvas_id)


# --- why it cannot be synced --------------------------------------------------------------------


def course_reason(course: CatalogCourse, config: CanvasConfig) -> Unsyncable | None:
    """None when the course can be synced; else why not (the one rule, sync.catalog.syncable)."""
    code = course_block(course.workflow_state, course_id_value(course, config), gone=bool(course.gone_at))
    if code == "no_course_id" and _sis_hidden(config):
        code = "sis_hidden"  # blank here may be hidden in Canvas: do not send the admin to fill it
    return _reason(code, id_label=config.get_course_id_type_display()) if code else None


def section_reason(section: CatalogSection, config: CanvasConfig) -> Unsyncable | None:
    code = section_block(
        section_id_value(section, config),
        course_blocked=course_reason(section.course, config) is not None,
        gone=bool(section.gone_at),
    )
    if code == "no_section_id" and _sis_hidden(config):
        code = "sis_hidden"
    return _reason(code, id_label=config.get_section_id_type_display()) if code else None


def _sis_hidden(config: CanvasConfig) -> bool:
    """The last check (Generate Key, a sync or a refresh) found Canvas hiding SIS ids from the portal:
    a blank SIS or Reference ID in the catalogue may then be one Canvas did not show. Read once per
    config (a page asks for every course it lists)."""
    hidden = getattr(config, "_sis_hidden", None)
    if hidden is None:
        conn = CanvasConnection.objects.filter(institution_id=config.institution_id).only("capabilities").first()
        check = (conn.capabilities if conn else {}).get(visibility.SIS) or {}
        hidden = bool(check.get("sis_hidden", check.get("ok") is False))  # logins alone hidden: not SIS ids
        config._sis_hidden = hidden  # type: ignore[attr-defined]
    return hidden


def _reason(code: ReasonCode, **words: str) -> Unsyncable:
    return Unsyncable(code, REASONS[code].listed.format(**words))


# --- search -------------------------------------------------------------------------------------


# Select Courses' sortable headers: what each orders by ("course_id": the configured Course ID's column).
SORTS = ("course_id", "name", "canvas_id", "term")
DEFAULT_SORT = "name"


def search_courses(
    institution: Institution,
    config: CanvasConfig,
    query: str = "",
    *,
    hide_unsyncable: bool = False,
    term: str = "",
    account: int | None = None,
    sort: Sort | None = None,
    page: int | str = 1,
    page_size: int = PAGE_SIZE,
) -> Page:
    """Courses matching the configured Course ID (exact or prefix), the name, or the Canvas id, in one
    term and one sub-account when asked (as the last refresh stored them).

    Sorted by `sort` (by name by default), paginated on the server; each course carries `.reason` and `.course_id`.
    """
    courses = CatalogCourse.objects.filter(institution=institution)
    query = query.strip()
    if query:
        courses = courses.filter(_match(query, config))
    if hide_unsyncable:
        courses = courses.filter(syncable_courses_q(config))
    if term:
        courses = courses.filter(term_name=term)
    if account is not None:
        courses = courses.filter(account_id=account)
    paginator = Paginator(courses.order_by(*_order(sort or read_sort(None, SORTS, DEFAULT_SORT), config)), page_size)
    result = paginator.get_page(page)
    for course in result.object_list:
        course.reason = course_reason(course, config)
        course.course_id = course_id_value(course, config)
    return result


def _order(sort: Sort, config: CanvasConfig) -> list:
    field = {
        "course_id": catalog_field(CourseIdType(config.course_id_type)) or "canvas_id",
        "name": "name",
        "canvas_id": "canvas_id",
        "term": "term_name",
    }[sort.key]
    first = F(field).desc() if sort.descending else F(field).asc()
    return [first, "name", "id"]  # ties (one term's courses) by name, then a stable order for paging


def terms(institution: Institution) -> list[str]:
    """The terms of the catalogue's courses, as the last refresh stored them."""
    names = (
        CatalogCourse.objects.filter(institution=institution).exclude(term_name="").values_list("term_name", flat=True)
    )
    return list(names.distinct().order_by("term_name"))


@dataclass(frozen=True)
class SubAccount:
    """A (sub-)account of the catalogue's courses: its Canvas number, its name ("" until a full refresh
    has read it) and how many courses sit in it."""

    canvas_id: int
    name: str
    courses: int

    @property
    def label(self) -> str:
        return self.name or f"Account {self.canvas_id}"


def accounts(institution: Institution) -> list[SubAccount]:
    """The (sub-)accounts the catalogue's courses sit in, each with its name and number of courses."""
    rows = (
        CatalogCourse.objects.filter(institution=institution, account_id__isnull=False)
        .values("account_id")
        .annotate(n=Count("id"))
        .order_by("account_id")
    )
    known = account_names(institution.id)
    return [SubAccount(row["account_id"], known.get(row["account_id"], ""), row["n"]) for row in rows]


def _match(query: str, config: CanvasConfig) -> Q:
    field = catalog_field(CourseIdType(config.course_id_type))
    q = Q(name__icontains=query)
    if field:
        q |= Q(**{field: query}) | Q(**{f"{field}__istartswith": query})
    # ASCII digits only ("²".isdigit() is true but int() refuses it), and within a bigint.
    if query.isascii() and query.isdigit() and int(query) < 2**63:
        q |= Q(canvas_id=int(query))
    return q


def sections_of(institution: Institution, config: CanvasConfig, course_id: int) -> tuple[CatalogCourse, list]:
    """A course of this institution (404 otherwise, via DoesNotExist) and its sections with reasons."""
    course = CatalogCourse.objects.get(institution=institution, id=course_id)
    sections = list(CatalogSection.objects.filter(course=course).select_related("course").order_by("name", "id"))
    for section in sections:
        # The page's display attributes, as search_courses gives courses; CatalogSection does not declare them.
        section.reason = section_reason(section, config)  # type: ignore[attr-defined]
        section.section_id = section_id_value(section, config)  # type: ignore[attr-defined]
    return course, sections


def last_refreshed(institution: Institution):
    return (
        CatalogCourse.objects.filter(institution=institution)
        .order_by("-refreshed_at")
        .values_list("refreshed_at", flat=True)
    ).first()


# --- ID coverage for Configure ------------------------------------------------------------------


@dataclass
class Coverage:
    label: str
    with_value: int
    total: int
    examples: list[str]

    @property
    def percent(self) -> int:
        return round(100 * self.with_value / self.total) if self.total else 0


def id_coverage(institution: Institution, examples: int = 3) -> dict[str, list[Coverage]]:
    """For each Course and Section ID Type: how many current catalogue entries have a value, with a
    few of those that do not, so an admin picks the type that covers their courses."""
    courses = CatalogCourse.objects.filter(institution=institution, gone_at__isnull=True).exclude(
        workflow_state="deleted"
    )
    sections = CatalogSection.objects.filter(institution=institution, gone_at__isnull=True)
    return {
        "courses": [_coverage(courses, t.label, catalog_field(t), examples) for t in CourseIdType],
        "sections": [_coverage(sections, t.label, catalog_field(t), examples) for t in SectionIdType],
    }


def _coverage(rows: QuerySet, label: str, field: str | None, examples: int) -> Coverage:
    total = rows.count()
    if field is None:  # the Canvas id: every entry has one
        return Coverage(label, total, total, [])
    missing = rows.filter(**{field: ""})
    names = [f"{name} ({canvas_id})" for name, canvas_id in missing.values_list("name", "canvas_id")[:examples]]
    return Coverage(label, total - missing.count(), total, names)
