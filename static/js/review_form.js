/* The live weighted total of a review form (评审表加权总分).
 *
 * Each score input carries data-weight; the total is Σ weight × score, shown while
 * every criterion holds a whole number on the scale (data-min … data-max of the
 * total's <output>), else "—". The server computes the same total
 * (reviews.forms_schema.weighted_total) and stores its own: this is a help, not the record.
 */
(function () {
  "use strict";

  function wholeNumber(text) {
    var value = String(text).trim();
    return /^\d+$/.test(value) ? parseInt(value, 10) : null;
  }

  function setUp(form) {
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input[data-weight]"));
    var total = form.querySelector("output[data-total]");
    if (!total || !inputs.length) { return; }
    var low = parseInt(total.getAttribute("data-min"), 10);
    var high = parseInt(total.getAttribute("data-max"), 10);

    function refresh() {
      var sum = 0;
      var complete = true;
      inputs.forEach(function (input) {
        var weight = parseInt(input.getAttribute("data-weight"), 10);
        var score = wholeNumber(input.value);
        var onScale = score !== null && score >= low && score <= high;
        var cell = form.querySelector('output[data-weighted-for="' + input.id + '"]');
        if (cell) { cell.textContent = onScale ? String(weight * score) : "—"; }
        input.setAttribute("aria-invalid", input.value !== "" && !onScale ? "true" : "false");
        if (onScale) { sum += weight * score; } else { complete = false; }
      });
      total.textContent = complete ? sum.toFixed(2) : "—";
    }

    inputs.forEach(function (input) { input.addEventListener("input", refresh); });
    refresh();
  }

  document.querySelectorAll("form[data-review-form]").forEach(setUp);
}());
