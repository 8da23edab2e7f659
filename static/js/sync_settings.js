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

// Edit Sync List: leaving the page (a tab, a link, closing or reloading) with row edits not yet saved asks
// first, with the browser's own prompt. Submitting the list's form saves them, so it does not ask. After a
// refused post every row is as typed and nothing was saved, which the form says with data-unsaved.
function rowChanged(field) {
  if (field.tagName === "SELECT") {
    const initial = [...field.options].findIndex((option) => option.defaultSelected);
    return field.selectedIndex !== Math.max(initial, 0);
  }
  return field.value !== field.defaultValue;
}

function hasUnsavedRows(form) {
  if (form.hasAttribute("data-unsaved")) return true;
  return [...form.querySelectorAll("tbody input[type=date], tbody select")].some(rowChanged);
}

let submittingList = false;
document.addEventListener("submit", (event) => {
  if (event.target.id === "sync-list-form") submittingList = true;
});
window.addEventListener("pageshow", () => { submittingList = false; });
window.addEventListener("beforeunload", (event) => {
  const form = document.getElementById("sync-list-form");
  if (!form || submittingList || !hasUnsavedRows(form)) return;
  event.preventDefault();
  event.returnValue = "";  // older browsers show the prompt only when this is set
});

// Select Courses: ">" says whether a course's sections are shown (no inline handlers: the CSP forbids them).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-toggle-expanded]");
  if (!button) return;
  button.setAttribute("aria-expanded", button.getAttribute("aria-expanded") === "true" ? "false" : "true");
});
