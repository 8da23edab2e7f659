// Edit Sync List: the header checkbox checks or unchecks every row.
document.addEventListener("change", (event) => {
  if (!event.target.matches("[data-select-all]")) return;
  const form = event.target.closest("form");
  form.querySelectorAll('input[name="selected"]').forEach((box) => { box.checked = event.target.checked; });
});
