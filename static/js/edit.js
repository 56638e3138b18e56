// The edit page: add, remove and move the unit's own rows and the numbered points; warn before leaving
// with unsaved changes; arrow keys and Enter move between the rows of the indicator table (Enter never
// submits); a block pasted from Excel fills the cells from the focused one; the rows' details open and
// close; the checklist's links bring their field into view below the sticky bar and focus it. The live
// scores and every check come from the server (htmx posts the form to the preview URL as values change).
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
  function markDirty(event) {
    if (event && event.target && event.target.form !== form) return;  // an answer to a comment is its own form
    dirty = true;
    edits += 1;
    showDirty();
  }
  form.addEventListener("input", markDirty);
  form.addEventListener("change", markDirty);
  // An answer typed at its comment (its own form, outside this one) neither asks for a preview nor counts as
  // an unsaved change of the evaluation: its events stop before they reach the edit form.
  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var target = event.target;
      if (target.form && target.form !== form && form.contains(target)) event.stopPropagation();
    }, true);
  });
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
      var order = row.querySelector("input[name$='-order']");
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
      var before = body.children.length;
      body.insertAdjacentHTML("beforeend", html);
      var added = Array.prototype.slice.call(body.children, before);  // the row and its detail
      var row = added[0];
      row.querySelector("input[name$='-category_id']").value = button.getAttribute("data-row-add");
      total().value = index + 1;
      renumber(body);
      added.forEach(function (element) { if (window.htmx) window.htmx.process(element); });
      var name = body.querySelector("#detail-rows-" + index + " input[name$='-name']");
      if (name) name.focus();
      changed();
    } else if (button.hasAttribute("data-row-move")) {
      var current = ownerRow(button);
      var step = parseInt(button.getAttribute("data-row-move"), 10);
      var sibling = step < 0 ? current.previousElementSibling : group(current).pop().nextElementSibling;
      while (sibling && (!sibling.hasAttribute("data-row") || sibling.hidden)) {
        sibling = step < 0 ? sibling.previousElementSibling : sibling.nextElementSibling;
      }
      if (!sibling) return;
      var moving = group(current);
      if (step < 0) moving.forEach(function (element) { sibling.before(element); });
      else group(sibling).pop().after.apply(group(sibling).pop(), moving);
      renumber(current.parentElement);
      button.focus();
      changed();
    } else if (button.hasAttribute("data-detail")) {
      toggleDetail(document.getElementById(button.getAttribute("aria-controls")), button);
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

  // A row's detail is loaded when first opened (the page does not carry forty of them unread); once there,
  // a preview brings its 得分说明 up to date with what is typed.
  function toggleDetail(detail, button) {
    // Empty until then: its row (<tr id="row-<pk>" data-prefix="rows-N">) says what to ask for.
    var row = ownerRow(detail);
    var pk = !detail.hasChildNodes() && !detail.hasAttribute("data-loading") && row && /^row-(\d+)$/.exec(row.id);
    if (pk && window.htmx) {
      detail.setAttribute("data-loading", "");
      var src = form.getAttribute("data-edit-url") + "rows/" + pk[1] + "/detail/?prefix=" + row.getAttribute("data-prefix");
      window.htmx.ajax("GET", src, { target: detail, swap: "innerHTML" }).then(function () {
        window.htmx.trigger(form, "rows-changed");
      });
    }
    detail.hidden = !detail.hidden;
    if (button) button.setAttribute("aria-expanded", String(!detail.hidden));
  }

  // A row of the table is its <tr data-row>, then its detail and its comments, up to the next row.
  function group(row) {
    var members = [row];
    for (var next = row.nextElementSibling; next && !next.hasAttribute("data-row"); next = next.nextElementSibling) {
      members.push(next);
    }
    return members;
  }
  function ownerRow(element) {
    var tr = element.closest("tr");
    while (tr && !tr.hasAttribute("data-row")) tr = tr.previousElementSibling;
    return tr;
  }

  // Deleting a unit row: its DELETE box is ticked and the row marked (it is removed on save).
  form.addEventListener("change", function (event) {
    if (event.target.name && /-DELETE$/.test(event.target.name)) {
      var row = ownerRow(event.target);
      group(row).forEach(function (tr) {
        tr.classList.toggle("table-danger", event.target.checked);
        tr.querySelectorAll("input:not([type=checkbox]):not([type=hidden]), select, textarea").forEach(function (el) {
          if (el.form === form) el.disabled = event.target.checked;
        });
      });
    }
  });

  function numberPoints(list) {
    Array.prototype.forEach.call(list.children, function (li, i) {
      li.querySelector(".point-number").textContent = (i + 1) + ".";
      li.querySelector("label").textContent = "第 " + (i + 1) + " 条要点";
    });
  }

  // --- Keyboard: ↑/↓ (and Enter, Shift+Enter) move to the same column in the next/previous row -------
  // Enter in a one-line input never submits the form by accident: saving is the 保存 button's.
  function visibleRows(table) {
    return Array.prototype.filter.call(table.querySelectorAll("tr[data-row]"), function (r) { return !r.hidden; });
  }
  form.addEventListener("keydown", function (event) {
    var field = event.target;
    var enter = event.key === "Enter" && field.tagName === "INPUT" && !/^(submit|button|checkbox|file)$/.test(field.type);
    if (enter) event.preventDefault();
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp" && !enter) return;
    var table = field.closest("#indicator-table");
    if (!table || field.tagName === "TEXTAREA" || field.tagName === "SELECT") return;
    var cell = field.closest("td, th");
    var row = field.closest("tr[data-row]");
    if (!cell || !row) return;
    var column = Array.prototype.indexOf.call(row.children, cell);
    var rows = visibleRows(table);
    var down = event.key === "ArrowDown" || (enter && !event.shiftKey);
    for (var next = rows[rows.indexOf(row) + (down ? 1 : -1)]; next; next = rows[rows.indexOf(next) + (down ? 1 : -1)]) {
      var target = next.children[column] && next.children[column].querySelector("input:not([type=hidden]):not([disabled])");
      if (target) {
        event.preventDefault();
        target.focus();
        if (target.select) target.select();
        return;
      }
    }
  });

  // --- Paste from Excel: a column or a block fills the cells from the focused one down and right ------
  // Each value goes into its input as if typed (an input event each): the server checks it like a typed one
  // and the live preview shows what it refuses. Cells with nothing to fill (a score the rule computes) are
  // left out and counted.
  // A row's cells are <td class="col-actual"> and so on: the input in such a cell is that column's.
  var COLUMNS = ["actual", "band", "score", "reason"];
  function columnOf(field) {
    var cell = field.closest("td");
    var found = cell && /(?:^|\s)col-(actual|band|score|reason)(?:\s|$)/.exec(cell.className);
    return found ? found[1] : "";
  }

  function parseSheet(text) {
    // Excel's text: cells split by tabs, rows by line breaks; a cell with a line break or quote is quoted.
    var rows = [[]], cell = "", quoted = false, i = 0;
    text = text.replace(/\r\n?/g, "\n");
    while (i < text.length) {
      var c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
        if (c === '"') { quoted = false; i += 1; continue; }
        cell += c;
      } else if (c === '"' && cell === "") {
        quoted = true;
      } else if (c === "\t") {
        rows[rows.length - 1].push(cell); cell = "";
      } else if (c === "\n") {
        rows[rows.length - 1].push(cell); cell = ""; rows.push([]);
      } else {
        cell += c;
      }
      i += 1;
    }
    rows[rows.length - 1].push(cell);
    if (rows.length > 1 && rows[rows.length - 1].length === 1 && rows[rows.length - 1][0] === "") rows.pop();
    return rows;
  }

  function setValue(input, value) {
    if (input.tagName === "SELECT") {
      var option = Array.prototype.find.call(input.options, function (o) {
        return o.text.trim() === value || o.value === value;
      });
      if (!option) return false;
      input.value = option.value;
    } else {
      input.value = value;
    }
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  form.addEventListener("paste", function (event) {
    var field = event.target;
    var column = COLUMNS.indexOf(columnOf(field));
    var table = field.closest("#indicator-table");
    if (column < 0 || !table || !event.clipboardData) return;
    var text = event.clipboardData.getData("text/plain");
    var fromSheet = /<table/i.test(event.clipboardData.getData("text/html") || "");
    var sheet = parseSheet(text);
    if (sheet.length === 1 && sheet[0].length === 1) {
      if (field.tagName === "TEXTAREA") return;  // one value: the browser pastes it
      event.preventDefault();
      setValue(field, sheet[0][0].trim());
      return;
    }
    // Paragraphs pasted from a document into 偏差原因 stay one text; a block from a sheet is cells.
    if (field.tagName === "TEXTAREA" && !fromSheet && text.indexOf("\t") < 0) return;
    event.preventDefault();
    var rows = visibleRows(table);
    var start = rows.indexOf(field.closest("tr[data-row]"));
    var filled = 0, left = 0, refused = 0;
    sheet.forEach(function (cells, i) {
      var row = rows[start + i];
      cells.forEach(function (value, j) {
        var name = COLUMNS[column + j];
        var input = row && name && row.querySelector("td.col-" + name + " :is(input, select, textarea):not([disabled])");
        if (!input) { left += 1; return; }
        if (setValue(input, input.tagName === "TEXTAREA" ? value : value.trim())) filled += 1; else refused += 1;
      });
    });
    var note = document.getElementById("paste-status");
    if (note) {
      note.textContent = "已粘贴 " + filled + " 格" +
        (left ? "；" + left + " 格在表格之外或该格无需填写（如由计分方法算出的得分），未粘贴" : "") +
        (refused ? "；" + refused + " 格的定性评价不是“达成 / 部分达成 / 未达成”，未粘贴" : "") + "。";
    }
  });

  // --- The checklist's links: the place to fix in view below the sticky bar, and its field focused ----
  function focusTarget(target) {
    var detail = target.closest("tr.row-detail");
    if (detail && detail.hidden) toggleDetail(detail, null);
    var bar = form.querySelector(".save-bar");
    var top = target.getBoundingClientRect().top + window.scrollY - (bar ? bar.offsetHeight : 0) - 12;
    window.scrollTo({ top: Math.max(0, top) });
    var field = target.matches("input, select, textarea, button") ? target : target.querySelector(
      "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), button");
    if (field) field.focus({ preventScroll: true });
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("#checklist a[href*='#']");
    if (!link) return;
    var url = new URL(link.href);
    var target = url.pathname === window.location.pathname && document.getElementById(url.hash.slice(1));
    if (!target) return;
    event.preventDefault();
    history.replaceState(null, "", url.hash);
    focusTarget(target);
  });
  if (window.location.hash) {
    var landing = document.getElementById(window.location.hash.slice(1));
    if (landing) window.addEventListener("load", function () { focusTarget(landing); });
  }
})();
