// Inline comments on a pull request's diff without reloading the page: a line number opens a
// small form under its line; the comment is posted with the page's CSRF token and the server
// answers the comment's HTML, which takes the form's place. Without JavaScript the discussion
// form at the bottom of the page still works.
"use strict";
(function () {
  const pr = document.getElementById("pr");
  if (!pr || pr.dataset.canComment !== "1") return;
  const url = pr.dataset.commentUrl;
  const csrf = pr.dataset.csrf;

  function post(fields) {
    const body = new URLSearchParams(Object.assign({ _csrf: csrf }, fields));
    return fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-requested-with": "fetch" },
      body: body.toString(),
      credentials: "same-origin",
    }).then(function (response) {
      return response.text().then(function (text) {
        if (!response.ok) throw new Error(text);
        return text;
      });
    });
  }

  function commentsRow(lineRow) {
    let next = lineRow.nextElementSibling;
    if (next && next.classList.contains("inline-comments")) return next.firstElementChild;
    const row = document.createElement("tr");
    row.className = "inline-comments";
    row.dataset.line = lineRow.dataset.line;
    const cell = document.createElement("td");
    cell.colSpan = 4;
    row.appendChild(cell);
    lineRow.after(row);
    return cell;
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.add-comment");
    if (!button) return;
    const lineRow = button.closest("tr");
    const path = button.closest("table.pr-diff").dataset.path;
    const cell = commentsRow(lineRow);
    if (cell.querySelector("form.inline-form")) return;
    const form = document.createElement("form");
    form.className = "inline-form";
    const area = document.createElement("textarea");
    area.name = "text";
    area.rows = 3;
    area.setAttribute("aria-label", "Comment on " + path + " line " + button.dataset.line);
    const send = document.createElement("button");
    send.type = "submit";
    send.className = "primary";
    send.textContent = "Comment";
    const error = document.createElement("p");
    error.className = "flash bad";
    error.hidden = true;
    form.append(area, send, error);
    cell.appendChild(form);
    area.focus();
    form.addEventListener("submit", function (submitted) {
      submitted.preventDefault();
      send.disabled = true;
      post({ text: area.value, f_path: path, line_no: button.dataset.line })
        .then(function (html) {
          form.insertAdjacentHTML("beforebegin", html);
          form.remove();
        })
        .catch(function (failure) {
          error.textContent = failure.message;
          error.hidden = false;
          send.disabled = false;
        });
    });
  });
})();
