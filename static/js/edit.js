// The edit page: add, remove and move the unit's own rows and the numbered points; warn before leaving
// with unsaved changes; arrow keys move between the cells of the indicator table. The live scores come
// from the server (htmx posts the form to the preview URL as values change).
(function () {
  "use strict";
  var form = document.getElementById("edit-form");
  if (!form) return;

  // --- Never lose input: a warning before leaving with unsaved changes ---------------------------
  var dirty = false;
  var edits = 0;        // changes made in the page so far
  var editsSent = 0;    // ...of which the save in flight carries this many
  function showDirty() {
    var note = document.getElementById("dirty-note");
    if (note) note.hidden = !dirty;
  }
  function markDirty() {
    dirty = true;
    edits += 1;
    showDirty();
  }
  form.addEventListener("input", markDirty);
  form.addEventListener("change", markDirty);
  form.addEventListener("submit", function () { dirty = false; });
  // Saving through htmx keeps the page: what was typed after "保存" was clicked is still unsaved.
  // While a save is on its way no preview is asked for: the save's answer carries the same scores.
  var saving = false;
  form.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.type === "submit") {
      editsSent = edits;
      saving = true;
    } else if (saving) {
      event.preventDefault();
    }
  });
  form.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt.type === "submit") saving = false;
  });
  form.addEventListener("htmx:afterSwap", showDirty);  // a refused save puts the form's content back, with errors
  document.body.addEventListener("evaluation-saved", function () {
    dirty = edits !== editsSent;
    showDirty();
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "有尚未保存的修改，确定离开吗？";
    }
  });

  function changed() {
    markDirty();
    if (window.htmx) window.htmx.trigger(form, "rows-changed");
  }

  // --- The unit's own rows: add, remove, move ----------------------------------------------------
  // Looked up when used: a save refused for errors replaces the form's content (the form itself stays).
  function total() { return form.querySelector("input[name='rows-TOTAL_FORMS']"); }

  function renumber(body) {
    var n = 0;
    body.querySelectorAll("tr[data-row]").forEach(function (row) {
      var order = row.querySelector("input[data-order]");
      if (order && !row.hidden) order.value = ++n;
    });
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    if (button.hasAttribute("data-row-add")) {
      var index = parseInt(total().value, 10);
      var html = document.getElementById("row-template").innerHTML.replace(/__prefix__/g, String(index));
      var body = document.getElementById("category-" + button.getAttribute("data-row-add"));
      body.insertAdjacentHTML("beforeend", html);
      var row = body.lastElementChild;
      row.querySelector("input[name$='-category_id']").value = button.getAttribute("data-row-add");
      total().value = index + 1;
      renumber(body);
      if (window.htmx) window.htmx.process(row);
      var name = row.querySelector("input[name$='-name']");
      if (name) name.focus();
      changed();
    } else if (button.hasAttribute("data-row-move")) {
      var current = button.closest("tr[data-row]");
      var step = parseInt(button.getAttribute("data-row-move"), 10);
      var sibling = step < 0 ? current.previousElementSibling : current.nextElementSibling;
      while (sibling && (!sibling.hasAttribute("data-row") || sibling.hidden)) {
        sibling = step < 0 ? sibling.previousElementSibling : sibling.nextElementSibling;
      }
      if (!sibling) return;
      if (step < 0) sibling.before(current); else sibling.after(current);
      renumber(current.parentElement);
      button.focus();
      changed();
    } else if (button.hasAttribute("data-point-add")) {
      var list = button.previousElementSibling;
      var item = list.lastElementChild.cloneNode(true);
      var input = item.querySelector("textarea");
      input.value = "";
      input.id = input.id.replace(/-\d+$/, "-" + (list.children.length + 1));
      item.querySelector("label").setAttribute("for", input.id);
      list.appendChild(item);
      numberPoints(list);
      input.focus();
      changed();
    } else if (button.hasAttribute("data-point-move")) {
      var point = button.closest("li");
      var other = parseInt(button.getAttribute("data-point-move"), 10) < 0 ? point.previousElementSibling : point.nextElementSibling;
      if (!other) return;
      if (other === point.previousElementSibling) other.before(point); else other.after(point);
      numberPoints(point.parentElement);
      button.focus();
      changed();
    } else if (button.hasAttribute("data-point-remove")) {
      var li = button.closest("li");
      var ol = li.parentElement;
      if (ol.children.length > 1) li.remove(); else li.querySelector("textarea").value = "";
      numberPoints(ol);
      changed();
    }
  });

  // Deleting a unit row: its DELETE box is ticked and the row hidden (it is removed on save).
  form.addEventListener("change", function (event) {
    if (event.target.name && /-DELETE$/.test(event.target.name)) {
      var row = event.target.closest("tr[data-row]");
      row.classList.toggle("table-danger", event.target.checked);
      row.querySelectorAll("input:not([type=checkbox]):not([type=hidden]), select, textarea").forEach(function (el) {
        el.disabled = event.target.checked;
      });
    }
  });

  function numberPoints(list) {
    Array.prototype.forEach.call(list.children, function (li, i) {
      li.querySelector(".point-number").textContent = (i + 1) + ".";
      li.querySelector("label").textContent = "第 " + (i + 1) + " 条要点";
    });
  }

  // --- Keyboard: ↑/↓ move to the same column in the previous/next row of the table ---------------
  form.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    var field = event.target;
    var table = field.closest("#indicator-table");
    if (!table || field.tagName === "TEXTAREA" || field.tagName === "SELECT") return;
    var cell = field.closest("td");
    var row = field.closest("tr[data-row]");
    if (!cell || !row) return;
    var column = Array.prototype.indexOf.call(row.children, cell);
    var position = Array.prototype.indexOf.call(cell.querySelectorAll("input:not([type=hidden])"), field);
    var rows = Array.prototype.filter.call(table.querySelectorAll("tr[data-row]"), function (r) { return !r.hidden; });
    var next = rows[rows.indexOf(row) + (event.key === "ArrowDown" ? 1 : -1)];
    if (!next) return;
    var inputs = next.children[column].querySelectorAll("input:not([type=hidden])");
    var target = inputs[Math.max(0, Math.min(position, inputs.length - 1))];
    if (target && !target.disabled) {
      event.preventDefault();
      target.focus();
    }
  });
})();
