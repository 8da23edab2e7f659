// Edit Sync List: the header checkbox checks or unchecks every row.
document.addEventListener("change", (event) => {
  if (!event.target.matches("[data-select-all]")) return;
  const form = event.target.closest("form");
  form.querySelectorAll('input[name="selected"]').forEach((box) => { box.checked = event.target.checked; });
});

// Select Courses: ">" says whether a course's sections are shown (no inline handlers: the CSP forbids them).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-toggle-expanded]");
  if (!button) return;
  button.setAttribute("aria-expanded", button.getAttribute("aria-expanded") === "true" ? "false" : "true");
});
