// Show the fields of the chosen LMS Type, and copy the required scopes with one click.
(function () {
  const select = document.querySelector("[data-lms-type]");
  function showFields() {
    document.querySelectorAll("[data-for-type]").forEach(function (fs) {
      fs.hidden = !select || fs.dataset.forType !== select.value;
    });
  }
  if (select) { select.addEventListener("change", showFields); showFields(); }

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      const text = document.getElementById(button.dataset.copyTarget).value;
      const status = document.querySelector("[data-copy-status]");
      const done = function () { if (status) status.textContent = "Copied the scopes."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { status.textContent = "Copy failed: select the list below and copy it."; });
      } else {
        const area = document.getElementById(button.dataset.copyTarget);
        area.classList.remove("visually-hidden"); area.select(); document.execCommand("copy");
        area.classList.add("visually-hidden"); done();
      }
    });
  });
})();
