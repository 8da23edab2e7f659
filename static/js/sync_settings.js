// Edit Sync List: the bulk options under the list show once a row is checked (without this script
// they are always shown), with how many rows are checked; the header checkbox checks every row.
function showBulkOptions(form) {
  const bar = form.querySelector("[data-bulk-bar]");
  if (!bar) return;
  const boxes = [...form.querySelectorAll('input[name="selected"]')];
  const checked = boxes.filter((box) => box.checked).length;
  bar.hidden = checked === 0;
  bar.querySelector("[data-checked-count]").textContent = `(${checked} checked)`;
  const all = form.querySelector("[data-select-all]");
  all.checked = checked > 0 && checked === boxes.length;
  all.indeterminate = checked > 0 && checked < boxes.length;
}

document.addEventListener("change", (event) => {
  const form = event.target.closest("#sync-list-form");
  if (!form) return;
  if (event.target.matches("[data-select-all]")) {
    form.querySelectorAll('input[name="selected"]').forEach((box) => { box.checked = event.target.checked; });
  }
  if (event.target.matches('[data-select-all], input[name="selected"]')) showBulkOptions(form);
});

// Now (this script ends the page), and when the browser restores the page with boxes still checked (Back).
function showBulkOptionsOnPage() {
  const form = document.getElementById("sync-list-form");
  if (form) showBulkOptions(form);
}
showBulkOptionsOnPage();
window.addEventListener("pageshow", showBulkOptionsOnPage);

// Select Courses: ">" says whether a course's sections are shown (no inline handlers: the CSP forbids them).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-toggle-expanded]");
  if (!button) return;
  button.setAttribute("aria-expanded", button.getAttribute("aria-expanded") === "true" ? "false" : "true");
});
