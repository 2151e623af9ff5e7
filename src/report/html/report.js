// vantage HTML report: filters for the findings list. Plain JavaScript, no
// network, no storage; without it every finding is simply shown.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var list = document.getElementById("findings-list");
  if (!form || !list) { return; }
  var items = Array.prototype.slice.call(list.querySelectorAll("li.finding"));
  var count = document.getElementById("shown-count");
  var cellNote = document.getElementById("cell-filter");
  var cellLabel = document.getElementById("cell-filter-label");
  var cell = "";
  function each(selector, f) { Array.prototype.forEach.call(document.querySelectorAll(selector), f); }
  function apply() {
    var severities = {};
    each("#filters input[name=severity]", function (c) { severities[c.value] = c.checked; });
    var vantage = form.elements.vantage.value;
    var rule = form.elements.rule.value;
    var waived = form.elements.waived.checked;
    var shown = 0;
    items.forEach(function (li) {
      var d = li.dataset;
      var show = severities[d.severity] === true &&
        (vantage === "*" || d.vantage === vantage) &&
        (rule === "*" || d.rule === rule) &&
        (waived || d.waived !== "yes") &&
        (cell === "" || d.cell === cell);
      li.hidden = !show;
      if (show) { shown += 1; }
    });
    count.textContent = String(shown);
    cellNote.hidden = cell === "";
  }
  function showAll() {
    each("#filters input[name=severity]", function (c) { c.checked = true; });
    form.elements.vantage.value = "*";
    form.elements.rule.value = "*";
    form.elements.waived.checked = true;
  }
  form.addEventListener("change", apply);
  form.addEventListener("reset", function (e) { e.preventDefault(); cell = ""; showAll(); apply(); });
  document.getElementById("cell-filter-clear").addEventListener("click", function () { cell = ""; apply(); });
  each("button[data-cell]", function (b) {
    b.addEventListener("click", function () {
      showAll();
      cell = b.getAttribute("data-cell");
      cellLabel.textContent = b.getAttribute("data-label");
      apply();
      document.getElementById("findings").scrollIntoView();
    });
  });
  form.hidden = false;
  apply();
}());
