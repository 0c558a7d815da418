// Inline comments on a pull request's diff without reloading the page: a line number opens a
// small form under its line; the comment is posted with the page's CSRF token and the server
// answers the comment's HTML, which takes the form's place. Answers and resolving go the same
// way. Without JavaScript the answer and resolve forms post normally and the discussion form
// at the bottom of the page still works.
"use strict";
(function () {
  const pr = document.getElementById("pr");
  if (!pr || pr.dataset.canComment !== "1") return;
  const url = pr.dataset.commentUrl;
  const csrf = pr.dataset.csrf;

  function post(fields, target) {
    const body = new URLSearchParams(Object.assign({ _csrf: csrf }, fields));
    return fetch(target || url, {
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

  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-fetch]");
    if (!form) return;
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(form).entries());
    const button = form.querySelector("button");
    button.disabled = true;
    post(fields, form.action)
      .then(function (html) {
        const comment = form.closest(".pr-comment");
        if (form.dataset.fetch === "reply") {
          comment.querySelector(".pr-answers").insertAdjacentHTML("beforeend", html);
          form.querySelector("input[name=text]").value = "";
        } else {
          const resolved = html === "resolved";
          comment.classList.toggle("resolved", resolved);
          comment.querySelector(".resolved-mark").hidden = !resolved;
          form.querySelector("input[name=resolved]").value = resolved ? "0" : "1";
          button.textContent = resolved ? "Reopen" : "Resolve";
        }
      })
      .catch(function (failure) {
        window.alert(failure.message);
      })
      .finally(function () {
        button.disabled = false;
      });
  });

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
