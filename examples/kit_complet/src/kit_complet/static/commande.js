// The order page: reload it when the order's status moves on (the server draws the page).
(function () {
  var box = document.getElementById("etat");
  if (!box || box.dataset.polling !== "oui") { return; }
  function poll() {
    fetch(box.dataset.statusUrl, {headers: {"Accept": "application/json"}, cache: "no-store"})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (s) {
        if (s.payment !== box.dataset.payment || s.fulfilment !== box.dataset.fulfilment) {
          window.location.replace(window.location.pathname);
          return;
        }
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1500);
})();
