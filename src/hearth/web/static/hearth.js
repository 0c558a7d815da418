// SPDX-License-Identifier: GPL-3.0-or-later
// Comfort only; every page works without it: copy buttons, filter as you type, line selection,
// following a running task, a busy submit button.
"use strict";

(function () {
  // <button class="copy" data-copy="#element-id"> copies that input's value (or element's text).
  function setupCopy() {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var target = document.querySelector(button.getAttribute("data-copy"));
        if (!target) return;
        var text = "value" in target ? target.value : target.textContent;
        var done = function () {
          button.setAttribute("data-copied", "");
          setTimeout(function () { button.removeAttribute("data-copied"); }, 1500);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { fallback(target, done); });
        } else {
          fallback(target, done);
        }
      });
    });
  }

  function fallback(target, done) {
    if (typeof target.select === "function") {
      target.select();
      try { if (document.execCommand("copy")) done(); } catch (e) { /* nothing to do */ }
    }
  }

  // <input data-filter="#table-id"> hides rows (tr[data-name] or li[data-name]) not matching.
  function setupFilter() {
    document.querySelectorAll("input[data-filter]").forEach(function (input) {
      var container = document.querySelector(input.getAttribute("data-filter"));
      if (!container) return;
      var counter = document.querySelector(input.getAttribute("data-filter-count") || "#-none");
      var apply = function () {
        var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
        var shown = 0;
        container.querySelectorAll("[data-name]").forEach(function (row) {
          var name = row.getAttribute("data-name").toLowerCase();
          var match = words.every(function (word) { return name.indexOf(word) !== -1; });
          row.hidden = !match;
          if (match) shown += 1;
        });
        if (counter) counter.textContent = String(shown);
      };
      input.addEventListener("input", apply);
      if (input.value) apply();
    });
  }

  // Line anchors: elements with id "L<n>"; #L10 or #L10-L20 marks them, shift-click extends.
  var lastLine = null;
  function parseRange(hash) {
    var match = /^#L(\d+)(?:-L(\d+))?$/.exec(hash || "");
    if (!match) return null;
    var first = parseInt(match[1], 10);
    var last = match[2] ? parseInt(match[2], 10) : first;
    return first <= last ? [first, last] : [last, first];
  }

  function markLines() {
    document.querySelectorAll(".selected[id^='L']").forEach(function (el) {
      el.classList.remove("selected");
    });
    var range = parseRange(window.location.hash);
    if (!range) return;
    for (var n = range[0]; n <= range[1]; n += 1) {
      var line = document.getElementById("L" + n);
      if (line) line.classList.add("selected");
    }
    var first = document.getElementById("L" + range[0]);
    if (first && first.scrollIntoView) first.scrollIntoView({ block: "center" });
  }

  function setupLines() {
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[data-line]") : null;
      if (!link) return;
      var n = parseInt(link.getAttribute("data-line"), 10);
      var hash = "#L" + n;
      if (event.shiftKey && lastLine !== null && lastLine !== n) {
        var a = Math.min(lastLine, n), b = Math.max(lastLine, n);
        hash = "#L" + a + "-L" + b;
      } else {
        lastLine = n;
      }
      event.preventDefault();
      history.replaceState(null, "", hash);
      markLines();
    });
    window.addEventListener("hashchange", markLines);
    markLines();
  }

  // <select data-navigate> goes to the chosen option's value (a URL) when changed.
  function setupNavigate() {
    document.querySelectorAll("select[data-navigate]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.value) window.location.href = select.value;
      });
    });
  }

  // <form data-busy="Working…">: once sent, its submit button says so and cannot be pressed again.
  function setupBusy(root) {
    root.querySelectorAll("form[data-busy]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        form.setAttribute("aria-busy", "true");
        if (!button) return;
        // after the submission has started, so the form is still sent
        setTimeout(function () {
          button.disabled = true;
          button.textContent = form.getAttribute("data-busy");
        }, 0);
      });
    });
  }

  // <section id="…" data-poll="ms">: the page is fetched again every ms milliseconds and the
  // section replaced by its new version (the server renders it; the page reloaded shows the
  // same); once the new version has no data-poll (the task ended), the whole <main> is.
  function setupPoll() {
    var watched = document.querySelector("[data-poll][id]");
    if (!watched) return;
    var id = watched.id;
    var every = Math.max(250, parseInt(watched.getAttribute("data-poll"), 10) || 1000);
    var wait = every;
    var again = function () { setTimeout(poll, wait); };
    var poll = function () {
      fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { accept: "text/html" } })
        .then(function (answer) {
          if (!answer.ok) throw new Error("HTTP " + answer.status);
          return answer.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var section = fresh.getElementById(id);
          var old = document.getElementById(id);
          if (!section || !old) return;
          wait = every;
          if (section.hasAttribute("data-poll")) {
            old.replaceWith(document.adoptNode(section));
            again();
            return;
          }
          var main = fresh.querySelector("main");
          var current = document.querySelector("main");
          if (main && current) {
            current.replaceWith(document.adoptNode(main));
            document.title = fresh.title;
            setupBusy(main);
          }
        })
        .catch(function () {  // the server restarting, a dropped connection: ask again later
          wait = Math.min(wait * 2, 10000);
          again();
        });
    };
    again();
  }

  function start() {
    setupCopy();
    setupFilter();
    setupLines();
    setupNavigate();
    setupBusy(document);
    setupPoll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
