/* MemberCare's page behaviours, declared in the templates by data attributes (no inline script, so the
   Content-Security-Policy can say script-src 'self'):
   data-confirm="text"      on a form: ask before submitting
   data-autosubmit          on a select: submit its form on change
   data-href="url"          on a table row: the row opens url
   data-print               on a button: print the page
   data-select-on-click     on an input: select its text when clicked
   data-check-all="sel"     on a checkbox: check or uncheck every box matching sel
   data-set-days="n"        on a button in a .field: set the field's date input to today + n days
   data-insert="text" data-insert-into="id"   on a button: insert text at the cursor of textarea #id
   data-after-request-clear="sel" data-after-request-reset="sel"   on an htmx form: after its request, empty
                            the element sel, clear and focus the input sel
   data-focus-last="sel"    anywhere: on load, scroll to the last element matching sel and focus its input
   details[data-menu]       the header's menus: one open at a time, closed by a click elsewhere or Escape
   [data-nav-toggle]        the header's menu button (narrow screens): opens and closes the menu panel of its
                            header[data-nav]; a click outside the header or Escape closes it. Wider than
                            900 px, a header whose menus do not fit on one row is marked .compact (the same
                            menu button and panel) */
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("[data-autosubmit]") && el.form) { el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit(); }
  });

  document.addEventListener("click", function (event) {
    var el = event.target;
    var button = el.closest("[data-print], [data-set-days], [data-insert], [data-check-all], [data-select-on-click]");
    if (button && button.matches("[data-print]")) { window.print(); return; }
    if (button && button.matches("[data-select-on-click]")) { button.select(); return; }
    if (button && button.matches("[data-check-all]")) {
      document.querySelectorAll(button.dataset.checkAll).forEach(function (box) { box.checked = button.checked; });
      return;
    }
    if (button && button.matches("[data-set-days]")) {
      var d = new Date(); d.setDate(d.getDate() + parseInt(button.dataset.setDays, 10));
      var input = button.closest(".field").querySelector("input[type=date]");
      input.value = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
      input.dispatchEvent(new Event("change", {bubbles: true}));
      return;
    }
    if (button && button.matches("[data-insert]")) {
      var area = document.getElementById(button.dataset.insertInto), text = button.dataset.insert;
      var start = area.selectionStart || 0, end = area.selectionEnd || 0;
      area.value = area.value.slice(0, start) + text + area.value.slice(end);
      area.focus(); area.selectionStart = area.selectionEnd = start + text.length;
      area.dispatchEvent(new Event("input", {bubbles: true}));
      return;
    }
    var row = el.closest("tr[data-href]");
    if (row && !el.closest("a, button, input, select, label, textarea")) { window.location.href = row.dataset.href; }
  });

  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details[data-menu]") || !menu.open) { return; }
    document.querySelectorAll("details[data-menu][open]").forEach(function (other) {
      if (other !== menu) { other.open = false; }
    });
  }, true);
  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (m) { if (m !== except) { m.open = false; } });
  }
  function setNav(header, open) {
    header.classList.toggle("nav-open", open);
    var toggle = header.querySelector("[data-nav-toggle]");
    if (toggle) { toggle.setAttribute("aria-expanded", open ? "true" : "false"); }
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest("details[data-menu]"));
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) { var header = toggle.closest("[data-nav]"); setNav(header, !header.classList.contains("nav-open")); return; }
    document.querySelectorAll("[data-nav].nav-open").forEach(function (header) {
      if (!header.contains(event.target)) { setNav(header, false); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    closeMenus(null);
    document.querySelectorAll("[data-nav].nav-open").forEach(function (header) { setNav(header, false); });
  });

  function fitHeaders() {
    document.querySelectorAll("header[data-nav].with-menu").forEach(function (header) {
      header.classList.remove("compact");
      if (window.innerWidth > 900 && header.scrollWidth > header.clientWidth + 1) { header.classList.add("compact"); }
    });
  }
  document.addEventListener("DOMContentLoaded", fitHeaders);
  var fitTimer = null;
  window.addEventListener("resize", function () { clearTimeout(fitTimer); fitTimer = setTimeout(fitHeaders, 100); });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest ? event.target.closest("[data-after-request-clear], [data-after-request-reset]") : null;
    if (!form) { return; }
    if (form.dataset.afterRequestClear) {
      var box = document.querySelector(form.dataset.afterRequestClear); if (box) { box.innerHTML = ""; }
    }
    if (form.dataset.afterRequestReset) {
      var q = document.querySelector(form.dataset.afterRequestReset); if (q) { q.value = ""; q.focus(); }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-focus-last]").forEach(function (marker) {
      var found = document.querySelectorAll(marker.dataset.focusLast);
      if (!found.length) { return; }
      var last = found[found.length - 1], input = last.querySelector("input");
      last.scrollIntoView(); if (input) { input.focus(); }
    });
  });
})();
