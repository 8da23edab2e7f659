// On a phone the main menu folds behind its Menu button; without JavaScript it stays open and wraps.
document.querySelectorAll("[data-menu-toggle]").forEach((button) => {
  const menu = document.getElementById(button.getAttribute("aria-controls"));
  menu.classList.add("foldable");
  button.hidden = false;
  button.addEventListener("click", () => {
    button.setAttribute("aria-expanded", String(button.getAttribute("aria-expanded") !== "true"));
  });
});
