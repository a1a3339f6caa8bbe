/* The member centre's card: fetch the new code and its QR every window (and when the page comes back). */
(function () {
  var box = document.getElementById("qr");
  if (!box) return;
  function refresh() {
    fetch(box.dataset.url, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        document.getElementById("qr-img").innerHTML = d.qr;
        document.getElementById("qr-code").textContent = d.code;
      });
  }
  setInterval(refresh, +box.dataset.seconds * 1000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
})();
