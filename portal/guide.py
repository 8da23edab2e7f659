"""The vendor's setup guide ("Set Up Your Canvas Integration with Developer Keys"), its steps as the
portal's pages carry them out: each page's Help quotes its own steps, and the setup guide page shows all.
The guide names the exam platform; here it is "the portal". Step numbers are the guide's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    number: int
    text: str
    note: str = ""


@dataclass(frozen=True)
class Part:
    key: str  # the anchor on the guide page, and what {% guide_help %} names
    title: str
    intro: str
    steps: tuple[Step, ...]
    page: str = ""  # the portal page that carries the steps out, and its URL name
    url_name: str = ""


CANVAS = Part(
    "canvas",
    "In Canvas: create the developer key",
    "The guide's “Setup Canvas”, done once by a Canvas System Admin before LMS Settings.",
    (
        Step(1, "Log in to Canvas as a System Admin."),
        Step(2, "Select Admin and select the appropriate account."),
        Step(
            3,
            "Select Developer Keys in the list on the left.",
            "If you do not see this option, select a higher-level account.",
        ),
        Step(4, "Select + Developer Key and then + API Key, and enter your information in the Key Settings fields."),
        Step(
            6,
            "Select Enforce Scopes and the Allow Include Parameters checkbox, then enable the endpoints "
            "LMS Settings lists under “Scopes to enable”.",
        ),
        Step(9, "Select Save (in the bottom right corner), then under State select ON for the key you just created."),
        Step(
            11,
            "Make note of the Client ID (the numeric value above the Show Key button, without selecting the "
            "button) and the Client Secret (select Show Key and copy the value).",
        ),
    ),
)

PARTS = (
    CANVAS,
    Part(
        "lms-settings",
        "LMS Settings: connect to Canvas",
        "The guide's “Setup ExamSoft and Run the Sync Process”, steps 2 to 8.",
        (
            Step(2, "Select Admin › Global Settings › LMS Settings."),
            Step(3, "Select Canvas Dev Key from the LMS Type drop-down menu."),
            Step(
                4,
                "For Canvas Server, paste your Canvas instance URL. For Client ID and Client Secret, paste the "
                "values that you saved earlier from Canvas.",
            ),
            Step(5, "Select the Generate Key button: it opens a Canvas login screen."),
            Step(6, "Log in with a Canvas admin account."),
            Step(7, "Select Authorize, and you are redirected back to the portal."),
            Step(8, "Select Save (in the top right corner)."),
        ),
        "LMS Settings",
        "lms-settings",
    ),
    Part(
        "configure",
        "Configure: ID types and roles",
        "Steps 9 to 12.",
        (
            Step(9, "Select Configure to configure course, section and student ID types as well as role designations."),
            Step(
                10,
                "Select the desired Course ID, Section ID and Student ID Types from their drop-down menus.",
                "These are the values from Canvas that become the course, section and student IDs in the portal.",
            ),
            Step(
                11,
                "Select the applicable Course Admin and Student Roles.",
                "The Course Admin roles decide which Canvas users are synced to courses as course admins; the "
                "Student roles decide which Canvas users are synced as students.",
            ),
            Step(12, "Select Save (in the top right corner)."),
        ),
        "Configure",
        "canvas-configure",
    ),
    Part(
        "sync-settings",
        "Edit Sync Settings: choose the courses",
        "Steps 13 to 19.",
        (
            Step(
                13,
                "Select Edit Sync Settings. The first time, select Refresh Courses to retrieve the list of courses "
                "from Canvas.",
                "This only retrieves the list of courses; it does not sync them. It can take a while with many "
                "courses. Once it is complete, the courses are on the Select Courses tab.",
            ),
            Step(
                14,
                "Search by Course ID or Name to find each course to add to the sync list.",
                "Searching by ID uses the Course ID Type chosen on Configure.",
            ),
            Step(
                15,
                "Select + to add each course or section to the sync list.",
                "Courses that have sections also have a > button, which shows the sections underneath.",
            ),
            Step(16, "Select the Edit Sync List tab."),
            Step(17, "Adjust the start and end dates for courses, as needed."),
            Step(
                18,
                "Select the department that the courses will be created in within the portal.",
                "This may be done in bulk: check the boxes on the left and use the bulk options that appear at "
                "the bottom of the list.",
            ),
            Step(19, "Select Save (in the top right corner)."),
        ),
        "Edit Sync Settings",
        "sync-settings",
    ),
    Part(
        "sync-history",
        "Sync Now and View History",
        "Steps 20 to 23, and the guide's Next Steps.",
        (
            Step(
                20,
                "Select Sync Now to start a sync into the portal.",
                "This may take several minutes depending on how much data is synced.",
            ),
            Step(21, "Select View History to view the current sync status."),
            Step(
                22,
                "Check that the course and student data are in the portal by opening the department you synced into.",
            ),
            Step(
                23,
                "Search for the courses and sections you chose to sync, and make sure the enrollments match Canvas.",
                "If you do not see the data that was supposed to sync, see LMS Sync Errors.",
            ),
        ),
        "View History",
        "sync-history",
    ),
)

BY_KEY = {part.key: part for part in PARTS}
