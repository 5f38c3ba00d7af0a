// Admin console behaviour. Everything here is an enhancement: without JavaScript the
// sidebar is simply always shown and every form posts and redirects.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // On a phone the console's tables become one card per row (admin.css): each cell is
  // labelled with its column's header, so "2" still reads as "Used: 2".
  function labelCells(root) {
    var tables = root.querySelectorAll(".panel table");
    for (var t = 0; t < tables.length; t++) {
      var heads = tables[t].querySelectorAll("thead th");
      var rows = tables[t].querySelectorAll("tbody tr");
      for (var r = 0; r < rows.length; r++) {
        var cells = rows[r].children;
        for (var c = 0; c < cells.length && c < heads.length; c++) {
          var label = heads[c].textContent.trim();
          if (label && !cells[c].hasAttribute("data-label")) cells[c].setAttribute("data-label", label);
        }
      }
    }
  }
  document.addEventListener("htmx:afterSwap", function (event) { labelCells(event.target); });

  ready(function () {
    labelCells(document);
    // A page answering a POST that showed a secret once: make its address the plain
    // page, so that reload or back never re-submits the form (nor shows the secret).
    var replace = document.querySelector("[data-replace-url]");
    if (replace && window.history.replaceState) {
      window.history.replaceState(null, "", replace.getAttribute("data-replace-url"));
    }

    // The sidebar collapses behind a Menu button on a phone.
    var toggle = document.querySelector(".nav-toggle");
    var nav = document.getElementById("console-nav");
    if (toggle && nav) {
      toggle.hidden = false;
      toggle.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
        if (open) {
          var first = nav.querySelector("a");
          if (first) first.focus();
        }
      });
      document.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && nav.classList.contains("open")) {
          nav.classList.remove("open");
          toggle.setAttribute("aria-expanded", "false");
          toggle.focus();
        }
      });
    }
  });

  // Plain (non-HTMX) forms that ask first: <form data-confirm="...">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  // An HTMX request that failed (403, 404, 400...): show the server's message.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var box = document.getElementById("console-alert");
    if (!box) {
      box = document.createElement("div");
      box.id = "console-alert";
      box.className = "flash flash-error";
      box.setAttribute("role", "alert");
      var main = document.querySelector(".console-main");
      if (main) main.insertBefore(box, main.firstChild);
    }
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var text = doc.body ? doc.body.textContent.replace(/\s+/g, " ").trim() : "";
    box.textContent = text || "The request failed (" + xhr.status + "). Reload the page and try again.";
  });

  // After a swap, move focus to a shown-once secret or the first field with an error.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var focus = target.querySelector(".secret-once .secret, [aria-invalid=true]");
    if (focus) focus.focus();
  });
})();
