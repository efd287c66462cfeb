// /console/board: sends the chosen log to POST /console/board/diagnose (with the console's
// key, when there is one) and shows the answer with board.js. Listeners sit on the document,
// so they outlive console.js swapping the page's body.
"use strict";
(function () {
  var STORE = "opsdiag.console.key";  // console.js's

  function status(text) {
    var box = document.getElementById("board-status");
    if (box) box.textContent = text;
  }

  function run() {
    var panel = document.getElementById("board-upload"), input = document.getElementById("board-file");
    if (!panel || !input || !input.files.length) return;
    var form = new FormData();
    form.append("log", input.files[0]);
    var columns = document.getElementById("board-columns");
    if (columns && columns.value.trim()) form.append("columns", columns.value.trim());
    var headers = new Headers();
    try {
      var key = window.sessionStorage.getItem(STORE);
      if (key) headers.set("Authorization", "Bearer " + key);
    } catch (e) { /* no storage: no key */ }
    status(panel.getAttribute("data-busy"));
    fetch(panel.getAttribute("data-action"), {method: "POST", body: form, headers: headers,
      credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            status(response.status + " " + body.title + (body.detail ? ": " + body.detail : ""));
            return;
          }
          status(body.diagnosed + " / " + body.rejected);
          window.OpsBoard.render(document.getElementById("board"), body);
        });
      })
      .catch(function (error) { status(String(error)); });
  }

  document.addEventListener("click", function (event) {
    if (event.target && event.target.id === "board-run") run();
  });
})();
