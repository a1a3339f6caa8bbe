/* The points mall: a form is sent once (a double tap on "Redeem" does not redeem twice). */
document.querySelectorAll("ul.mall form, #donate form").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
  });
});
