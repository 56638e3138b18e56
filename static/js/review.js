// The review page: “提意见” opens the comment form in place (at its row, its section of the 说明 or in the
// decision bar); htmx posts it and puts the new comment there, so the page stays where it was.
(function () {
  "use strict";

  function place(form) {
    return form.closest("tr.row-comments");
  }

  function open(id, button) {
    var form = document.getElementById(id);
    if (!form) return;
    var row = place(form);
    if (row) row.hidden = false;
    form.hidden = false;
    if (button) button.setAttribute("aria-expanded", "true");
    form.querySelector("textarea").focus();
  }

  function close(form) {
    form.hidden = true;
    var list = document.getElementById(form.getAttribute("hx-target").slice(1));
    var row = place(form);
    if (row && list && !list.querySelector(".review-comment")) row.hidden = true;
    var button = document.querySelector("[data-comment-open='" + form.id + "']");
    if (button) {
      button.setAttribute("aria-expanded", "false");
      button.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-comment-open]");
    if (opener) open(opener.getAttribute("data-comment-open"), opener);
    var closer = event.target.closest("[data-comment-close]");
    if (closer) close(document.getElementById(closer.getAttribute("data-comment-close")));
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form.hasAttribute || !form.hasAttribute("data-comment-form") || !event.detail.successful) return;
    if (event.detail.xhr.status !== 200) return;
    form.reset();
    form.querySelector("[role=alert]").textContent = "";
    close(form);
  });
})();
