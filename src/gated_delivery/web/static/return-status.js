// The payment return page: show the order's status as it moves, from the JSON endpoint.
(function () {
  var box = document.getElementById("state");
  if (!box) { return; }
  var lastTry = document.getElementById("last-try");
  var lastTryText = document.getElementById("last-try-text");
  function show(s) {
    box.textContent = s.message;
    // the provider's word on a failed try, as text (never markup); hidden once settled
    if (lastTry && lastTryText) {
      lastTryText.textContent = s.last_try || "";
      lastTry.hidden = !s.last_try;
    }
  }
  function poll() {
    fetch(box.dataset.statusUrl, {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (s) { show(s); if (!s.final) { setTimeout(poll, 3000); } })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
