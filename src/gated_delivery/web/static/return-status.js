// The payment return page: show the order's status as it moves, from the JSON endpoint.
(function () {
  var box = document.getElementById("state");
  if (!box) { return; }
  function poll() {
    fetch(box.dataset.statusUrl, {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (s) { box.textContent = s.message; if (!s.final) { setTimeout(poll, 3000); } })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
