"""The one reasons registry: every code a run records (refresh, sync, grade post) or Select Courses
shows, with its title, the sentence that says why, the fix and the severity.

The codes are stored on `SyncIssue.code` (never rename one without a migration); the LMS Sync Errors
help page lists them in this order, every code shown anywhere links to its entry there, and the run
page filters by them. `listed` is the short form Select Courses shows beside a course or section
that cannot be synced. tests/sync/runs/test_reasons.py finds every code the source emits and checks it
has an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.models import IssueSeverity

# A reason code: a key of REASONS. Annotate with it what holds or returns codes, so the registry
# test finds them.
ReasonCode = str


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    title: str
    sentence: str
    fix: str
    severity: str = IssueSeverity.WARNING
    listed: str = ""  # Select Courses' words; "{id_label}" is the ID type's name


_REASONS = [
    # People: the FAQ's "I was able to sync my course, but I cannot see my exam-taker(s)".
    Reason(
        "no_person_id",
        "No value for the Student ID type",
        "The person has no value in Canvas for the Student ID Type chosen on Configure (SIS ID, "
        "Reference ID, Email or Login ID), so the portal has no ID to give them.",
        "Fill in that field for the person in Canvas (usually through your SIS import), or choose a "
        "Student ID Type on Configure that every person has; then Sync Now.",
    ),
    Reason(
        "pending_invitation",
        "Pending invitation",
        "The person has been invited to the Canvas course but has not accepted yet (PENDING in Canvas). "
        "Pending accounts are not synced.",
        "Ask the person to accept the course invitation in Canvas, or have a Canvas admin accept it "
        "for them; the next sync picks them up.",
    ),
    Reason(
        "inactive_enrollment",
        "Inactive enrollment",
        "The person's enrollment is deactivated in the Canvas course, so they are not synced; if they "
        "were synced before, they are now inactive in the portal course.",
        "If they should take exams, re-activate the enrollment in Canvas (People > ... > Re-activate), then Sync Now.",
        IssueSeverity.INFO,
    ),
    Reason(
        "completed_enrollment",
        "Completed enrollment",
        "The person's enrollment in the Canvas course is concluded (completed), so they are not synced; "
        "if they were synced before, they are now inactive in the portal course.",
        "If they should still take exams, restore the enrollment in Canvas or extend the course or "
        "term dates there, then Sync Now.",
        IssueSeverity.INFO,
    ),
    Reason(
        "role_not_chosen",
        "Role not chosen on Configure",
        "The person's role in the Canvas course is neither one of the Student roles nor one of the "
        "Course Admin roles chosen on Configure.",
        "If people with this role should be synced, open Configure and add the role to Student roles "
        "or Course Admin roles, Save, then Sync Now.",
        IssueSeverity.INFO,
    ),
    Reason(
        "test_student",
        "Canvas Test Student",
        "This is Canvas's Test Student (Student View), a fake user Canvas creates for teachers; it is never synced.",
        "Nothing to do.",
        IssueSeverity.INFO,
    ),
    Reason(
        "duplicate_person_id",
        "Two Canvas users with one portal ID",
        "Two different Canvas users have the same value for the chosen Student ID Type, so the portal "
        "cannot tell them apart; neither is synced under that ID.",
        "Correct the duplicated SIS ID, Reference ID, email or login in Canvas so each person has "
        "their own, then Sync Now.",
        IssueSeverity.ERROR,
    ),
    # Sections.
    Reason(
        "no_section_id",
        "No value for the Section ID type",
        "The section has no value in Canvas for the Section ID Type chosen on Configure, so it is not "
        "created in the portal; its people are synced into the course without a section.",
        "Fill in that ID for the section in Canvas, or choose another Section ID Type on Configure; then Sync Now.",
        listed="No {id_label} in Canvas, the ID type chosen on Configure: fill it in Canvas or choose another type.",
    ),
    Reason(
        "section_gone",
        "Section no longer in Canvas",
        "The section on the sync list was deleted in Canvas or moved out of its course.",
        "Refresh Courses, then remove the section from the sync list or add the course it moved to.",
        IssueSeverity.ERROR,
        listed="No longer in Canvas: the last refresh did not find it.",
    ),
    # Courses: the FAQ's "Why can't I see a specific course(s)".
    Reason(
        "no_course_id",
        "No value for the Course ID type",
        "The course has no value in Canvas for the Course ID Type chosen on Configure, so it cannot be "
        "created in the portal.",
        "Fill in that ID for the course in Canvas, or choose another Course ID Type on Configure; then Sync Now.",
        IssueSeverity.ERROR,
        listed="No {id_label} in Canvas, the ID type chosen on Configure: fill it in Canvas or choose another type.",
    ),
    Reason(
        "course_unpublished",
        "Course unpublished",
        "The course was unpublished in Canvas after it was added to the sync list; unpublished courses "
        "are not synced. Records synced earlier are left as they were.",
        "Publish the course in Canvas, then Sync Now; or remove it from the sync list.",
        IssueSeverity.ERROR,
        listed="Unpublished in Canvas: publish it in Canvas, then refresh courses.",
    ),
    Reason(
        "course_deleted",
        "Course deleted in Canvas",
        "The course was deleted in Canvas (or can no longer be found) after it was added to the sync "
        "list. Records synced earlier are left as they were.",
        "Restore the course in Canvas, or remove it from the sync list in Edit Sync Settings.",
        IssueSeverity.ERROR,
        listed="Deleted in Canvas.",
    ),
    Reason(
        "duplicate_course_id",
        "Course ID already used",
        "Another portal course already has this Course ID but comes from a different Canvas course.",
        "Give the two Canvas courses different IDs (or choose another Course ID Type on Configure), then Sync Now.",
        IssueSeverity.ERROR,
    ),
    Reason(
        "no_department",
        "No department chosen",
        "The sync list entry has no department, so the portal does not know where to create the course.",
        "Open Edit Sync Settings > Edit Sync List, choose a department for the course, Save, then Sync Now.",
        IssueSeverity.ERROR,
    ),
    Reason(
        "roster_shrink_held",
        "Large roster drop held for approval",
        "This sync would have deactivated a large part of the course's exam-takers at once (more than "
        "the share set on the institution, or all of them). Such drops are usually a Canvas-side "
        "mistake, so nothing in this course was changed.",
        "Check the course roster in Canvas. If the drop is real, choose Approve on the run page; if "
        "not, fix Canvas and Sync Now.",
        IssueSeverity.ERROR,
    ),
    Reason(
        "includes_off",
        "Include parameters not allowed",
        "Canvas answered without the data the portal asked for with include parameters (terms, student "
        "counts, emails): the developer key's Allow Include Parameters box is not ticked, so Canvas "
        "leaves that data out without an error. Nothing was changed or removed for lack of it: courses "
        "keep their terms and counts, and a course whose people need emails was not synced.",
        "In Canvas, go to Admin > Developer Keys, find the portal's key, choose edit (the pencil), tick "
        "Allow Include Parameters and Save; then Sync Now (or Refresh Courses).",
        IssueSeverity.ERROR,
    ),
    Reason(
        "sis_hidden",
        "SIS IDs hidden by the authorizing user's Canvas role",
        "Canvas left the SIS IDs (or logins) out of its answers, which it does when the Canvas user who "
        "authorized the portal (Generate Key) has a role without the “SIS Data - read” permission (for "
        "logins, “Users - view login IDs”): they are hidden from the portal, not blank in Canvas. The "
        "courses and people that need them were not changed, and the catalogue keeps the IDs it had.",
        "In Canvas, Admin > the account > Permissions: give that user's role “SIS Data - read” (and "
        "“Users - view login IDs”); or have a Canvas admin whose role has them choose Generate Key in "
        "LMS Settings and authorize the portal. Then Sync Now.",
        IssueSeverity.ERROR,
        listed="No {id_label} the portal can see: Canvas hides SIS IDs from the user who authorized the portal "
        "(LMS Settings says how to fix it), so it may have one in Canvas.",
    ),
    Reason(
        "canvas_error",
        "Canvas could not be read",
        "Reading this course from Canvas failed, so nothing in it was changed; the other courses were "
        "synced. The issue's message says what Canvas answered.",
        "Follow the fix in the issue's message, then Sync Now.",
        IssueSeverity.ERROR,
    ),
    Reason(
        "canvas_access_lost",
        "Canvas access lost",
        "Canvas refused the portal's token, or a scope the sync needs, so the sync stopped: this course "
        "and the ones after it were not changed.",
        "Follow the fix in the issue's message (usually Generate Key in LMS Settings), then Sync Now.",
        IssueSeverity.ERROR,
    ),
    Reason(
        "internal_error",
        "Unexpected error",
        "The portal hit an unexpected error while syncing this course, so nothing in it was changed; "
        "the other courses were synced.",
        "Sync Now again; if it happens again, contact support with the run number.",
        IssueSeverity.ERROR,
    ),
    # The catalogue (Refresh Courses) and the sync list.
    Reason(
        "course_gone",
        "Course no longer in Canvas",
        "The course is on the sync list, but the last full Refresh Courses no longer found it in Canvas "
        "(deleted, or moved out of the account).",
        "Remove it from the sync list on Edit Sync List, or restore it in Canvas and refresh courses.",
        listed="No longer in Canvas: the last refresh did not find it.",
    ),
    Reason(
        "sections_unreadable",
        "Sections could not be read",
        "Refresh Courses could not read this course's sections from Canvas; the course keeps the sections "
        "the catalogue had before. The issue's message says what Canvas answered.",
        "Refresh courses again, or refresh this course alone (Refresh one course).",
    ),
    Reason(
        "counts_unreadable",
        "Student counts could not be read",
        "Refresh Courses could not read the student counts of some courses from Canvas (it reads them "
        "after the courses themselves); those courses keep the counts the catalogue had before.",
        "Refresh courses again.",
        IssueSeverity.INFO,
    ),
    Reason(
        "course_unsyncable",
        "Its course cannot be synced",
        "The section's course cannot be synced (Select Courses shows why), so neither can its sections.",
        "Fix what the course's reason says, refresh courses, then add the section.",
        listed="Its course cannot be synced.",
    ),
    # Grade posts.
    Reason(
        "grade_conflict",
        "Grade changed in Canvas",
        "Canvas has a grade for this person that the portal did not post (someone changed it in Canvas since "
        "the last post, or entered it there first), so it was left alone.",
        "Check with the course's teacher which grade is right. To replace Canvas's grade with the portal's, "
        "post again with “Overwrite grades changed in Canvas” ticked.",
    ),
    Reason(
        "grade_not_posted",
        "Grade not posted",
        "Canvas refused this person's grade; the other grades were posted.",
        "Follow the fix in the issue's message, then post again.",
        IssueSeverity.ERROR,
    ),
    Reason(
        "grade_not_saved",
        "Grade not saved by Canvas",
        "Canvas answered that it saved this person's grade, but reading the grade back right after shows "
        "another grade (or none): Canvas did not save it. Canvas has been seen to do this (canvas-lms issue "
        "1434); the portal reads every grade back so that it never counts such a grade as posted.",
        "Post again: only grades Canvas does not hold are sent again. If Canvas keeps losing the same "
        "grade, enter it in the course's Gradebook in Canvas and tell your Canvas administrator.",
        IssueSeverity.ERROR,
    ),
    Reason(
        "grade_not_checked",
        "Grade not checked",
        "Canvas did not show this person's grade, so the portal could not check it against what it posted; "
        "nothing was written, and the grade in Canvas is as it was.",
        "Choose Check against Canvas again later; if Canvas keeps refusing, follow the fix in the issue's message.",
    ),
    Reason(
        "assignment_unpublished",
        "Canvas assignment unpublished",
        "The exam's assignment is unpublished in Canvas, and Canvas takes no grade for an unpublished "
        "assignment: it answers “user not authorized to perform that action”, whoever authorized the "
        "portal. The portal creates its assignments published; this one was unpublished in Canvas.",
        "In Canvas, open the course's Assignments and choose Publish beside the exam's assignment, then post again.",
        IssueSeverity.ERROR,
    ),
    Reason(
        "no_lms_user",
        "No Canvas user for the exam-taker",
        "The exam-taker has no Canvas user id, so the portal cannot find their submission.",
        "Sync the course from Canvas so the exam-taker is matched to their Canvas user, then post again.",
        IssueSeverity.ERROR,
    ),
    # Runs.
    Reason(
        "entry_ended",
        "End date has passed",
        "This sync list entry's end date has passed, so it is no longer synced; its portal course and "
        "roster are kept as they were.",
        "If it should still be synced, extend its End Date on Edit Sync List, Save, then Sync Now.",
        IssueSeverity.INFO,
    ),
    Reason(
        "sync_list_empty",
        "Nothing to sync",
        "The sync list has no course whose end date has not passed, so the sync had nothing to do.",
        "Open Edit Sync Settings, add courses with + (or extend the end dates), then Sync Now.",
    ),
    Reason(
        "connection_not_verified",
        "Canvas connection not Verified",
        "The sync did not start because the portal's connection to Canvas is not Verified.",
        "Open LMS Settings and choose Generate Key (or paste a new access token); once it shows "
        "Verified, Sync Now or wait for the nightly sync.",
        IssueSeverity.ERROR,
    ),
    Reason(
        "already_running",
        "A sync was already running",
        "The nightly sync did not start because another sync of this institution was still running.",
        "Nothing to do; View History shows the running sync. The next nightly sync runs as usual.",
    ),
]

REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}


def reason(code: str) -> Reason:
    return REASONS[code]
