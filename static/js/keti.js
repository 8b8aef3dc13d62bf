/* Small behaviours of every page, kept out of the HTML for the Content-Security-Policy
 * (no inline scripts or on… handlers). Each works on what the page marks up and does
 * nothing where it is absent; without JavaScript every page still works.
 *
 * - select[data-autosubmit]: submits its form when changed (the language menu; its
 *   <noscript> button does the same without JavaScript).
 * - [data-confirm]: a submit button that asks first (the text of the attribute).
 * - [data-count="argument"] with #argument-count: the live character count of the
 *   argument's boxes (论证字数).
 */
(function () {
  "use strict";

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }

  function setUp() {
    each("select[data-autosubmit]", function (select) {
      select.addEventListener("change", function () {
        if (select.form) { select.form.submit(); }
      });
    });

    each("[data-confirm]", function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });

    var out = document.getElementById("argument-count");
    var boxes = document.querySelectorAll('[data-count="argument"]');
    if (out && boxes.length) {
      var count = function () {
        var n = 0;
        Array.prototype.forEach.call(boxes, function (box) { n += box.value.length; });
        out.textContent = n;
      };
      Array.prototype.forEach.call(boxes, function (box) { box.addEventListener("input", count); });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
