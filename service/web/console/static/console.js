// opsdiag console: keeps the API key in sessionStorage and sends it as
// "Authorization: Bearer <key>" when it fetches a console page; the server renders the
// page (calling the admin API with that key) and this swaps it in. The key never goes
// into a URL, a cookie or a form field. A file of its own: the page's
// Content-Security-Policy allows no inline script.
"use strict";
(function () {
  var STORE = "opsdiag.console.key";
  var PREFIX = "/console";

  function key() {
    try {
      return window.sessionStorage.getItem(STORE) || "";
    } catch (e) {
      return "";
    }
  }

  function headers(extra) {
    var h = new Headers(extra || {});
    var k = key();
    if (k) h.set("Authorization", "Bearer " + k);
    return h;
  }

  function showError(text) {
    var box = document.getElementById("console-error");
    if (box) {
      box.textContent = text;
      box.hidden = false;
    }
  }

  // Fetch a console page with the key and put it in place of this one.
  function load(url, init, push) {
    init = init || {};
    init.headers = headers(init.headers);
    init.credentials = "same-origin";
    init.cache = "no-store";
    document.documentElement.setAttribute("aria-busy", "true");
    return fetch(url, init)
      .then(function (response) {
        if (response.status === 401) window.sessionStorage.removeItem(STORE);
        var type = response.headers.get("Content-Type") || "";
        return response.text().then(function (text) {
          if (type.indexOf("text/html") !== 0) {
            var title = text;
            try {
              var problem = JSON.parse(text);
              title = problem.title + (problem.detail ? ": " + problem.detail : "");
            } catch (e) { /* not JSON: show the text */ }
            showError(response.status + " " + title);
            return;
          }
          swap(text);
          // a save answers 303 with the rule's page: show its address
          if (push || response.redirected) window.history.pushState({ console: true }, "", response.url || url);
        });
      })
      .catch(function (error) {
        showError(String(error));
      })
      .then(function () {
        document.documentElement.removeAttribute("aria-busy");
      });
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    document.title = doc.title;
    document.documentElement.lang = doc.documentElement.lang;
    document.body.replaceWith(document.adoptNode(doc.body));
    document.documentElement.setAttribute("data-loaded", String(Date.now()));
  }

  function ours(url) {
    return url.origin === window.location.origin &&
      (url.pathname === PREFIX || url.pathname.indexOf(PREFIX + "/") === 0) &&
      url.pathname.indexOf(PREFIX + "/assets/") !== 0;
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey || event.altKey) return;
    var target = event.target;
    if (target.closest && target.closest("#key-forget")) {
      window.sessionStorage.removeItem(STORE);
      load(window.location.href, {}, false);
      return;
    }
    var a = target.closest ? target.closest("a[href]") : null;
    if (!a || a.target || a.hasAttribute("download")) return;
    var url = new URL(a.href, window.location.href);
    if (!ours(url) || !key()) return;
    event.preventDefault();
    load(url.href, {}, true);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id === "key-form") {
      event.preventDefault();
      var input = document.getElementById("key-input");
      var value = input ? input.value.trim() : "";
      if (!value) return;
      window.sessionStorage.setItem(STORE, value);
      load(window.location.href, {}, false);
      return;
    }
    if (!form.hasAttribute("data-console-form")) return;
    var action = new URL(form.getAttribute("action") || window.location.href, window.location.href);
    if (!ours(action)) return;
    event.preventDefault();
    var data = new URLSearchParams(new FormData(form));
    var submitter = event.submitter;  // which of the editor's buttons: check, test, save...
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    if ((form.getAttribute("method") || "get").toLowerCase() === "post") {
      load(action.href, {
        method: "POST",
        body: data,
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      }, false);
    } else {
      var query = new URLSearchParams();
      data.forEach(function (value, name) {
        if (value !== "") query.append(name, value);
      });
      action.search = query.toString();
      load(action.href, {}, true);
    }
  });

  // The editor checks the rule as it is typed: after a pause, the form goes to the page
  // with do=check and only the check, the YAML view, the diff, the examples' results and
  // the inputs' invalid marks are taken from the answer (the form itself, its focus and
  // caret stay as they are). The admin API does the checking; an older answer never
  // replaces a newer one.
  var pending = null;
  var asked = 0;
  var LIVE_PARTS = ["editor-side", "editor-examples"];

  function checkNow(form) {
    var data = new URLSearchParams(new FormData(form));
    data.set("do", "check");
    var mine = ++asked;
    var status = document.getElementById("check");
    if (status) status.setAttribute("aria-busy", "true");
    fetch(form.getAttribute("action"), {
      method: "POST", body: data, credentials: "same-origin", cache: "no-store",
      headers: headers({ "Content-Type": "application/x-www-form-urlencoded" }),
    })
      .then(function (response) { return response.text(); })
      .then(function (text) {
        if (mine !== asked) return;
        var doc = new DOMParser().parseFromString(text, "text/html");
        LIVE_PARTS.forEach(function (id) {
          var fresh = doc.getElementById(id);
          var old = document.getElementById(id);
          if (fresh && old) old.replaceWith(document.adoptNode(fresh));
        });
        var freshForm = doc.getElementById("editor");
        if (!freshForm) return;
        Array.prototype.forEach.call(form.elements, function (el) {
          if (!el.name || el.type === "hidden") return;
          var twin = freshForm.querySelector('[name="' + el.name.replace(/"/g, '\\"') + '"]');
          ["aria-invalid", "aria-describedby"].forEach(function (attr) {
            if (twin && twin.hasAttribute(attr)) el.setAttribute(attr, twin.getAttribute(attr));
            else el.removeAttribute(attr);
          });
        });
        document.documentElement.setAttribute("data-checked", String(mine));
      })
      .catch(function (error) { showError(String(error)); });
  }

  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (!form || !form.hasAttribute("data-live-check") || event.target.name === "payload") return;
    if (pending) window.clearTimeout(pending);
    pending = window.setTimeout(function () { pending = null; checkNow(form); }, 600);
  });

  window.addEventListener("popstate", function () {
    load(window.location.href, {}, false);
  });

  // A page opened directly (link, reload, new tab) came without the key: fetch it with it.
  if (key() && document.body && document.body.getAttribute("data-key") === "absent") {
    load(window.location.href, {}, false);
  } else {
    document.documentElement.setAttribute("data-loaded", String(Date.now()));
  }
})();
